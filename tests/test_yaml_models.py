"""vivavoce.yaml_models: one way to read an operator's YAML, mistakes named by line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from vivavoce.yaml_models import (
    YamlFileError,
    YamlProblem,
    load_yaml_model,
    parse_yaml,
    read_yaml_text,
)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    size: int = Field(ge=0)


class Shelf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    items: list[Item] = Field(min_length=1)
    labels: dict[str, Item] = Field(default_factory=dict)


GOOD = """\
title: kitchen
items:
  - name: cup
    size: 2
  - name: plate
    size: 3
labels:
  top:
    name: jar
    size: 1
"""


class SpecialError(YamlFileError):
    pass


def test_a_valid_file_is_the_model() -> None:
    shelf = load_yaml_model(Shelf, GOOD, source="shelf.yaml")
    assert [i.name for i in shelf.items] == ["cup", "plate"] and shelf.labels["top"].size == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The line of the value at fault, in a list and in a mapping…
        (GOOD.replace("size: 3", "size: -3"), "shelf.yaml line 6: items.1.size: Input should be greater than or equal to 0"),
        (GOOD.replace("name: jar", "name: ''"), "shelf.yaml line 9: labels.top.name: String should have at least 1 character"),
        # …of an unknown key's value…
        (GOOD + "colour: red\n", "shelf.yaml line 11: colour: Extra inputs are not permitted"),
        # …or of the nearest parent when the value is missing.
        (GOOD.replace("    size: 2\n", ""), "shelf.yaml line 3: items.0.size: Field required"),
        # The shape of the whole document, in a YAML author's words.
        ("- a\n- b\n", "shelf.yaml line 1: expected a mapping"),
        ("title: x\nitems: 3\n", "shelf.yaml line 2: items: expected a list"),
        # JSON is YAML, with lines.
        ('{"title": "x",\n "items": [{"name": "a", "size": "big"}]}',
         "shelf.yaml line 2: items.0.size: Input should be a valid integer"),
        # Syntax errors name their line.
        ("title: [x\n", "shelf.yaml line 2: not valid YAML ("),
    ],
)
def test_mistakes_name_the_file_the_line_and_the_field(text: str, expected: str) -> None:
    with pytest.raises(YamlFileError) as caught:
        load_yaml_model(Shelf, text, source="shelf.yaml")
    assert expected in str(caught.value)


def test_every_mistake_is_listed_and_the_error_type_is_the_callers() -> None:
    text = GOOD.replace("size: 2", "size: x").replace("name: plate", "name: ''")
    with pytest.raises(SpecialError) as caught:
        load_yaml_model(Shelf, text, source="s", error=SpecialError)
    assert [(p.line, p.field) for p in caught.value.problems] == [(4, "items.0.size"), (5, "items.1.name")]
    assert str(caught.value).count("; ") == 1


def test_a_part_validated_alone_is_named_from_there() -> None:
    doc = parse_yaml(GOOD.replace("size: 3", "size: -1"), source="s")
    assert doc.validate(Item, at=("items", 0)).name == "cup"
    with pytest.raises(YamlFileError) as caught:
        doc.validate(Item, at=("items", 1), label="item 2")
    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (6, "size")
    doc = parse_yaml("items:\n  - 7\n", source="s")
    with pytest.raises(YamlFileError) as caught:
        doc.validate(Item, at=("items", 0), label="item 1")
    assert str(caught.value) == "s line 2: item 1: expected a mapping"


def test_problems_read_alone() -> None:
    assert str(YamlProblem("f.yaml", 3, "a.b", "bad")) == "f.yaml line 3: a.b: bad"
    assert str(YamlProblem("f.yaml", None, "", "cannot read")) == "f.yaml: cannot read"


def test_an_unreadable_file_is_the_callers_error(tmp_path: Path) -> None:
    with pytest.raises(SpecialError, match="cannot read the shelf file"):
        read_yaml_text(tmp_path / "missing.yaml", what="shelf file", error=SpecialError)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"title: caf\xe9\n")
    with pytest.raises(YamlFileError, match="cannot read the shelf file"):
        read_yaml_text(latin, what="shelf file")
