"""Data access for the question bank: seeding, picking, importing operators' questions.

Import files are YAML or JSON (JSON is read by the same YAML parser, which keeps line
numbers): either a list of questions or ``{"questions": [...]}``; each question has
``field``, ``level``, ``category``, ``text`` and optionally ``difficulty``. Every problem
is reported with its line number before anything is written.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.interview.candidate import BankField, BankLevel, clean_text
from vivavoce.store.models import Question
from vivavoce.store.question_bank import BuiltinQuestion, builtin_questions
from vivavoce.yaml_models import YamlFileError, YamlProblem, parse_yaml

__all__ = [
    "CATEGORIES",
    "QuestionFileError",
    "QuestionIn",
    "import_questions",
    "parse_question_file",
    "pick_questions",
    "seed_builtin_questions",
]

Category = Literal["behavioural", "technical", "motivation", "situational", "case", "closing"]
CATEGORIES: tuple[str, ...] = (
    "behavioural",
    "technical",
    "motivation",
    "situational",
    "case",
    "closing",
)
QUESTION_MAX = 1000


def _row(q: QuestionIn | BuiltinQuestion, source: str) -> Question:
    return Question(field=q.field, level=q.level, category=q.category,
                    difficulty=q.difficulty, text=q.text, source=source)


async def seed_builtin_questions(s: AsyncSession) -> int:
    """Insert the built-in bank when the database has none yet; returns how many were
    added (0 when already seeded, so calling it at every start is cheap)."""
    present = await s.scalar(
        select(func.count()).select_from(Question).where(Question.source == "builtin")
    )
    if present:
        return 0
    rows = [_row(q, "builtin") for q in builtin_questions()]
    s.add_all(rows)
    await s.commit()
    return len(rows)


async def pick_questions(
    s: AsyncSession,
    *,
    field: str,
    level: str,
    limit: int,
    categories: Sequence[str] | None = None,
    difficulty: str | None = None,
    rng: random.Random | None = None,
) -> list[Question]:
    """Up to ``limit`` questions for a candidate, mixing categories round-robin.

    Questions of the candidate's own field come first, then ``general`` ones, then other
    levels of the same field, so a sparse custom bank still yields a full interview.
    Within that order, questions of ``difficulty`` (if given) come before the others.
    ``rng`` makes the shuffle reproducible (tests). Raises ValueError for limit < 0.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    if limit == 0:
        return []
    rng = rng or random.Random()
    query = select(Question).where(Question.field.in_(sorted({field, "general"})))
    if categories:
        query = query.where(Question.category.in_(list(categories)))
    candidates = list(await s.scalars(query.order_by(Question.id)))

    def rank(q: Question) -> int:
        same_level = q.level == level
        if q.field == field and same_level:
            return 0
        if same_level:
            return 1
        return 2 if q.field == field else 3

    picked: list[Question] = []
    for tier in range(4):
        pool = [q for q in candidates if rank(q) == tier]
        rng.shuffle(pool)
        if difficulty is not None:
            pool.sort(key=lambda q: q.difficulty != difficulty)  # stable: keeps the shuffle
        picked.extend(_round_robin(pool, categories))
        if len(picked) >= limit:
            break
    return picked[:limit]


def _round_robin(pool: list[Question], order: Sequence[str] | None) -> list[Question]:
    """One question of each category in turn, each category in pool order."""
    by_category: dict[str, deque[Question]] = {}
    for q in pool:
        by_category.setdefault(q.category, deque()).append(q)
    keys = [c for c in (order or CATEGORIES) if c in by_category]
    keys += sorted(k for k in by_category if k not in keys)
    out: list[Question] = []
    while any(by_category[k] for k in keys):
        for key in keys:
            if by_category[key]:
                out.append(by_category[key].popleft())
    return out


# --- importing -------------------------------------------------------------------------


class QuestionIn(BaseModel):
    """One question from an operator's file."""

    model_config = ConfigDict(extra="forbid")

    field: BankField
    level: BankLevel
    category: Category
    difficulty: Literal["easy", "medium", "hard"] = "medium"
    text: str = Field(min_length=5, max_length=QUESTION_MAX)

    @field_validator("text", mode="before")
    @classmethod
    def _clean(cls, value: Any) -> Any:
        return clean_text(value, multiline=False) if isinstance(value, str) else value

    @field_validator("category", mode="before")
    @classmethod
    def _spelling(cls, value: Any) -> Any:
        # Both spellings are common; the bank uses the British one.
        return "behavioural" if value == "behavioral" else value

    @field_validator("field", "level", mode="before")
    @classmethod
    def _snake(cls, value: Any) -> Any:
        return value.strip().lower().replace(" ", "_").replace("-", "_") if isinstance(
            value, str
        ) else value


class QuestionFileError(YamlFileError):
    """The file cannot be imported; ``problems`` lists every problem with its line."""


def parse_question_file(text: str, *, source: str = "questions") -> list[QuestionIn]:
    """Validate a YAML/JSON question file. Raises :class:`QuestionFileError` listing every
    problem with its line number (nothing is imported if anything is wrong)."""
    doc = parse_yaml(text, source=source, error=QuestionFileError)
    data: Any = doc.data
    at: tuple[int | str, ...] = ()
    if isinstance(data, dict) and "questions" in data:
        data, at = data["questions"], ("questions",)
    if not isinstance(data, list):
        raise QuestionFileError([doc.problem(
            at, "expected a list of questions (or a mapping with 'questions:')", field="")])
    if not data:
        raise QuestionFileError([doc.problem(at, "the file contains no questions", field="")])
    problems: list[YamlProblem] = []
    parsed: list[QuestionIn] = []
    for index in range(len(data)):
        # Each question on its own, so one bad question does not hide the next one's
        # problems and fields are named within the question ("field", not "3.field").
        try:
            parsed.append(doc.validate(QuestionIn, at=(*at, index),
                                       label=f"question {index + 1}", error=QuestionFileError))
        except QuestionFileError as exc:
            problems.extend(exc.problems)
    if problems:
        raise QuestionFileError(problems)
    return parsed


async def import_questions(s: AsyncSession, questions: Sequence[QuestionIn]) -> int:
    """Add imported questions, skipping ones already in the bank (same field, level and
    text), in one transaction. Returns how many were added."""
    existing = {
        (f, lv, t)
        for f, lv, t in (await s.execute(select(Question.field, Question.level, Question.text)))
    }
    added = 0
    for q in questions:
        key = (q.field, q.level, q.text)
        if key in existing:
            continue
        existing.add(key)
        s.add(_row(q, "imported"))
        added += 1
    await s.commit()
    return added

