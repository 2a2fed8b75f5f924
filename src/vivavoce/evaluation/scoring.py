"""The overall score: computed by our code from the dimension scores, never by the model.

    overall = round(100 * sum(w_i * (s_i - 1) / 4) / sum(w_i))

Each dimension score ``s_i`` (1-5) is mapped onto 0-1 (1 -> 0, 3 -> 0.5, 5 -> 1) and the
weighted mean of those is scaled to 0-100. All fives give 100, all ones give 0, all threes
give 50. Rounding is half-to-even (Python's ``round``).
"""

from __future__ import annotations

from collections.abc import Mapping

from vivavoce.evaluation.rubric import Rubric

__all__ = ["FORMULA", "overall_score"]

FORMULA = "round(100 * sum(weight * (score - 1) / 4) / sum(weight))"


def overall_score(scores: Mapping[str, int], rubric: Rubric) -> int:
    """The 0-100 score of ``scores`` (rubric key -> 1-5) weighted by ``rubric``.

    Raises ValueError when a rubric dimension has no score or a score is outside 1-5.
    """
    total_weight = 0.0
    weighted = 0.0
    for dim in rubric.dimensions:
        if dim.key not in scores:
            raise ValueError(f"no score for dimension {dim.key!r}")
        score = scores[dim.key]
        if not 1 <= score <= 5:
            raise ValueError(f"score {score} for {dim.key!r} is outside 1-5")
        weighted += dim.weight * (score - 1) / 4
        total_weight += dim.weight
    return round(100 * weighted / total_weight)
