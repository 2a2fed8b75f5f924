"""The output schema the model must follow, and checking what comes back."""

from __future__ import annotations

import json
import re

import pytest
from openai.lib._parsing._responses import type_to_text_format_param

from vivavoce.evaluation.output import (
    MAX_QUOTE,
    MAX_TEXT,
    MalformedOutput,
    build_output_model,
    parse_output,
)
from vivavoce.evaluation.rubric import Rubric, parse_rubric
from vivavoce.testing.fake_responses import _strict_problem, generate_output


def _valid(keys: list[str]) -> dict[str, object]:
    return {
        "summary": "Good.",
        "dimensions": {k: {"score": 4, "justification": "Because."} for k in keys},
        "questions": [
            {"question": "Q", "question_turn": 1, "answer_summary": "A", "strong": "S",
             "improve": "I", "quotes": ["x"]}
        ],
        "strengths": ["a", "b", "c"],
        "improvements": ["d", "e", "f"],
        "practice_plan": ["g", "h", "i"],
    }


def test_schema_is_strict_and_has_one_property_per_dimension(rubric: Rubric) -> None:
    fmt = type_to_text_format_param(build_output_model(rubric))
    assert fmt["strict"] is True
    schema = fmt["schema"]
    assert _strict_problem(schema) is None
    dims = schema["$defs"]["DimensionScores"]
    assert list(dims["properties"]) == [d.key for d in rubric.dimensions]
    assert sorted(dims["required"]) == sorted(d.key for d in rubric.dimensions)
    # The overall score is never the model's to give.
    assert not [key for key in schema["properties"] if "overall" in key or "total" in key]


def test_keys_that_shadow_pydantic_attributes_still_work() -> None:
    rubric = parse_rubric(
        "name: odd\ndimensions:\n"
        "  - {key: json, name: J, anchors: {1: a, 2: b, 3: c, 4: d, 5: e}}\n"
        "  - {key: model_config, name: M, anchors: {1: a, 2: b, 3: c, 4: d, 5: e}}\n"
    )
    model = build_output_model(rubric)
    parsed = parse_output(json.dumps(_valid(["json", "model_config"])), model)
    assert set(parsed.dimensions) == {"json", "model_config"}


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["dimensions"].pop("motivation"), "dimensions.motivation"),
        (lambda d: d["dimensions"]["evidence"].update(score=7), "dimensions.evidence.score"),
        (lambda d: d["strengths"].pop(), "strengths"),
        (lambda d: d.update(extra=1), "extra"),
    ],
)
def test_wrong_shapes_are_malformed(rubric: Rubric, mutate: object, where: str) -> None:
    data = _valid([d.key for d in rubric.dimensions])
    mutate(data)  # type: ignore[operator]
    with pytest.raises(MalformedOutput, match=f"first at {where}"):
        parse_output(json.dumps(data), build_output_model(rubric))


def test_not_json_is_malformed(rubric: Rubric) -> None:
    with pytest.raises(MalformedOutput):
        parse_output('{"summary": "cut off', build_output_model(rubric))


LONG_TEXT = " ".join(f"Point {i} matters, and so does everything after it;" for i in range(200))


def _cut_between_words(original: str, short: str, limit: int) -> None:
    assert len(short) <= limit and short.endswith("…")
    kept = short.removesuffix("…").rstrip()
    assert original.startswith(kept) and len(kept) > limit // 2
    assert re.match(r"[,;:]*\s", original[len(kept):])


def test_long_texts_are_shortened_between_words(rubric: Rubric) -> None:
    data = _valid([d.key for d in rubric.dimensions])
    data["summary"] = LONG_TEXT
    data["strengths"][0] = "  " + LONG_TEXT  # type: ignore[index]
    data["dimensions"]["evidence"]["justification"] = LONG_TEXT  # type: ignore[index]
    data["questions"][0]["improve"] = LONG_TEXT  # type: ignore[index]
    data["practice_plan"][2] = "Practise.\nThen practise again."  # type: ignore[index]
    parsed = parse_output(json.dumps(data), build_output_model(rubric))
    for text in (parsed.summary, parsed.strengths[0], parsed.questions[0].improve,
                 parsed.dimensions["evidence"].justification):
        _cut_between_words(LONG_TEXT, text, MAX_TEXT)
    # What fits is only stripped: its line break stays.
    assert parsed.practice_plan[2] == "Practise.\nThen practise again."


