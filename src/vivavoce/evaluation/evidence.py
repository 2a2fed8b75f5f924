"""The evidence check: every quote the model cites must be in the transcript.

A quote matches a turn when, after :func:`normalise` (Unicode compatibility forms, case,
typographic quotes and dashes, runs of whitespace), it is a substring of that turn. A
quote with an ellipsis (``…`` or ``...``) matches when its pieces appear in that order in
one turn. Only the candidate's turns count: a quote is shown as the candidate's own words,
so a line of the interviewer's is not evidence. Quotes that match no candidate turn are
invented: they are dropped and counted.

The whole quote is checked, as the model wrote it; only a kept quote is then shortened
for display (``MAX_QUOTE`` characters, after a whole sentence or word, with an ellipsis).
So a true quote is never called invented for its length, words made up after the first
``MAX_QUOTE`` characters are still caught, and what is shown, ellipsis included, still
matches the turn it came from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from vivavoce.evaluation.output import MAX_QUOTE, ParsedEvaluation
from vivavoce.evaluation.transcript import TranscriptLine
from vivavoce.text import shorten

__all__ = [
    "CheckedQuote",
    "EvidenceReport",
    "check_evidence",
    "display_quote",
    "find_quote",
    "normalise",
]

_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-",
    }
)
_SPACE = re.compile(r"\s+")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*")
# What may surround a quote without being part of it.
_EDGES = " \t\n\"'.,;:!?-()[]"


def normalise(text: str) -> str:
    """Fold what transcription and quoting change without changing the words."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY).casefold()
    return _SPACE.sub(" ", text).strip()


def _pieces(quote: str) -> list[str]:
    # NFKC has already turned "…" into "..."; split on both to be safe.
    parts = (p.strip(_EDGES) for p in _ELLIPSIS.split(normalise(quote)))
    return [p for p in parts if p]


def find_quote(quote: str, lines: Sequence[TranscriptLine]) -> int | None:
    """The sequence number of the first turn containing ``quote``, or None."""
    pieces = _pieces(quote)
    if not pieces:
        return None
    for line in lines:
        haystack = normalise(line.text)
        position = 0
        for piece in pieces:
            found = haystack.find(piece, position)
            if found < 0:
                break
            position = found + len(piece)
        else:
            return line.sequence
    return None


@dataclass(frozen=True)
class CheckedQuote:
    text: str  # as shown: at most MAX_QUOTE characters
    turn: int  # the sequence number of the turn it was found in


@dataclass(frozen=True)
class EvidenceReport:
    """The result of the check; ``quotes[i]`` are the kept quotes of question ``i``."""

    quotes: list[list[CheckedQuote]]
    checked: int
    invented: int
    invented_examples: list[str]

    @property
    def kept(self) -> int:
        return self.checked - self.invented

    @property
    def invented_share(self) -> float:
        return self.invented / self.checked if self.checked else 0.0


def check_evidence(
    evaluation: ParsedEvaluation, lines: Sequence[TranscriptLine]
) -> EvidenceReport:
    """Check every quote of every question against the candidate's turns.

    A quote is looked for first in the answer to its own question (the candidate turns
    after the interviewer line the model named, up to the next one), so a phrase said
    twice links to the line it was quoted for. A true quote already shown for an earlier
    question is dropped (not counted as invented): the page shows each quote once."""
    interviewer = sorted(line.sequence for line in lines if line.speaker == "interviewer")
    candidate = [line for line in lines if line.speaker == "candidate"]
    kept: list[list[CheckedQuote]] = []
    shown: set[str] = set()
    checked = invented = 0
    examples: list[str] = []
    for question in evaluation.questions:
        ordered = _answer_first(candidate, interviewer, question.question_turn)
        found: list[CheckedQuote] = []
        for quote in question.quotes:
            if not _pieces(quote):
                continue
            checked += 1
            line = _find_line(quote, ordered)
            if line is None:
                invented += 1
                if len(examples) < 5:
                    examples.append(shorten(quote, 120))
                continue
            key = " ".join(_pieces(quote))
            if key in shown:
                continue
            shown.add(key)
            found.append(CheckedQuote(display_quote(quote, line), line.sequence))
        kept.append(found)
    return EvidenceReport(kept, checked, invented, examples)


def _answer_first(
    candidate: Sequence[TranscriptLine], interviewer: Sequence[int], question_turn: int
) -> list[TranscriptLine]:
    later = [t for t in interviewer if t > question_turn]
    end = later[0] if later else None
    answer = [c for c in candidate if c.sequence > question_turn and (end is None or c.sequence < end)]
    return answer + [c for c in candidate if c not in answer]


def _find_line(quote: str, lines: Sequence[TranscriptLine]) -> TranscriptLine | None:
    turn = find_quote(quote, lines)
    return next((line for line in lines if line.sequence == turn), None) if turn is not None else None


_CLEAN_BEFORE = (".", "!", "?", "…", ":", ";")


def display_quote(quote: str, line: TranscriptLine) -> str:
    """The quote as shown: at most ``MAX_QUOTE`` characters, with an ellipsis where it
    starts or stops in the middle of a sentence of its turn (a model often quotes a
    phrase; shown bare it reads as if the candidate had stopped mid-thought). The
    result still matches its turn (:func:`find_quote` reads an ellipsis as a gap)."""
    text = shorten(quote.strip().strip("\"'“”‘’"), MAX_QUOTE)
    pieces = _pieces(quote)
    haystack = normalise(line.text)
    start = haystack.find(pieces[0])
    end = start
    for piece in pieces:
        end = haystack.find(piece, end) + len(piece)
    before = haystack[:start].rstrip(" \"'")
    after = haystack[end:].lstrip(" \"')")
    if before and not before.endswith(_CLEAN_BEFORE) and not text.startswith(("…", "...")):
        text = "…" + text
    cut = text.endswith(("…", "..."))
    if after and not after.startswith((".", "!", "?", "…")) and not cut:
        text = text.rstrip(" ,;:-–—") + "…"
    return text
