"""Picking the candidate's own sentences as evidence for the offline feedback.

Each quote is one whole sentence of one candidate turn (shortened with
:func:`vivavoce.text.shorten`, which keeps its start word for word and adds an
ellipsis), so it passes the evidence check (``evaluation/evidence.py``) and links to its
own transcript line. A picker hands out each sentence once: no quote repeats on a page.
When every sentence that shows a point's signal is already quoted elsewhere (a short
interview has few sentences), the point still cites it, as a :class:`QuoteRef`: stored
with ``"ref": true`` and shown on the page as a link to the line, not as the words again.

A practice-plan step or a dimension with nothing of its own to show is anchored in an
answer all the same (:class:`Anchor`, :meth:`QuotePicker.cite`): whenever the interview
has answers, every piece of the feedback cites the candidate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vivavoce.evaluation.evidence import CheckedQuote, find_quote, normalise
from vivavoce.evaluation.offline import lexicon as lx
from vivavoce.evaluation.offline.signals import Answer, named_terms, numbers, sentences
from vivavoce.text import shorten

__all__ = ["QUOTE_CHARS", "Anchor", "QuotePicker", "QuoteRef", "Sentence", "sentence_words"]

QUOTE_CHARS = 180


@dataclass(frozen=True)
class Sentence:
    answer: int  # index of the answer
    turn: int  # the candidate turn's sequence number
    text: str
    english: bool
    position: int = 0  # its place in the answer: 0 is the answer's first sentence

    @property
    def words(self) -> list[str]:
        return sentence_words(self.text)

    def specifics(self) -> int:
        return (len(numbers(self.text, english=self.english))
                + len(named_terms(self.text, english=self.english)))

    def count(self, phrases: Sequence[str]) -> int:
        padded = " " + " ".join(self.words) + " "
        return sum(padded.count(" " + p + " ") for p in phrases)

    def contains(self, parts: Sequence[str]) -> int:
        """How many of ``parts`` occur in it, as the signals look for them (inside the
        words, so "motivat" finds "motivated")."""
        padded = " " + " ".join(self.words) + " "
        return sum(1 for p in parts if p in padded)

    def count_words(self, words: frozenset[str]) -> int:
        return sum(1 for w in self.words if w in words)

    def has_action(self) -> bool:
        words = self.words
        return any(w == "i" and any(v in lx.STAR_ACTION_VERBS for v in words[i + 1 : i + 3])
                   for i, w in enumerate(words))


@dataclass(frozen=True)
class QuoteRef(CheckedQuote):
    """A sentence already quoted elsewhere on the page, cited again by reference."""


@dataclass(frozen=True)
class Anchor:
    """Where a piece of feedback finds the words it cites: the best sentence by ``score``
    among ``answers`` (indexes; None: any answer)."""

    score: Callable[[Sentence], float]
    answers: tuple[int, ...] | None = None


_WORD = re.compile(r"\w+(?:['’]\w+)*")


def sentence_words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


class QuotePicker:
    """Hands out the best not-yet-used sentence for a purpose."""

    def __init__(self, answers: Sequence[Answer]) -> None:
        self._sentences = [
            Sentence(i, turn, text, answer.signals.english, position)
            for i, answer in enumerate(answers)
            for position, (turn, text) in enumerate(
                (line.sequence, text) for line in answer.lines for text in sentences(line.text))
        ]
        self._lines = [line for answer in answers for line in answer.lines]
        self._used: set[str] = set()
        self._keys: dict[CheckedQuote, str] = {}  # a quote handed out -> its sentence

    def pick(
        self,
        score: Callable[[Sentence], float],
        *,
        answers: Sequence[int] | None = None,
        minimum: float = 0.0,
        refer: bool = True,
    ) -> CheckedQuote | None:
        """The unused sentence scoring highest (above ``minimum``), earliest on a tie;
        with ``refer``, when none is left, the best one already quoted, as a
        :class:`QuoteRef`."""
        best: tuple[float, Sentence] | None = None
        best_used: tuple[float, Sentence] | None = None
        for sentence in self._sentences:
            if answers is not None and sentence.answer not in answers:
                continue
            value = score(sentence)
            if value <= minimum:
                continue
            if normalise(sentence.text) in self._used:
                if best_used is None or value > best_used[0]:
                    best_used = (value, sentence)
            elif best is None or value > best[0]:
                best = (value, sentence)
        if best is None:
            return self._quote(best_used[1], QuoteRef) if refer and best_used else None
        self._used.add(normalise(best[1].text))
        quote = self._quote(best[1], CheckedQuote)
        self._keys[quote] = normalise(best[1].text)
        return quote

    def release(self, quotes: Sequence[CheckedQuote]) -> None:
        """Hand these quotes' sentences out again (their point was dropped)."""
        for quote in quotes:
            if not isinstance(quote, QuoteRef) and quote in self._keys:
                self._used.discard(self._keys.pop(quote))

    def cite(self, anchor: Anchor) -> CheckedQuote | None:
        """Always a sentence when there is one: the anchor's best (a :class:`QuoteRef` if
        it is already quoted), else the first of its answers, else the first at all."""
        for score, answers in ((anchor.score, anchor.answers), (_any, anchor.answers),
                               (anchor.score, None), (_any, None)):
            quote = self.pick(score, answers=answers)
            if quote is not None:
                return quote
        return None

    def _quote(self, chosen: Sentence, kind: type[CheckedQuote]) -> CheckedQuote:
        text = shorten(chosen.text, QUOTE_CHARS)
        # Shortening keeps the sentence's start, so the quote is found where it came from.
        turn = find_quote(text, [line for line in self._lines if line.sequence == chosen.turn])
        return kind(text, turn if turn is not None else chosen.turn)


def _any(x: Sentence) -> float:
    return 1.0
