"""The evaluation is pitched at the level the interviewer was pitched at."""

from __future__ import annotations

from typing import Any

import pytest

from tests.evaluation.helpers import GOOD_TRANSCRIPT
from vivavoce.evaluation.prompt import build_prompt, candidate_level
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.transcript import TranscriptLine
from vivavoce.interview.candidate import CandidateContext
from vivavoce.interview.instructions import FIELD_FOCUS, LEVEL_GUIDANCE, build_instructions

LINES = [TranscriptLine(n, speaker, text) for n, (speaker, text) in enumerate(GOOD_TRANSCRIPT, 1)]


@pytest.mark.parametrize(
    ("given", "level"),
    [
        ({"year": "3rd year"}, "undergraduate_late"),
        ({"year": "Junior"}, "undergraduate_late"),
        ({"year": 2}, "undergraduate_early"),
        ({"year": "Grade 11"}, "high_school"),
        ({"education": "PhD in chemistry, 2nd year"}, "graduate"),
        ({"year": "gap year", "education": "MSc Finance"}, "graduate"),
        ({}, "undergraduate_early"),
    ],
)
def test_level_is_the_one_the_interviewer_used(
    given: dict[str, Any], level: str, rubric: Rubric
) -> None:
    context = CandidateContext.model_validate({"name": "Ada", **given})
    stored = context.model_dump(mode="json")  # what the interviews table holds
    assert candidate_level(stored) == context.bank_level == level
    interviewer = build_instructions(context)
    prompt = build_prompt(rubric, LINES, candidate=stored)
    assert f"Difficulty: {LEVEL_GUIDANCE[context.bank_level]}" in interviewer
    assert rubric.levels[level] in prompt.instructions


def test_a_row_the_context_model_refuses_still_gives_a_level() -> None:
    # Older or hand-edited rows: no name, a number where text is expected.
    assert candidate_level({"year": 4}) == "undergraduate_late"
    assert candidate_level({"name": "", "education": "Masters"}) == "graduate"
    assert candidate_level({"name": 5, "level": True}) == "undergraduate_early"


def test_anchors_follow_the_level(rubric: Rubric) -> None:
    structure = next(d for d in rubric.dimensions if d.key == "structure")
    school_five = structure.anchors_for("high_school")[5]
    assert school_five != structure.anchors_for("graduate")[5]
    school = build_prompt(rubric, LINES, candidate={"name": "Ada", "level": "Grade 10"})
    graduate = build_prompt(rubric, LINES, candidate={"name": "Ada", "level": "PhD"})
    assert f"  5: {school_five}" in school.instructions
    assert f"  5: {school_five}" not in graduate.instructions
    assert "Level: high school." in school.instructions
    assert "Level: graduate." in graduate.instructions


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"major": "Accounting"}, "finance"),
        ({"major": "Mechanical Engineering"}, "engineering"),
        ({"major": "History", "targetRole": "Software developer"}, "computer_science"),
        ({}, "general"),
    ],
)
def test_field_knowledge_is_judged_on_the_interviewers_focus(
    given: dict[str, Any], field: str, rubric: Rubric
) -> None:
    context = CandidateContext.model_validate({"name": "Ada", **given})
    assert context.bank_field == field
    focus = FIELD_FOCUS[context.bank_field]
    assert f"Technical focus: {focus}." in build_instructions(context)
    prompt = build_prompt(rubric, LINES, candidate=context.model_dump(mode="json"))
    assert f"- The interviewer's technical focus: {focus}." in prompt.instructions


def test_an_unreadable_row_has_no_focus_line(rubric: Rubric) -> None:
    prompt = build_prompt(rubric, LINES, candidate={"year": 4})
    assert "technical focus" not in prompt.instructions
    assert "Level: undergraduate late." in prompt.instructions
