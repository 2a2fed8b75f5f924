"""Field guesses from varied résumés, read from real PDF and DOCX files made here."""

from __future__ import annotations

from datetime import date

import pytest

from tests.api import resume_files as files
from vivavoce.resume import guess_fields, read_resume
from vivavoce.resume.fields import LEVEL_OPTIONS

TODAY = date(2026, 12, 3)  # the dates in the résumés are judged against this day

CASES = [
    pytest.param(
        files.pdf_resume(files.NEW_GRAD_PDF),
        {"name": "Alex Chen", "major": "Computer Science", "field": "computer_science",
         "level_label": "Final-year student", "level": "undergraduate_late"},
        ("Software Engineering Intern", "React and Go"),
        ("B.S. Computer Science", "Expected May 2027"),
        id="pdf-bs-without-in-graduating-soon",
    ),
    pytest.param(
        files.docx_resume(files.SENIOR_FINANCE),
        {"name": "Maria Garcia", "major": "Finance", "field": "finance",
         "level_label": "Senior (6+ years)", "level": "graduate"},
        ("Financial Analyst, Northbank", "Junior Analyst, Small Fund"),
        ("Bachelor of Science in Finance",),
        id="docx-headings-twelve-years-of-work",
    ),
    pytest.param(
        files.pdf_resume(files.PSYCHOLOGY_MASTERS),
        {"name": "Sam Okafor", "major": "Psychology", "field": "psychology",
         "level_label": "Graduate", "level": "graduate"},
        ("Research assistant, Sleep Lab",),
        ("MSc Psychology",),
        id="pdf-inline-heading-masters-student",
    ),
    pytest.param(
        files.docx_table_resume("Lena Fischer", files.ENGINEER_TABLE_ROWS),
        {"name": "Lena Fischer", "major": "Mechanical Engineering", "field": "engineering",
         "level_label": "Junior (0–2 years)", "level": "graduate"},
        ("Design Engineer, Turbine Works",),
        ("B.Eng. Mechanical Engineering",),
        id="docx-table-two-years-of-work",
    ),
    pytest.param(
        files.text_pdf(),
        {"name": "Grace Hopper", "major": "Computer Science", "field": "computer_science",
         "level_label": "Third-year student", "level": "undergraduate_late"},
        ("grading tool used by 300 students",),
        ("B.Sc. in Computer Science",),
        id="pdf-third-year-student",
    ),
]


@pytest.mark.parametrize(("data", "expected", "in_experience", "in_education"), CASES)
def test_fields_from_varied_resumes(
    data: bytes, expected: dict[str, str], in_experience: tuple[str, ...],
    in_education: tuple[str, ...],
) -> None:
    fields = guess_fields(read_resume(data).text, today=TODAY)
    assert {k: getattr(fields, k) for k in expected} == expected
    # The level is shown in the start form's own words, never as a bank code.
    assert fields.level_label in LEVEL_OPTIONS
    assert fields.experience and all(part in fields.experience for part in in_experience)
    assert fields.education and all(part in fields.education for part in in_education)
    # Each box gets its own section, not the whole résumé.
    assert "Education" not in fields.experience and "Experience" not in fields.education


def test_the_level_follows_the_dates() -> None:
    text = "Education\nBSc Economics, Example University, Expected June {year}"
    assert guess_fields(text.format(year=2027), today=TODAY).level_label == "Final-year student"
    assert guess_fields(text.format(year=2029), today=TODAY).level_label == "Second-year student"
    assert guess_fields(text.format(year=2030), today=TODAY).level_label == "First-year student"
    finished = "Education\nBA Economics, Example University, 2019 – 2022"
    assert guess_fields(finished, today=TODAY).level_label == "Graduate"
    worked = finished + "\nExperience\nAnalyst, Bank, Jan 2025 – Present"
    assert guess_fields(worked, today=TODAY).level_label == "Junior (0–2 years)"
    worked = finished + "\nExperience\nAnalyst, Bank, Jan 2022 – Present\nIntern, Fund, 2022 – 2022"
    assert guess_fields(worked, today=TODAY).level_label == "Mid-level (3–5 years)"
    # Overlapping jobs count once: 2021 to today is six years, not eight.
    worked += "\nTutor, Night School, 2021 – 2023"
    assert guess_fields(worked, today=TODAY).level_label == "Senior (6+ years)"


def test_words_that_look_like_degrees_are_not_subjects() -> None:
    fields = guess_fields("Jo Bloggs\nSkills: MS Word, MS Office\nBoston, MA 02115", today=TODAY)
    assert fields.major is None and fields.level_label is None


def test_a_headline_names_the_field_of_work_without_a_degree() -> None:
    fields = guess_fields("Kim Lee\nSenior Software Engineer\nExperience\nEngineer, Co, 2015 – Present",
                          today=TODAY)
    assert (fields.major, fields.field, fields.level_label) == (
        "Computer Science", "computer_science", "Senior (6+ years)")
