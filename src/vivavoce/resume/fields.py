"""Best-effort fields from résumé text: name, field of study or work, level, skills,
experience and education.

Heuristics only: the candidate sees and corrects them before the interview, so a wrong
guess costs a click. Each guess is None (or empty) rather than a weak shot in the dark.
The level is given twice: as the question bank's code (``level``) and in the start
form's own words (``level_label``, one of :data:`LEVEL_OPTIONS`), which is what the
form shows; a candidate never sees a code such as ``undergraduate_late``.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel

from vivavoce.interview.candidate import (
    LONG_MAX,
    SKILL_MAX,
    BankField,
    BankLevel,
    bank_field,
    bank_level,
)
from vivavoce.resume.sections import Section, experience_years, sections, spans

__all__ = ["LEVEL_OPTIONS", "ResumeFields", "guess_fields"]

# The start form's level vocabulary (its <datalist>, rendered from this list).
LEVEL_OPTIONS: tuple[str, ...] = (
    "High-school student",
    "First-year student",
    "Second-year student",
    "Third-year student",
    "Final-year student",
    "Graduate",
    "Junior (0–2 years)",
    "Mid-level (3–5 years)",
    "Senior (6+ years)",
)
EDUCATION_MAX = 2_000  # the form's limit for its education box


class ResumeFields(BaseModel):
    name: str | None = None
    major: str | None = None  # the subject as written ("Computer Science")
    field: BankField | None = None
    level: BankLevel | None = None
    level_label: str | None = None  # the level in the start form's words (LEVEL_OPTIONS)
    skills: list[str] = []
    experience: str | None = None  # the résumé's experience section, as written
    education: str | None = None  # its education section (or its degree lines)


_NAME_WORD = re.compile(r"^[A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ÿ'’.\-]*$")
_NOT_A_NAME = re.compile(
    r"\b(resume|résumé|curriculum|vitae|cv|profile|summary|contact|experience|education|"
    r"university|college|school|street|road|engineer|developer|student)\b",
    re.IGNORECASE,
)
# A degree, then its subject: "B.S. Computer Science", "BSc in Physics", "Bachelor of
# Science in Mechanical Engineering", "MSc: Finance", "Ph.D. Psychology", "majoring in Economics".
_DEGREE = re.compile(
    r"(?i:\b(?:bachelor(?:'s)?|master(?:'s)?|doctorate|b\.?\s?s\.?c?|b\.?\s?a|b\.?\s?eng|"
    r"m\.?\s?s\.?c?|m\.?\s?a|m\.?\s?eng|mba|ph\.?\s?d|degree|major(?:ing)?|studying)\b\.?"
    r"(?:\s+(?:of|in)\s+(?:science|arts|engineering|applied science|business administration)"
    r"\b\.?)?"
    r"(?:\s*(?:,|:|-|–)?\s*(?:in|of)?)\s+)"
    r"(?P<subject>[A-Z][A-Za-z&\- ]{2,60})"
)
# Where a subject ends: a separator, or the institution that often follows it.
_SUBJECT_END = re.compile(
    r"\s{2,}|\s[-–—|]\s|\b(?:at|from|with|minor|expected|university|college|institute|school)\b"
)
# "MS Word" and "MA 02139" are not degrees.
_NOT_A_SUBJECT = {"office", "word", "excel", "teams", "powerpoint", "access", "project"}
_SKILLS_HEADING = re.compile(
    r"^(?:technical\s+|key\s+|core\s+)?(?:skills|competencies|technologies|tools)"
    r"(?:\s*(?:&|and)\s*\w+)?\s*[:\-–]?\s*(.*)$",
    re.IGNORECASE,
)
_SKILL_SPLIT = re.compile(r"\s*(?:[,;•|·▪●]|\s/\s|\t)\s*")
_SECTION = re.compile(
    r"^(experience|work experience|employment|education|projects?|languages|"
    r"certifications?|interests|awards|publications|summary|profile|references)\s*:?$",
    re.IGNORECASE,
)


def _guess_name(lines: list[str]) -> str | None:
    for line in lines[:6]:
        candidate = line.strip()
        if not candidate or len(candidate) > 60 or _NOT_A_NAME.search(candidate):
            continue
        words = candidate.split()
        if 2 <= len(words) <= 4 and all(_NAME_WORD.match(w) for w in words):
            return candidate
    return None


def _guess_major(text: str) -> str | None:
    for match in _DEGREE.finditer(text):
        subject = _SUBJECT_END.split(match.group("subject"))[0]
        subject = re.split(r",|\(|\|", subject)[0].strip(" -&")
        if len(subject) >= 3 and subject.casefold() not in _NOT_A_SUBJECT:
            return subject
    return None


_FIELD_WORDS: dict[BankField, str] = {
    "computer_science": "Computer Science",
    "finance": "Finance",
    "engineering": "Engineering",
    "business": "Business",
    "psychology": "Psychology",
}


def _guess_skills(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        match = _SKILLS_HEADING.match(line.strip())
        if not match:
            continue
        inline = match.group(1).strip()
        body = [inline] if inline else []
        # A heading on its own line: the skills follow until a blank line or the next
        # section (PDF text often has no blank lines at all).
        for follow in [] if inline else lines[index + 1 : index + 8]:
            if not follow.strip() or _SECTION.match(follow.strip()):
                break
            body.append(follow)
        skills: list[str] = []
        for chunk in body:
            for piece in _SKILL_SPLIT.split(chunk.strip(" -•")):
                piece = re.sub(r"^[A-Za-z ]{2,20}:\s*", "", piece).strip(" .-•")
                if 1 <= len(piece) <= SKILL_MAX and piece.casefold() not in {
                    s.casefold() for s in skills
                }:
                    skills.append(piece)
        if skills:
            return skills[:30]
    return []


# A line about schooling, when there is no Education heading ("senior" or "3rd year"
# alone could be a job title or anything else).
_SCHOOLING = re.compile(
    r"universit|college|school|institute|academy|bachelor|master|ph\.?\s?d|"
    r"\b[bm]\.?\s?sc\b|\bmba\b|\b[bm]\.?\s?eng\b|\b[bm]\.[as]\.",
    re.IGNORECASE,
)
_STUDYING = re.compile(
    r"\b(expected|anticipated|candidate|currently|ongoing|present|"
    r"freshman|sophomore|junior|senior|final[- ]year|first[- ]year|second[- ]year|"
    r"third[- ]year|fourth[- ]year|[1-6](?:st|nd|rd|th)[- ]year|year\s*[1-6]\b|undergraduate student)",
    re.IGNORECASE,
)
_YEAR_OF_STUDY = (
    (re.compile(r"\b(final[- ]year|senior|fourth[- ]year|4th[- ]year|year\s*4)\b", re.I), 9),
    (re.compile(r"\b(first[- ]year|freshman|1st[- ]year|year\s*1)\b", re.I), 1),
    (re.compile(r"\b(second[- ]year|sophomore|2nd[- ]year|year\s*2)\b", re.I), 2),
    (re.compile(r"\b(third[- ]year|junior|3rd[- ]year|year\s*3)\b", re.I), 3),
)
_YEAR = re.compile(r"\b(19|20)\d\d\b")


def _student_label(education: str, today: date) -> tuple[str, BankLevel] | None:
    """The level of someone still studying, or None when the education is finished."""
    years = [int(m.group(0)) for m in _YEAR.finditer(education)]
    future = [y for y in years if y > today.year]
    ongoing = any(s.ongoing or s.end > today.year * 12 + today.month - 1
                  for s in spans(education, today))
    if not (_STUDYING.search(education) or ongoing or (years and max(years) > today.year)):
        return None
    code = bank_level(education)
    if code == "graduate":
        return "Graduate", "graduate"
    if code == "high_school":
        return "High-school student", "high_school"
    said = [year for pattern, year in _YEAR_OF_STUDY if pattern.search(education)]
    if said:
        year = said[0]
    else:
        # Only a graduation date: a year or less to go is the final year.
        months_left = max(future, default=today.year) * 12 + 6 - (today.year * 12 + today.month)
        year = 9 if months_left <= 12 else 1 if months_left > 30 else 2
    labels = {1: "First-year student", 2: "Second-year student", 3: "Third-year student"}
    return labels.get(year, "Final-year student"), (
        "undergraduate_early" if year <= 2 else "undergraduate_late")


def _guess_level(
    education: str, work_years: float | None, today: date
) -> tuple[str | None, BankLevel | None]:
    student = _student_label(education, today) if education else None
    if student is not None:
        return student
    if work_years is not None and work_years >= 0.25:
        years = round(work_years)
        label = ("Senior (6+ years)" if years >= 6 else
                 "Mid-level (3–5 years)" if years >= 3 else "Junior (0–2 years)")
        # The bank's most senior level: "graduate" covers early careers too.
        return label, "graduate"
    if not education:
        return None, None
    code = bank_level(education)
    if code == "high_school":
        return "High-school student", code
    if code is not None or _DEGREE.search(education):
        return "Graduate", "graduate"  # a finished degree, no work yet
    return None, None


def _section_text(found: list[Section], kind: str, limit: int) -> str | None:
    lines = [line for section in found if section.kind == kind for line in section.lines]
    text = "\n".join(lines).strip()
    return text[:limit].rstrip() or None


def guess_fields(text: str, *, today: date | None = None) -> ResumeFields:
    """Guess the candidate's fields from clean résumé text. Never raises."""
    today = today or date.today()
    lines = text.split("\n")
    found = sections(lines)
    education = _section_text(found, "education", EDUCATION_MAX)
    if education is None:
        # No heading: the lines that look like education.
        degree_lines = [line.strip() for line in lines if _SCHOOLING.search(line)]
        education = "\n".join(degree_lines)[:EDUCATION_MAX].strip() or None
    experience = _section_text(found, "experience", LONG_MAX)
    major = _guess_major(education or "") or _guess_major(text)
    field = bank_field(major) if major else None
    if major is None:
        # No degree: the headline under the name ("Senior Software Engineer") still
        # says the field of work.
        headline = " ".join(line for line in lines[:4] if line.strip())
        field = bank_field(headline)
        major = _FIELD_WORDS.get(field)
    work_years = experience_years(
        [line for s in found if s.kind == "experience" for line in s.lines], today)
    level_label, level = _guess_level(education or "", work_years, today)
    return ResumeFields(
        name=_guess_name([line for line in lines if line.strip()]),
        major=major,
        field=field if field != "general" else None,
        level=level,
        level_label=level_label,
        skills=_guess_skills(lines),
        experience=experience,
        education=education,
    )
