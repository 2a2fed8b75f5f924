"""Best-effort fields from résumé text (name, major, field, level, skills).

Heuristics only: the candidate sees and corrects them before the interview, so a wrong
guess costs a click. Each guess is None (or empty) rather than a weak shot in the dark.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from vivavoce.interview.candidate import SKILL_MAX, BankField, BankLevel, bank_field, bank_level

__all__ = ["ResumeFields", "guess_fields"]


class ResumeFields(BaseModel):
    name: str | None = None
    major: str | None = None  # the subject as written ("Computer Science")
    field: BankField | None = None
    level: BankLevel | None = None
    skills: list[str] = []


_NAME_WORD = re.compile(r"^[A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ÿ'’.\-]*$")
_NOT_A_NAME = re.compile(
    r"\b(resume|résumé|curriculum|vitae|cv|profile|summary|contact|experience|education|"
    r"university|college|school|street|road|engineer|developer|student)\b",
    re.IGNORECASE,
)
_DEGREE = re.compile(
    r"(?i:\b(?:bachelor(?:'s)?|master(?:'s)?|b\.?\s?sc?\.?|m\.?\s?sc?\.?|b\.?a\.?|m\.?a\.?|"
    r"b\.?eng\.?|m\.?eng\.?|ph\.?\s?d\.?|mba|degree|major(?:ing)?|studying)\b"
    r"[^\n]{0,30}?\b(?:in|of)\s+)([A-Z][A-Za-z&,\- ]{2,60})"
)
_SKILLS_HEADING = re.compile(
    r"^(?:technical\s+|key\s+|core\s+)?(?:skills|competencies|technologies|tools)"
    r"(?:\s*(?:&|and)\s*\w+)?\s*[:\-–]?\s*(.*)$",
    re.IGNORECASE,
)
_SKILL_SPLIT = re.compile(r"\s*(?:[,;•|·▪●]|\s/\s|\t)\s*")
_EDUCATION_LINE = re.compile(
    r"(university|college|school|bachelor|master|ph\.?d|degree|year|freshman|sophomore|"
    r"junior|senior|graduat|undergrad|grade|\b[bm]\.?\s?sc\b|\bmba\b|\b[bm]\.?eng\b)",
    re.IGNORECASE,
)
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
    match = _DEGREE.search(text)
    if not match:
        return None
    subject = re.split(r"\s{2,}|,|\b(?:at|from|with|and minor)\b", match.group(1))[0]
    subject = subject.strip(" -&")
    return subject or None


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


def _guess_level(lines: list[str]) -> BankLevel | None:
    education = "\n".join(line for line in lines if _EDUCATION_LINE.search(line))
    if not education:
        return None
    level = bank_level(education)
    if level is None and re.search(r"university|college|bachelor", education, re.IGNORECASE):
        return "undergraduate_early"
    return level


def guess_fields(text: str) -> ResumeFields:
    """Guess the candidate's fields from clean résumé text. Never raises."""
    lines = text.split("\n")
    major = _guess_major(text)
    field = bank_field(major) if major else None
    return ResumeFields(
        name=_guess_name([line for line in lines if line.strip()]),
        major=major,
        field=field if field != "general" else None,
        level=_guess_level(lines),
        skills=_guess_skills(lines),
    )