def test_quotes_are_kept_whole_for_the_evidence_check(rubric: Rubric) -> None:
    # The check must judge every word the model quoted (evidence.py shortens what it keeps).
    data = _valid([d.key for d in rubric.dimensions])
    data["questions"][0]["quotes"] = [" " + LONG_TEXT + " "]  # type: ignore[index]
    parsed = parse_output(json.dumps(data), build_output_model(rubric))
    assert len(LONG_TEXT) > MAX_QUOTE and parsed.questions[0].quotes == [LONG_TEXT]


def test_fake_output_follows_the_schema(rubric: Rubric) -> None:
    schema = type_to_text_format_param(build_output_model(rubric))["schema"]
    transcript = (
        "[1] Interviewer: Why physics?\n[2] Candidate: I love measuring things precisely. "
        "My lab built a 3D printed spectrometer.\n[3] Interviewer: Anything else?"
    )
    value = generate_output(schema, transcript)
    parsed = parse_output(json.dumps(value), build_output_model(rubric))
    assert [q.question_turn for q in parsed.questions] == [1]
    assert parsed.questions[0].quotes == [
        "I love measuring things precisely.", "My lab built a 3D printed spectrometer."
    ]


def test_no_question_feedback_is_malformed(rubric: Rubric) -> None:
    # Only interviews with real answers reach the model, so feedback per question is
    # always owed; the schema says so (minItems) and the check enforces it.
    schema = type_to_text_format_param(build_output_model(rubric))["schema"]
    assert schema["properties"]["questions"]["minItems"] == 1
    data = _valid([d.key for d in rubric.dimensions])
    data["questions"] = []
    with pytest.raises(MalformedOutput, match="first at questions"):
        parse_output(json.dumps(data), build_output_model(rubric))


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["strengths"].__setitem__(1, "  "), "strengths.1"),
        (lambda d: d["improvements"].__setitem__(2, ""), "improvements.2"),
        (lambda d: d["practice_plan"].__setitem__(0, "\n"), "practice_plan.0"),
        (lambda d: d["dimensions"]["evidence"].update(justification=""),
         "dimensions.evidence.justification"),
        (lambda d: d["questions"][0].update(improve=" "), "questions.0.improve"),
        (lambda d: d.update(summary=""), "summary"),
    ],
)
def test_empty_feedback_is_malformed(rubric: Rubric, mutate: object, where: str) -> None:
    data = _valid([d.key for d in rubric.dimensions])
    mutate(data)  # type: ignore[operator]
    with pytest.raises(MalformedOutput, match=f"empty, first at {where}$"):
        parse_output(json.dumps(data), build_output_model(rubric))


def test_empty_quotes_are_left_to_the_evidence_check(rubric: Rubric) -> None:
    data = _valid([d.key for d in rubric.dimensions])
    data["questions"][0]["quotes"] = [""]  # type: ignore[index]
    parsed = parse_output(json.dumps(data), build_output_model(rubric))
    assert parsed.questions[0].quotes == [""]


def test_every_question_must_cite_evidence(rubric: Rubric) -> None:
    schema = type_to_text_format_param(build_output_model(rubric))["schema"]
    item = schema["properties"]["questions"]["items"]
    item = schema["$defs"][item["$ref"].rsplit("/", 1)[-1]] if "$ref" in item else item
    assert (item["properties"]["quotes"]["minItems"], item["properties"]["quotes"]["maxItems"]) == (1, 3)
    data = _valid([d.key for d in rubric.dimensions])
    data["questions"][0]["quotes"] = []  # type: ignore[index]
    with pytest.raises(MalformedOutput, match="first at questions.0.quotes"):
        parse_output(json.dumps(data), build_output_model(rubric))


def test_the_fake_never_quotes_what_was_not_said(rubric: Rubric) -> None:
    # No answer at all: the schema still demands a quote, and the fake's filler is not
    # the candidate's words (the evidence check counts it as invented).
    schema = type_to_text_format_param(build_output_model(rubric))["schema"]
    value = generate_output(schema, "[1] Interviewer: Hello, tell me about yourself.")
    parsed = parse_output(json.dumps(value), build_output_model(rubric))
    assert [len(q.quotes) for q in parsed.questions] == [1]
    assert "no answer" in parsed.questions[0].quotes[0]
