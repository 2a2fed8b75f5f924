"""From signals to numbers: per-answer measures (0-1), per-dimension scores (1-5) and the
share of answers that show a dimension's evidence (for the cap, ``cap.py``).

Every formula is in docs/evaluation.md ("The offline evaluation"); keep them in step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from vivavoce.evaluation.offline.signals import Answer, AnswerSignals

__all__ = [
    "CAPPED_DIMENSIONS",
    "DimensionJudgement",
    "clarity",
    "evidence_share",
    "judge_dimension",
    "length_measure",
    "quality",
    "specificity",
    "structure",
    "to_score",
]

# The dimensions whose signals are direct evidence, so their absence can cap a model's
# high score (English interviews only).
CAPPED_DIMENSIONS = ("structure", "evidence")

# An answer's topicality when its question had no key terms ("Tell me about yourself").
_NEUTRAL_TOPICAL = 0.7


def to_score(x: float) -> int:
    """0-1 onto 1-5, rounding halves up (0.5 -> 3)."""
    return max(1, min(5, 1 + math.floor(4 * max(0.0, min(1.0, x)) + 0.5)))


def length_measure(s: AnswerSignals) -> float:
    """50 words is a full answer; past 250 it starts to ramble."""
    if s.words > 250:
        return 0.8
    return min(s.words / 50, 1.0)


def specificity(s: AnswerSignals) -> float:
    if not s.english:
        return min(s.specifics / 3, 1.0)
    concrete = len(s.concrete_nouns or ())
    outcomes = len(s.outcomes or ())
    return min((s.specifics + 0.5 * concrete + 0.5 * outcomes) / 5, 1.0)


def structure(s: AnswerSignals) -> float:
    if s.english:
        return len(s.star or ()) / 4
    # Without English STAR markers: several sentences of a real length.
    return min(s.sentences / 3, 1.0) * length_measure(s)


def clarity(s: AnswerSignals) -> float | None:
    """1 - hedges and fillers per 100 words / 10 (English only)."""
    rate = s.hedge_rate
    return None if rate is None else 1.0 - min(rate / 10, 1.0)


def topical(s: AnswerSignals) -> float:
    value = s.topical
    return _NEUTRAL_TOPICAL if value is None else value


def quality(s: AnswerSignals) -> float:
    """One 0-1 number per answer, to rank answers (the fixtures' "careful reader" test)
    and for dimensions without signals of their own."""
    if s.english:
        own = s.ownership if s.ownership is not None else 0.5
        core = (0.35 * specificity(s) + 0.25 * structure(s) + 0.2 * (clarity(s) or 0.0)
                + 0.1 * own + 0.1 * min(len(s.outcomes or ()) / 2, 1.0))
    else:
        core = 0.6 * specificity(s) + 0.4 * structure(s)
    # Off the question's topic, little else counts.
    return length_measure(s) * (0.15 + 0.85 * topical(s)) * core


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


@dataclass(frozen=True)
class DimensionJudgement:
    """A dimension's 0-1 measure, its 1-5 score and which signals it rests on."""

    key: str
    measure: float
    score: int
    basis: str
    """"english", "neutral" (a non-English interview: language-neutral signals only) or
    "general" (no signal of its own: the answers' overall quality)."""


def judge_dimension(key: str, answers: Sequence[Answer]) -> DimensionJudgement:
    signals = [a.signals for a in answers]
    english = bool(signals) and signals[0].english
    basis = "english" if english else "neutral"
    if key == "communication":
        if english:
            x = _mean([0.5 * length_measure(s) + 0.5 * (clarity(s) or 0.0) for s in signals])
            paces = [s.words_per_minute for s in signals if s.words_per_minute is not None]
            if paces and not 100 <= _mean(paces) <= 185:
                x -= 0.1  # too slow or too fast to follow easily
        else:
            x = _mean([length_measure(s) for s in signals])
    elif key == "structure":
        x = _mean([structure(s) for s in signals])
    elif key == "evidence":
        x = _mean([specificity(s) for s in signals])
    elif key == "field_knowledge":
        x = _mean([0.5 * min(len(s.named_terms) / 2, 1.0) + 0.5 * topical(s) for s in signals])
    elif key == "motivation" and english:
        markers = sum(len(s.motivation or ()) for s in signals)
        x = 0.5 * min(markers / 3, 1.0) + 0.5 * _mean([topical(s) for s in signals])
    elif key == "motivation":
        x = _mean([topical(s) for s in signals])
    else:
        x, basis = _mean([quality(s) for s in signals]) / 0.8, "general"
    x = max(0.0, min(1.0, x))
    return DimensionJudgement(key, x, to_score(x), basis)


def evidence_share(key: str, answers: Sequence[Answer]) -> float | None:
    """Share of answers showing the dimension's evidence: structure = two or more STAR
    parts; evidence = a number or a named term. None for other dimensions (no cap)."""
    if not answers:
        return None
    if key == "structure":
        hits = sum(1 for a in answers if len(a.signals.star or ()) >= 2)
    elif key == "evidence":
        hits = sum(1 for a in answers if a.signals.specifics > 0)
    else:
        return None
    return hits / len(answers)
