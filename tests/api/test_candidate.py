"""Candidate context and interview settings: the original client's names, cleaning, limits."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from vivavoce.config import Settings
from vivavoce.interview.candidate import (
    RESUME_MAX,
    CandidateContext,
    InterviewSettings,
    bank_field,
    bank_level,
    clean_text,
)


def test_original_client_names_are_accepted_and_normalised() -> None:
    ctx = CandidateContext.model_validate(
        {
            "name": "  Ada\u0007 Lovelace ",
            "major": "Computer Science",
            "year": 3,
            "skills": "Python, SQL;  python ,Rust",
            "resumeText": "Line one\r\n\r\n\r\n\r\nLine two\x00",
            "targetRole": "Backend intern",
            "unknownExtra": "ignored",
        }
    )
    assert ctx.name == "Ada Lovelace"
    assert ctx.field == "Computer Science" and ctx.level == "3"
    assert ctx.skills == ["Python", "SQL", "Rust"]  # split, cleaned, de-duplicated
    assert ctx.resume_text == "Line one\n\nLine two"
    assert ctx.target_role == "Backend intern"
    assert ctx.bank_field == "computer_science" and ctx.bank_level == "undergraduate_late"
    dumped = ctx.model_dump()
    assert "major" not in dumped and dumped["field"] == "Computer Science"


def test_normalised_names_work_too() -> None:
    ctx = CandidateContext(name="Bo", field="Finance", level="PhD", resume_text="cv")
    assert ctx.bank_field == "finance" and ctx.bank_level == "graduate"


@pytest.mark.parametrize(
    "data",
    [
        {},  # name is required
        {"name": "   \x01 "},  # nothing left after cleaning
        {"name": "x" * 121},
        {"name": "A", "resume_text": "x" * (RESUME_MAX + 1)},
        {"name": "A", "skills": ["x" * 61]},
        {"name": "A", "skills": [f"s{i}" for i in range(51)]},
        {"name": "A", "skills": 5},
        {"name": ["not", "text"]},
    ],
)
def test_invalid_context_is_rejected(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CandidateContext.model_validate(data)


def test_clean_text_removes_bidi_overrides_and_tidies() -> None:
    assert clean_text("a\u202eb\tc  d\n\n\n\ne") == "ab c d\n\ne"
    assert clean_text("one\ntwo", multiline=False) == "one two"


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("3rd year", "undergraduate_late"),
        ("Junior", "undergraduate_late"),
        ("senior", "undergraduate_late"),
        ("Sophomore", "undergraduate_early"),
        ("1st yr", "undergraduate_early"),
        ("2", "undergraduate_early"),
        ("year 4", "undergraduate_late"),
        ("Grade 11", "high_school"),
        ("Year 12", "high_school"),
        ("high school senior", "high_school"),
        ("Master's", "graduate"),
        ("PhD candidate", "graduate"),
        ("Graduate", "graduate"),
        ("Undergraduate", "undergraduate_early"),
        # The start form's levels for people at work (and what the résumé prefill
        # writes): not third- and fourth-year students.
        ("Junior (0–2 years)", "graduate"),
        ("Mid-level (3–5 years)", "graduate"),
        ("Senior (6+ years)", "graduate"),
        ("5 years of experience", "graduate"),
        ("", None),
        ("whenever", None),
    ],
)
def test_bank_level(text: str, level: str | None) -> None:
    assert bank_level(text) == level


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("Computer Science", "computer_science"),
        ("CS", "computer_science"),
        ("Software Engineering", "computer_science"),
        ("Mechanical Engineering", "engineering"),
        ("Accounting & Finance", "finance"),
        ("Economics", "finance"),
        ("Psych", "psychology"),
        ("Business Administration", "business"),
        ("Art History", "general"),
        ("", "general"),
    ],
)
def test_bank_field(text: str, field: str) -> None:
    assert bank_field(text) == field


def _from(settings: Settings, **overrides: Any) -> InterviewSettings:
    # What the web layer passes: the service's defaults as values.
    return InterviewSettings.with_defaults(
        model=settings.realtime_model, voice=settings.voice,
        max_duration_s=settings.max_interview_seconds, overrides=overrides)


def test_interview_settings_from_settings(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(VIVAVOCE_VOICE="cedar", VIVAVOCE_MAX_INTERVIEW_SECONDS="1200")
    s = _from(settings, difficulty="hard", language=None)
    assert (s.model, s.voice, s.language, s.difficulty, s.max_duration_s) == (
        "gpt-realtime", "cedar", "en", "hard", 1200
    )
    with pytest.raises(ValidationError):
        _from(settings, max_duration_s=10)
    with pytest.raises(ValidationError):
        _from(settings, voice="Not A Voice!")
    with pytest.raises(ValidationError):
        _from(settings, surprise=1)


def test_operator_values_with_stray_spaces_or_capitals_are_tidied(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(VIVAVOCE_VOICE=" Marin ", VIVAVOCE_REALTIME_MODEL="gpt-realtime ")
    s = _from(settings, language=" de-CH ")
    assert (s.model, s.voice, s.language) == ("gpt-realtime", "marin", "de-CH")
