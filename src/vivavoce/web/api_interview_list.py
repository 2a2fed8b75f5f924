"""``GET /api/interviews``: the operator's list (search, filters, score sort, paging in the
database) and, with ``?format=csv``, the same rows as a spreadsheet export.

States and end reasons come with words (``status_text``, ``end_reason_text``) next to
their codes; times are null where the event did not happen (an interview never started
has no ``started_at`` and no duration).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Response
from pydantic import BaseModel

from vivavoce.runtime import Runtime
from vivavoce.store.interview_list import (
    InterviewFilter,
    ListedInterview,
    Sort,
    iterate_interviews,
    page_interviews,
)
from vivavoce.web.csv_export import csv_document
from vivavoce.web.deps import AdminDep, SessionDep
from vivavoce.web.errors import ApiError
from vivavoce.web.words import end_reason_words, state_words

__all__ = ["InterviewPage", "InterviewSummary", "install", "on_shutdown", "on_startup", "router"]

router = APIRouter(prefix="/api", tags=["interviews"])


class InterviewSummary(BaseModel):
    id: str
    status: str
    status_text: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: int | None
    candidate_name: str | None
    field: str | None
    level: str | None
    target_role: str | None
    reference: str | None
    model: str | None
    end_reason: str | None
    end_reason_text: str | None
    evaluation_status: str | None
    overall_score: int | None
    cost_usd: float


class InterviewPage(BaseModel):
    items: list[InterviewSummary]
    total: int
    limit: int
    offset: int


def _duration(row: ListedInterview) -> int | None:
    i = row.interview
    if i.started_at is None or i.ended_at is None:
        return None
    return max(0, round((i.ended_at - i.started_at).total_seconds()))


def _summary(row: ListedInterview) -> InterviewSummary:
    i = row.interview
    candidate = i.candidate if isinstance(i.candidate, dict) else {}
    return InterviewSummary(
        id=i.id,
        status=i.status,
        status_text=state_words(i.status),
        created_at=i.created_at,
        started_at=i.started_at,
        # A created interview may carry a failed attempt's reason: that is not an end.
        ended_at=i.ended_at if i.status in ("ended", "failed") else None,
        duration_s=_duration(row),
        candidate_name=candidate.get("name"),
        field=candidate.get("field") or None,
        level=candidate.get("level") or None,
        target_role=candidate.get("target_role") or None,
        reference=i.reference,
        model=i.model,
        end_reason=i.end_reason,
        end_reason_text=end_reason_words(i.end_reason),
        evaluation_status=row.evaluation_status,
        overall_score=row.overall_score,
        cost_usd=i.cost_usd,
    )


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ApiError(
            422, "invalid_input", f"'{name}' is out of range.", [{"loc": ["query", name]}]
        ) from None


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _dimension_scores(result: dict[str, Any] | None) -> dict[str, tuple[str, int | None]]:
    dims = result.get("dimensions") if isinstance(result, dict) else None
    found: dict[str, tuple[str, int | None]] = {}
    for dim in dims if isinstance(dims, list) else []:
        if isinstance(dim, dict) and isinstance(dim.get("key"), str):
            score = dim.get("score")
            found[dim["key"]] = (
                str(dim.get("name") or dim["key"]),
                score if isinstance(score, int) else None,
            )
    return found


def _csv(rows: list[ListedInterview]) -> str:
    # Per-dimension columns: every dimension any exported evaluation has, in the order
    # first met (the rubric's order; an edited rubric adds its new ones at the end).
    dimensions: dict[str, str] = {}
    scores = [_dimension_scores(r.evaluation_result) for r in rows]
    for found in scores:
        for key, (name, _) in found.items():
            dimensions.setdefault(key, name)
    header = [
        "id", "candidate", "reference", "field", "level", "role", "state", "end reason",
        "invited (UTC)", "started (UTC)", "duration (s)", "evaluation", "overall score",
        *(f"{name} score" for name in dimensions.values()),
    ]
    body = []
    for row, found in zip(rows, scores, strict=True):
        s = _summary(row)
        body.append([
            s.id, s.candidate_name, s.reference, s.field, s.level, s.target_role,
            s.status_text, s.end_reason_text, _iso(s.created_at), _iso(s.started_at),
            s.duration_s, s.evaluation_status, s.overall_score,
            *(found.get(key, ("", None))[1] for key in dimensions),
        ])
    return csv_document(header, body)


@router.get(
    "/interviews",
    response_model=InterviewPage,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def list_interviews(
    _admin: AdminDep,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200, description="Name or reference contains.")] = None,
    status: Annotated[Literal["created", "live", "ended", "failed"] | None, Query()] = None,
    since: Annotated[datetime | None, Query(description="Created at or after (UTC).")] = None,
    until: Annotated[datetime | None, Query(description="Created before (UTC).")] = None,
    min_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    max_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    sort: Annotated[Sort, Query()] = "newest",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Interviews (operator only), newest first unless sorted by score. ``format=csv``:
    every matching interview (no paging) as a spreadsheet download."""
    flt = InterviewFilter(
        q=(q or "").strip() or None,
        status=status,
        since=_utc(since, "since"),
        until=_utc(until, "until"),
        min_score=min_score,
        max_score=max_score,
        sort=sort,
    )
    if format == "csv":
        rows = [row async for row in iterate_interviews(session, flt)]
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        return Response(
            _csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="interviews-{stamp}.csv"'},
        )
    items, total = await page_interviews(session, flt, limit=limit, offset=offset)
    return InterviewPage(
        items=[_summary(r) for r in items], total=total, limit=limit, offset=offset
    )


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    return None


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    return None
