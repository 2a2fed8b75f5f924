"""Who the interview is for, and how it runs: validated, cleaned, length-limited.

:class:`CandidateContext` accepts the original browser client's ``candidateContext`` field
names (``name``, ``major``, ``year``, ``skills``, ``experience``, ``education``,
``summary``, ``resumeText``, ``targetRole``) and stores them under normalised names
(``field``, ``level``, ``resume_text``, ``target_role``). Every text is cleaned of control
characters before the length limit is checked, so what is stored and what is put into the
interviewer's instructions is plain text.

:class:`InterviewSettings` is how one interview runs (model, voice, language, difficulty,
duration limit); :meth:`InterviewSettings.with_defaults` fills the gaps from values the
caller passes (the service's settings, read by the web layer: the interview's rules take
values, not the service's configuration object).

:func:`bank_field` and :func:`bank_level` map the free text people type ("3rd year",
"Junior", "CS") onto the question bank's fixed vocabulary (:data:`FIELDS`, :data:`LEVELS`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal, Self, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

__all__ = [
    "FIELDS",
    "LANGUAGE_PATTERN",
    "LEVELS",
    "MODEL_PATTERN",
    "VOICE_PATTERN",
    "BankField",
    "BankLevel",
    "CandidateContext",
    "Difficulty",
    "InterviewSettings",
    "bank_field",
    "bank_level",
    "clean_text",
]

BankField = Literal[
    "computer_science", "finance", "engineering", "business", "psychology", "general"
]
BankLevel = Literal["high_school", "undergraduate_early", "undergraduate_late", "graduate"]
Difficulty = Literal["easy", "medium", "hard"]

FIELDS: tuple[BankField, ...] = get_args(BankField)
LEVELS: tuple[BankLevel, ...] = get_args(BankLevel)

# Limits: generous for real people, small enough that one interview's context cannot
# blow up the interviewer's instructions (and the token bill).
NAME_MAX = 120
SHORT_MAX = 120
SKILL_MAX = 60
SKILLS_MAX_COUNT = 50
LONG_MAX = 4_000
RESUME_MAX = 20_000

# C0/C1 control characters except tab and newline, plus the Unicode line/paragraph
# separators and bidi overrides that can make stored text render misleadingly.
# Lone surrogates (valid in JSON escapes, invalid in UTF-8) would fail on the way into
# PostgreSQL, so they go too.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(value: str, *, multiline: bool = True) -> str:
    """NFC-normalise, drop control characters, tidy whitespace; never raises."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if not multiline:
        return _SPACES.sub(" ", text.replace("\n", " ")).strip()
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _scalar_to_text(value: Any) -> Any:
    # The original client sent "year" as a number at times (3 for "3rd year").
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


class CandidateContext(BaseModel):
    """The candidate as the interviewer should know them. Raises pydantic.ValidationError
    for values of the wrong type or over the length limits."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    name: str = Field(min_length=1, max_length=NAME_MAX, description="How to address them.")
    field: str = Field(
        default="",
        max_length=SHORT_MAX,
        validation_alias=AliasChoices("field", "major"),
        description="Field of study or work, free text (original name: major).",
    )
    level: str = Field(
        default="",
        max_length=SHORT_MAX,
        validation_alias=AliasChoices("level", "year"),
        description="Year or stage, free text such as '3rd year' (original name: year).",
    )
    target_role: str = Field(
        default="",
        max_length=SHORT_MAX,
        validation_alias=AliasChoices("target_role", "targetRole"),
    )
    skills: list[str] = Field(default_factory=list, max_length=SKILLS_MAX_COUNT)
    experience: str = Field(default="", max_length=LONG_MAX)
    education: str = Field(default="", max_length=LONG_MAX)
    summary: str = Field(default="", max_length=LONG_MAX)
    resume_text: str = Field(
        default="",
        max_length=RESUME_MAX,
        validation_alias=AliasChoices("resume_text", "resumeText"),
    )

    @field_validator("name", "field", "level", "target_role", mode="before")
    @classmethod
    def _one_line(cls, value: Any) -> Any:
        value = _scalar_to_text(value)
        return clean_text(value, multiline=False) if isinstance(value, str) else value

    @field_validator("experience", "education", "summary", "resume_text", mode="before")
    @classmethod
    def _many_lines(cls, value: Any) -> Any:
        if value is None:
            return ""
        return clean_text(value) if isinstance(value, str) else value

    @field_validator("skills", mode="before")
    @classmethod
    def _skill_list(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            value = re.split(r"[,;\n•|]", value)
        if not isinstance(value, list | tuple):
            return value  # pydantic reports the type error
        out: list[Any] = []
        seen: set[str] = set()
        for item in value:
            if not isinstance(item, str):
                out.append(item)  # pydantic reports the type error
                continue
            skill = clean_text(item, multiline=False)
            if skill and skill.casefold() not in seen:
                seen.add(skill.casefold())
                out.append(skill)
        return out

    @field_validator("skills")
    @classmethod
    def _skill_length(cls, value: list[str]) -> list[str]:
        for skill in value:
            if len(skill) > SKILL_MAX:
                raise ValueError(f"each skill must be at most {SKILL_MAX} characters")
        return value

    @property
    def bank_field(self) -> BankField:
        """The question bank's field for this candidate."""
        return bank_field(" ".join((self.field, self.target_role)))

    @property
    def bank_level(self) -> BankLevel:
        """The question bank's level (undergraduate_early when nothing says otherwise)."""
        return bank_level(self.level) or bank_level(self.education) or "undergraduate_early"


VOICE_PATTERN = r"^[a-z0-9_-]{1,32}$"
MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"


