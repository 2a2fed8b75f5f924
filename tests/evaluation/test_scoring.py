"""The overall score is our formula over the dimension scores."""

from __future__ import annotations

import pytest

from vivavoce.evaluation.rubric import Rubric, parse_rubric
from vivavoce.evaluation.scoring import overall_score

RUBRIC = parse_rubric(
    """\
name: weighted
dimensions:
  - {key: a, name: A, weight: 3, anchors: {1: x, 2: x, 3: x, 4: x, 5: x}}
  - {key: b, name: B, weight: 1, anchors: {1: x, 2: x, 3: x, 4: x, 5: x}}
"""
)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (5, 5, 100),
        (1, 1, 0),
        (3, 3, 50),
        (5, 1, 75),  # weight 3 of 4 at the top
        (1, 5, 25),
        (4, 2, 62),  # 100 * (3*0.75 + 1*0.25) / 4 = 62.5 -> 62 (half to even)
    ],
)
def test_weighted_formula(a: int, b: int, expected: int) -> None:
    assert overall_score({"a": a, "b": b}, RUBRIC) == expected


def test_shipped_rubric_extremes(rubric: Rubric) -> None:
    keys = [d.key for d in rubric.dimensions]
    assert overall_score(dict.fromkeys(keys, 5), rubric) == 100
    assert overall_score(dict.fromkeys(keys, 1), rubric) == 0


def test_missing_or_out_of_range_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="no score for dimension 'b'"):
        overall_score({"a": 3}, RUBRIC)
    with pytest.raises(ValueError, match="outside 1-5"):
        overall_score({"a": 3, "b": 6}, RUBRIC)
