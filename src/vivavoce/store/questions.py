"""Data access for the question bank: seeding, picking, importing operators' questions.

Import files are YAML or JSON (JSON is read by the same YAML parser, which keeps line
numbers): either a list of questions or ``{"questions": [...]}``; each question has
``field``, ``level``, ``category``, ``text`` and optionally ``difficulty``. Every problem
is reported with its line number before anything is written.
"""

from __future__ import annotations

import random
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.interview.candidate import BankField, BankLevel, clean_text
from vivavoce.store.models import Question
from vivavoce.store.question_bank import BuiltinQuestion, builtin_questions
from vivavoce.yaml_models import YamlFileError, YamlProblem, parse_yaml

__all__ = [
    "BANK_CACHE_S",
    "CATEGORIES",
    "BankQuestion",
    "QuestionFileError",
    "QuestionIn",
    "forget_cached_questions",
    "import_questions",
    "parse_question_file",
    "pick_cached_questions",
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


class _Row(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def difficulty(self) -> str: ...


R = TypeVar("R", bound=_Row)


@dataclass(frozen=True, slots=True)
class BankQuestion:
    """One question of the bank as :func:`pick_cached_questions` returns it (a plain
    value shared between interviews, not a row of anyone's session)."""

    id: int
    field: str
    level: str
    category: str
    difficulty: str
    text: str


# How long a process reuses its copy of the bank: questions imported by another process
# (``vivavoce questions import``) are picked by new interviews at most this much later.
BANK_CACHE_S = 60.0
# Per database (the engine, weakly: a disposed database takes its copy with it), per
# field: when it was read and the field's and the general questions, in id order.
_bank: weakref.WeakKeyDictionary[Engine, dict[str, tuple[float, tuple[BankQuestion, ...]]]] = (
    weakref.WeakKeyDictionary())


def _field_filter(field: str) -> ColumnElement[bool]:
    return Question.field.in_(sorted({field, "general"}))


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
    query = select(Question).where(_field_filter(field))
    if categories:
        query = query.where(Question.category.in_(list(categories)))
    candidates = list(await s.scalars(query.order_by(Question.id)))
    return _pick(candidates, field=field, level=level, limit=limit, categories=categories,
                 difficulty=difficulty, rng=rng)


async def pick_cached_questions(
    s: AsyncSession,
    *,
    field: str,
    level: str,
    limit: int,
    categories: Sequence[str] | None = None,
    difficulty: str | None = None,
    rng: random.Random | None = None,
) -> list[BankQuestion]:
    """:func:`pick_questions` from this process's copy of the field's questions (read
    at most every :data:`BANK_CACHE_S`, at once after an import in this process): the
    same picks for the same bank and ``rng``, without reading and loading a hundred rows
    at every start. The interview's start uses it."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    if limit == 0:
        return []
    engine = s.get_bind()
    assert isinstance(engine, Engine)
    per_field = _bank.setdefault(engine, {})
    cached = per_field.get(field)
    if cached is None or time.monotonic() - cached[0] > BANK_CACHE_S:
        rows = await s.execute(
            select(Question.id, Question.field, Question.level, Question.category,
                   Question.difficulty, Question.text)
            .where(_field_filter(field)).order_by(Question.id))
        cached = (time.monotonic(), tuple(BankQuestion(*row) for row in rows))
        per_field[field] = cached
    candidates = [q for q in cached[1] if not categories or q.category in categories]
    return _pick(candidates, field=field, level=level, limit=limit, categories=categories,
                 difficulty=difficulty, rng=rng)


def forget_cached_questions(s: AsyncSession) -> None:
    """The bank of ``s``'s database changed: the next pick reads it again."""
    engine = s.get_bind()
    if isinstance(engine, Engine):
        _bank.pop(engine, None)


def _pick(candidates: list[R], *, field: str, level: str, limit: int,
          categories: Sequence[str] | None, difficulty: str | None,
          rng: random.Random | None) -> list[R]:
    rng = rng or random.Random()

    def rank(q: R) -> int:
        same_level = q.level == level
        if q.field == field and same_level:
            return 0
        if same_level:
            return 1
        return 2 if q.field == field else 3

    picked: list[R] = []
    for tier in range(4):
        pool = [q for q in candidates if rank(q) == tier]
        rng.shuffle(pool)
        if difficulty is not None:
            pool.sort(key=lambda q: q.difficulty != difficulty)  # stable: keeps the shuffle
        picked.extend(_round_robin(pool, categories))
        if len(picked) >= limit:
            break
    return picked[:limit]


def _round_robin(pool: list[R], order: Sequence[str] | None) -> list[R]:
    """One question of each category in turn, each category in pool order."""
    by_category: dict[str, deque[R]] = {}
    for q in pool:
        by_category.setdefault(q.category, deque()).append(q)
    keys = [c for c in (order or CATEGORIES) if c in by_category]
    keys += sorted(k for k in by_category if k not in keys)
    out: list[R] = []
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
    forget_cached_questions(s)
    return added

