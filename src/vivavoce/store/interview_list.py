"""The operator's list of interviews: search, filters, score sort, paging in the database.

One query builder serves the list page, ``GET /api/interviews`` and its CSV export, so the
export holds exactly the rows the list shows (without the paging). Each row carries the
interview and its evaluation's status and overall score (outer join: an interview without
an evaluation has neither).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.store.models import Evaluation, Interview

__all__ = ["InterviewFilter", "ListedInterview", "Sort", "iterate_interviews", "page_interviews"]

Sort = Literal["newest", "oldest", "score_desc", "score_asc"]


@dataclass(frozen=True)
class InterviewFilter:
    """What the operator asked for. ``since`` inclusive, ``until`` exclusive (created)."""

    q: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_score: int | None = None
    max_score: int | None = None
    sort: Sort = "newest"


@dataclass(frozen=True)
class ListedInterview:
    interview: Interview
    evaluation_status: str | None
    overall_score: int | None
    evaluation_result: dict[str, Any] | None = None


def _query(f: InterviewFilter, *, with_result: bool) -> Select[Any]:
    columns: list[Any] = [Interview, Evaluation.status, Evaluation.overall_score]
    if with_result:
        columns.append(Evaluation.result)
    query = select(*columns).outerjoin(Evaluation, Evaluation.interview_id == Interview.id)
    if f.q:
        # The name lives in the candidate JSON (->> on PostgreSQL, json_extract on
        # SQLite); a few hundred rows scan fast, and the name stays in one place.
        needle = f.q.strip().lower()
        query = query.where(
            or_(
                func.lower(Interview.candidate["name"].as_string()).contains(
                    needle, autoescape=True
                ),
                func.lower(Interview.reference).contains(needle, autoescape=True),
            )
        )
    if f.status is not None:
        query = query.where(Interview.status == f.status)
    if f.since is not None:
        query = query.where(Interview.created_at >= f.since)
    if f.until is not None:
        query = query.where(Interview.created_at < f.until)
    if f.min_score is not None:
        query = query.where(Evaluation.overall_score >= f.min_score)
    if f.max_score is not None:
        query = query.where(Evaluation.overall_score <= f.max_score)
    return query


def _ordered(query: Select[Any], sort: Sort) -> Select[Any]:
    if sort == "oldest":
        return query.order_by(Interview.created_at.asc(), Interview.id)
    if sort in ("score_desc", "score_asc"):
        score = Evaluation.overall_score
        # Unscored interviews last either way (NULLS LAST is not portable: sort on it).
        return query.order_by(
            score.is_(None),
            score.desc() if sort == "score_desc" else score.asc(),
            Interview.created_at.desc(),
            Interview.id,
        )
    return query.order_by(Interview.created_at.desc(), Interview.id)


def _row(found: Any) -> ListedInterview:
    return ListedInterview(
        found[0], found[1], found[2], found[3] if len(found) > 3 else None
    )


async def page_interviews(
    s: AsyncSession, f: InterviewFilter, *, limit: int, offset: int
) -> tuple[list[ListedInterview], int]:
    """One page (LIMIT/OFFSET in the database) and how many match in total."""
    if not 1 <= limit <= 1000 or offset < 0:
        raise ValueError("limit must be 1…1000 and offset not negative")
    base = _query(f, with_result=False)
    total = await s.scalar(select(func.count()).select_from(base.subquery()))
    rows = await s.execute(_ordered(base, f.sort).limit(limit).offset(offset))
    return [_row(r) for r in rows], int(total or 0)


async def iterate_interviews(
    s: AsyncSession, f: InterviewFilter, *, batch: int = 500
) -> AsyncIterator[ListedInterview]:
    """Every matching interview with its evaluation result, in the list's order, read a
    batch at a time (the export)."""
    offset = 0
    query = _ordered(_query(f, with_result=True), f.sort)
    while True:
        rows = list(await s.execute(query.limit(batch).offset(offset)))
        for found in rows:
            yield _row(found)
        if len(rows) < batch:
            return
        offset += batch
