"""The rubric file: the shipped one is valid; mistakes are reported with their line."""

from __future__ import annotations

from pathlib import Path

import pytest

from vivavoce.evaluation.rubric import RubricError, load_rubric, parse_rubric

MINIMAL = """\
name: tiny
dimensions:
  - key: clarity
    name: Clarity
    weight: 2
    anchors: {1: a, 2: b, 3: c, 4: d, 5: e}
    level_anchors:
      graduate: {5: graduate five}
"""


def test_shipped_rubric_has_the_issue_dimensions() -> None:
    rubric = load_rubric()
    keys = [d.key for d in rubric.dimensions]
    assert keys == ["communication", "structure", "evidence", "field_knowledge", "motivation"]
    assert set(rubric.levels) == {
        "high_school", "undergraduate_early", "undergraduate_late", "graduate"
    }
    assert "gpt-5-mini" in rubric.prices.models


def test_level_anchors_replace_the_general_ones_for_that_level_only() -> None:
    dim = parse_rubric(MINIMAL).dimension("clarity")
    assert dim.anchors_for("graduate")[5] == "graduate five"
    assert dim.anchors_for("graduate")[1] == "a"
    assert dim.anchors_for("high_school")[5] == "e"
    assert dim.anchors_for(None)[5] == "e"


def test_rubric_file_setting_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rubric.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_rubric(path).name == "tiny"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL.replace("weight: 2", "weight: -1"), "my-rubric.yaml line 5: dimensions.0.weight: "),
        (MINIMAL.replace("4: d, ", ""), "my-rubric.yaml line 6: dimensions.0.anchors: "),
        (MINIMAL.replace("key: clarity", "key: Not A Key"), "my-rubric.yaml line 3: dimensions.0.key: "),
        (MINIMAL + "  - key: clarity\n    name: Again\n    anchors: {1: a, 2: b, 3: c, 4: d, 5: e}\n",
         "used twice"),
        (MINIMAL.replace("graduate:", "postdoc:"), "dimensions.0.level_anchors.postdoc"),
        ("name: [unclosed\n", "my-rubric.yaml line 2: not valid YAML"),
        ("- just a list\n", "my-rubric.yaml line 1: expected a mapping"),
        (MINIMAL + "surprise: 1\n", "my-rubric.yaml line 9: surprise: "),
    ],
)
def test_mistakes_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(RubricError) as caught:
        parse_rubric(text, source="my-rubric.yaml")
    assert str(caught.value).startswith("my-rubric.yaml")
    assert expected in str(caught.value)


def test_unreadable_file_is_a_rubric_error(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="cannot read the rubric file"):
        load_rubric(tmp_path / "missing.yaml")
