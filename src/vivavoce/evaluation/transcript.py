"""The transcript as the evaluation sees it, and whether there is enough of it to judge.

Lines are written ``[<sequence>] Interviewer: …`` / ``[<sequence>] Candidate: …`` in the
model's input. The sequence numbers let the result link each quote back to its turn, and
the fake OpenAI server reads the same format to derive its answers from the transcript.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from vivavoce.evaluation.rubric import SufficiencyPolicy

__all__ = [
    "LINE_PATTERN",
    "Sufficiency",
    "TranscriptLine",
    "assess_sufficiency",
    "format_transcript",
    "parse_transcript",
    "word_count",
]

Speaker = Literal["interviewer", "candidate"]

LINE_PATTERN = re.compile(r"^\[(\d+)\] (Interviewer|Candidate): (.*)$")
_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_NEWLINES = re.compile(r"\s*\n\s*")


@dataclass(frozen=True)
class TranscriptLine:
    """One turn: its sequence number in the interview, who spoke, what was said."""

    sequence: int
    speaker: Speaker
    text: str
    state: str = "complete"
    """``interrupted`` when the candidate cut the interviewer short (as stored)."""
    audio_ms: int | None = None
    """How long the turn's audio was, when known (the offline evaluator's pace)."""
    full_text: str | None = None
    """An interrupted interviewer turn's whole text (``text`` is what was heard)."""


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def format_transcript(lines: Iterable[TranscriptLine]) -> str:
    """One turn per line; newlines inside a turn become spaces so each stays one line."""
    out = []
    for line in lines:
        text = _NEWLINES.sub(" ", line.text.strip())
        if text:
            out.append(f"[{line.sequence}] {line.speaker.capitalize()}: {text}")
    return "\n".join(out)


def parse_transcript(text: str) -> list[TranscriptLine]:
    """The lines of ``text`` written by :func:`format_transcript`; other lines are skipped."""
    found = []
    for raw in text.splitlines():
        match = LINE_PATTERN.match(raw.strip())
        if match:
            speaker: Speaker = "interviewer" if match.group(2) == "Interviewer" else "candidate"
            found.append(TranscriptLine(int(match.group(1)), speaker, match.group(3)))
    return found


@dataclass(frozen=True)
class Sufficiency:
    """Whether the interview can be judged; ``explanation`` is written for the candidate."""

    enough: bool
    answers: int
    candidate_words: int
    explanation: str


def assess_sufficiency(
    lines: Sequence[TranscriptLine], policy: SufficiencyPolicy
) -> Sufficiency:
    """Count real answers (candidate turns of at least ``min_answer_words`` words)."""
    candidate = [line for line in lines if line.speaker == "candidate"]
    words = [word_count(line.text) for line in candidate]
    answers = sum(1 for n in words if n >= policy.min_answer_words)
    total = sum(words)
    enough = answers >= policy.min_answers and total >= policy.min_candidate_words
    if enough:
        explanation = ""
    elif not candidate or total == 0:
        explanation = (
            "We could not give feedback this time: the interview ended before we heard any "
            "answers."
        )
    else:
        # Name exactly the threshold(s) missed, with the counts: "2 answers, need 2" was
        # nonsense when the word total was what fell short.
        missed = []
        if answers < policy.min_answers:
            missed.append(
                f"we heard {answers} answer{'s' if answers != 1 else ''} of at least "
                f"{policy.min_answer_words} words, and feedback needs at least "
                f"{policy.min_answers}"
            )
        if total < policy.min_candidate_words:
            missed.append(
                f"we heard {total} word{'s' if total != 1 else ''} from you in all, and "
                f"feedback needs at least {policy.min_candidate_words}"
            )
        explanation = (
            "Thank you for starting! The interview was too short for fair feedback: "
            + "; and ".join(missed) + "."
        )
    return Sufficiency(enough, answers, total, explanation)