class InterviewSettings(BaseModel):
    """How one interview runs. Raises pydantic.ValidationError for invalid values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(pattern=MODEL_PATTERN, description="Realtime model.")
    voice: str = Field(pattern=VOICE_PATTERN, description="Interviewer voice.")
    language: str = Field(default="en", pattern=LANGUAGE_PATTERN, description="BCP 47 language tag.")
    difficulty: Difficulty = "medium"
    max_duration_s: int = Field(ge=60, le=3500, description="Hard limit on the interview.")
    # The interview's clock, stopped by a spend-limit pause (interview/resume_policy.py):
    # kept in the stored settings rather than a column of its own, written only by
    # store.set_clock (never dumped: a new interview's settings do not carry them).
    paused_at: float | None = Field(
        default=None, exclude=True, description="While paused at the spend limit: when its "
        "clock stopped (Unix seconds).")
    paused_s: float = Field(
        default=0.0, ge=0, exclude=True, description="Seconds its clock stood still in "
        "earlier pauses.")

    @field_validator("model", "voice", "language", mode="before")
    @classmethod
    def _trim(cls, value: Any, info: ValidationInfo) -> Any:
        # Operators paste values with stray spaces or capitals (VIVAVOCE_VOICE=" Marin"):
        # voices are lower-case ids, and no model name or language tag has a space.
        if isinstance(value, str):
            value = value.strip()
            if info.field_name == "voice":
                value = value.lower()
        return value

    @classmethod
    def with_defaults(
        cls,
        *,
        model: str,
        voice: str,
        max_duration_s: int,
        overrides: Mapping[str, Any] | None = None,
    ) -> Self:
        """These defaults with ``overrides`` on top (``None`` overrides are ignored)."""
        values: dict[str, Any] = {"model": model, "voice": voice, "max_duration_s": max_duration_s}
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls.model_validate(values)


# --- free text -> bank vocabulary ---------------------------------------------------
# Ordered: the first pattern that matches wins, so specific phrases come before the
# broad ones ("software engineering" is computer science, not engineering).
_FIELD_PATTERNS: tuple[tuple[BankField, re.Pattern[str]], ...] = (
    (
        "computer_science",
        re.compile(
            r"\b(cs|cse|comp\s*sci|computer|computing|software|informatics|data science|"
            r"machine learning|artificial intelligence|ai|programming|developer|web dev\w*|"
            r"information technology|it|cyber\s*security)\b"
        ),
    ),
    (
        "finance",
        re.compile(
            r"\b(financ\w*|accounting|accountant|banking|economics?|actuarial|investment\w*|"
            r"audit\w*|fintech)\b"
        ),
    ),
    (
        "psychology",
        re.compile(r"\b(psych\w*|neuroscience|cognitive science|counsel\w*|behavioral science)\b"),
    ),
    (
        "engineering",
        re.compile(
            r"\b(engineer\w*|mechanical|electrical|civil|chemical|aerospace|biomedical|"
            r"mechatronics|industrial)\b"
        ),
    ),
    (
        "business",
        re.compile(
            r"\b(business|management|marketing|mba|commerce|entrepreneur\w*|"
            r"administration|operations|consult\w*|sales|product manag\w*)\b"
        ),
    ),
)


def bank_field(text: str) -> BankField:
    """Map a free-text major or role ('Computer Science', 'CS', 'Mech. Eng') to a bank
    field; anything unrecognised is ``general``. Never raises."""
    lowered = clean_text(text, multiline=False).casefold().replace("&", " and ")
    lowered = lowered.replace("mech. eng", "mechanical engineering")
    for name, pattern in _FIELD_PATTERNS:
        if pattern.search(lowered):
            return name
    return "general"


_ORDINAL = re.compile(r"\b(?:year\s*)?([1-9])(?:st|nd|rd|th)?\s*(?:-|\s)?(?:year|yr)?\b")
_LEVEL_WORDS: tuple[tuple[BankLevel, re.Pattern[str]], ...] = (
    (
        "graduate",
        re.compile(
            r"\b(ph\.?\s?d|doctora\w*|master'?s?|msc|m\.sc|ma|mba|meng|graduate( student)?|"
            r"grad school|postgrad\w*|post-?doc\w*)\b"
        ),
    ),
    # People at work (the start form's "Junior (0–2 years)", "Mid-level (3–5 years)",
    # "Senior (6+ years)"): the bank's highest level, before "junior"/"senior" below
    # read them as third- and fourth-year students.
    (
        "graduate",
        re.compile(
            r"(\b\d+\s*[–-]\s*\d+\s*years\b|\b\d+\s*\+\s*years\b|\bmid[- ]?level\b|"
            r"\byears? of (work |professional )?experience\b|\bprofessional\b)"
        ),
    ),
    (
        "high_school",
        re.compile(
            r"\b(high\s*school|secondary|grade\s*(9|10|11|12)|(9|10|11|12)th grade|a-?levels?|"
            r"year\s*(9|1[0-3]))\b"  # UK/AU school years 9-13
        ),
    ),
    ("undergraduate_late", re.compile(r"\b(junior|senior|final year|fourth year|third year)\b")),
    (
        "undergraduate_early",
        re.compile(r"\b(freshman|fresher|sophomore|first year|second year|undergrad\w*|bachelor'?s?)\b"),
    ),
)


def bank_level(text: str) -> BankLevel | None:
    """Map a free-text year ('3rd year', 'Junior', 'PhD', '2') to a bank level, or None
    when the text says nothing recognisable. Never raises."""
    lowered = clean_text(text, multiline=False).casefold()
    if not lowered:
        return None
    for name, pattern in _LEVEL_WORDS:
        if pattern.search(lowered):
            return name
    match = _ORDINAL.search(lowered)
    if match:
        year = int(match.group(1))
        return "undergraduate_early" if year <= 2 else "undergraduate_late"
    return None
