"""A résumé's sections and the time spans in them.

Résumé text from a PDF or DOCX is a list of lines; a section starts at a heading line
("Experience", "WORK EXPERIENCE", "Education:") and runs to the next one. Dates come as
"2019 – Present", "Jun 2018 - Aug 2021", "09/2020 – 06/2022" or "Expected May 2027".
Heuristics only, each answer is None (or empty) rather than a guess in the dark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = ["Section", "Span", "experience_years", "sections", "spans"]

_HEADINGS: dict[str, str] = {
    "experience": "experience",
    "work experience": "experience",
    "professional experience": "experience",
    "relevant experience": "experience",
    "employment": "experience",
    "employment history": "experience",
    "work history": "experience",
    "career history": "experience",
    "internships": "experience",
    "education": "education",
    "education and training": "education",
    "academic background": "education",
    "qualifications": "education",
    "skills": "skills",
    "technical skills": "skills",
    "key skills": "skills",
    "core skills": "skills",
    "skills and interests": "skills",
    "projects": "projects",
    "project": "projects",
    "personal projects": "projects",
    "languages": "other",
    "certifications": "other",
    "certification": "other",
    "interests": "other",
    "awards": "other",
    "publications": "other",
    "summary": "summary",
    "profile": "summary",
    "professional summary": "summary",
    "about me": "summary",
    "objective": "summary",
    "references": "other",
    "volunteering": "other",
    "activities": "other",
}


@dataclass(frozen=True)
class Section:
    kind: str  # experience, education, skills, projects, summary, other
    lines: list[str]


def _heading(line: str) -> str | None:
    words = re.sub(r"[^\w& ]", "", line).strip().casefold().replace("&", "and")
    words = re.sub(r"\s+", " ", words)
    return _HEADINGS.get(words)


def _split_heading(line: str) -> tuple[str, str, str]:
    parts = re.split(r"(:|\||\t)", line, maxsplit=1)
    if len(parts) < 3:
        return line, "", ""
    return parts[0].strip(), parts[1], parts[2].strip()


def sections(lines: list[str]) -> list[Section]:
    """The lines under each heading, in order (lines before the first heading: none)."""
    found: list[Section] = []
    for raw in lines:
        line = raw.strip()
        if line and len(line) <= 40 and (kind := _heading(line.rstrip(":"))) is not None:
            found.append(Section(kind, []))
            continue
        # "Skills: Python, SQL" is a heading with its content on the same line.
        # (A DOCX table row reads "Languages | English, French".)
        head, sep, rest = _split_heading(line)
        if sep and rest and (kind := _heading(head)) is not None:
            found.append(Section(kind, [rest]))
        elif found and line:
            found[-1].lines.append(line)
    return found


_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_POINT = (
    r"(?:(?P<{g}m>[A-Za-z]{{3,9}})\.?\s+|(?P<{g}n>0?[1-9]|1[0-2])\s*/\s*)?"
    r"(?P<{g}y>(?:19|20)\d\d)"
)
_SPAN = re.compile(
    _POINT.format(g="a")
    + r"\s*(?:-|–|—|to|until)\s*(?:"
    + _POINT.format(g="b")
    + r"|(?P<now>present|current|now|today|ongoing))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Span:
    start: int  # months since year 0
    end: int
    ongoing: bool


def _month(match: re.Match[str], group: str, default: int) -> int:
    name = (match.group(f"{group}m") or "").casefold()
    number = match.group(f"{group}n")
    month = _MONTHS.get(name) or (int(number) if number else default)
    return int(match.group(f"{group}y")) * 12 + month - 1


def spans(text: str, today: date) -> list[Span]:
    """Every "from – to" date range in the text."""
    now = today.year * 12 + today.month - 1
    found: list[Span] = []
    for match in _SPAN.finditer(text):
        start = _month(match, "a", 1)
        ongoing = match.group("now") is not None
        end = now if ongoing else _month(match, "b", 12)
        if start <= end <= now + 12 * 8:
            found.append(Span(start, end, ongoing))
    return found


def experience_years(lines: list[str], today: date) -> float | None:
    """Years covered by the date ranges in ``lines`` (overlaps counted once), or None
    when there are none."""
    ranges = sorted((s.start, min(s.end, today.year * 12 + today.month - 1))
                    for s in spans("\n".join(lines), today))
    if not ranges:
        return None
    months = 0
    current_start, current_end = ranges[0]
    for start, end in ranges[1:]:
        if start > current_end:
            months += current_end - current_start + 1
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    months += current_end - current_start + 1
    return months / 12
