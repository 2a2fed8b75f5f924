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
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.interview.candidate import BankField, BankLevel, clean_text
from vivavoce.store.models import Question
from vivavoce.store.question_bank import BuiltinQuestion, builtin_questions

__all__ = [
    "CATEGORIES",
    "FileProblem",
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


@dataclass(frozen=True)
class FileProblem:
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class QuestionFileError(ValueError):
    """The file cannot be imported; ``problems`` lists every problem with its line."""

    def __init__(self, problems: list[FileProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line each mapping starts on."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def parse_question_file(text: str) -> list[QuestionIn]:
    """Validate a YAML/JSON question file. Raises :class:`QuestionFileError` listing every
    problem with its line number (nothing is imported if anything is wrong)."""
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise QuestionFileError([FileProblem(line, f"not valid YAML/JSON: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise QuestionFileError([FileProblem(None, f"not valid YAML/JSON: {exc}")]) from None
    if isinstance(data, dict) and "questions" in data:
        data = data["questions"]
    if not isinstance(data, list):
        raise QuestionFileError(
            [FileProblem(1, "expected a list of questions (or a mapping with 'questions:')")]
        )
    if not data:
        raise QuestionFileError([FileProblem(1, "the file contains no questions")])
    problems: list[FileProblem] = []
    parsed: list[QuestionIn] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            problems.append(FileProblem(None, f"question {index}: expected a mapping"))
            continue
        line = item.pop("__line__", None)
        try:
            parsed.append(QuestionIn.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "question"
                problems.append(FileProblem(line, f"{where}: {err['msg']}"))
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

