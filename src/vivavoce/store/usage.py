"""Usage and cost over time, for the operator's usage page and the metrics.

Two things spend money: the interviews (Realtime audio and text tokens, summed on the
interview row; a simulated interview, run against the built-in simulator, spends nothing
and is counted apart, without its tokens) and their evaluations (a text model's input and output tokens, summed on
the evaluation row over every attempt and re-run). Both are reported here, per UTC day
and model, so the operator sees all spend in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.store.models import Evaluation, Interview

__all__ = ["TOKEN_FIELDS", "usage_summary"]

TOKEN_FIELDS = (
    "input_text_tokens",
    "input_audio_tokens",
    "input_cached_tokens",
    "output_text_tokens",
    "output_audio_tokens",
)


def _utc_day(s: AsyncSession, column: Any) -> ColumnElement[Any]:
    if s.get_bind().dialect.name == "postgresql":
        # timestamptz -> the UTC calendar day, whatever the server's TimeZone setting.
        return cast(func.timezone("UTC", column), Date)
    # SQLite stores naive UTC text; date() takes its calendar day.
    return func.date(column)


def _empty_row(day: str, model: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {"day": day, "model": model, "interviews": 0,
                           "simulated_interviews": 0, "evaluations": 0}
    row.update(dict.fromkeys(TOKEN_FIELDS, 0))
    row.update(cost_usd=0.0, interview_cost_usd=0.0, evaluation_cost_usd=0.0)
    return row


async def _interview_rows(
    s: AsyncSession, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    day = _utc_day(s, Interview.created_at)
    columns = [getattr(Interview, name) for name in TOKEN_FIELDS]

    def billed(value: Any) -> ColumnElement[Any]:
        # A simulated interview's tokens are the fake's: nothing was billed for them.
        return func.coalesce(func.sum(case((Interview.simulated, 0), else_=value)), 0)

    query = (
        select(
            day.label("day"),
            Interview.model,
            billed(1).label("interviews"),
            func.coalesce(func.sum(case((Interview.simulated, 1), else_=0)), 0).label(
                "simulated_interviews"),
            *(billed(c).label(c.key) for c in columns),
            billed(Interview.cost_usd).label("cost_usd"),
        )
        .group_by(day, Interview.model)
    )
    if since is not None:
        query = query.where(Interview.created_at >= since)
    if until is not None:
        query = query.where(Interview.created_at < until)
    return [dict(row) for row in (await s.execute(query)).mappings()]


async def _evaluation_rows(
    s: AsyncSession, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    day = _utc_day(s, Evaluation.created_at)
    query = (
        select(
            day.label("day"),
            Evaluation.model,
            func.count().label("evaluations"),
            func.coalesce(func.sum(Evaluation.input_tokens), 0).label("input_tokens"),
            func.coalesce(func.sum(Evaluation.output_tokens), 0).label("output_tokens"),
            func.coalesce(func.sum(Evaluation.cost_usd), 0).label("cost_usd"),
        )
        # A job that never reached the model (still pending, or failed before the call)
        # spent nothing; counting it would add empty "unknown model" rows.
        .where(
            or_(
                Evaluation.input_tokens > 0,
                Evaluation.output_tokens > 0,
                Evaluation.cost_usd > 0,
            )
        )
        .group_by(day, Evaluation.model)
    )
    if since is not None:
        query = query.where(Evaluation.created_at >= since)
    if until is not None:
        query = query.where(Evaluation.created_at < until)
    return [dict(row) for row in (await s.execute(query)).mappings()]


async def usage_summary(
    s: AsyncSession, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Tokens and cost per UTC day and model (interviews and evaluations), oldest day first.

    Each row: ``day`` (``YYYY-MM-DD``), ``model``, ``interviews`` (billed),
    ``simulated_interviews`` (run against the simulator: no tokens, no cost counted),
    ``evaluations`` and the
    sums of ``input_text_tokens``, ``input_audio_tokens``, ``input_cached_tokens``,
    ``output_text_tokens``, ``output_audio_tokens``, ``cost_usd`` (with its split into
    ``interview_cost_usd`` and ``evaluation_cost_usd``). An evaluation's input and output
    tokens are text tokens. Interviews count on the day they were created, evaluations on
    the day they were first queued (re-runs add to that day); ``since`` is inclusive,
    ``until`` exclusive. Raises SQLAlchemy's errors when the database cannot be read.
    """
    rows: dict[tuple[str, str | None], dict[str, Any]] = {}

    def row_for(day: Any, model: str | None) -> dict[str, Any]:
        key = (str(day), model)
        if key not in rows:
            rows[key] = _empty_row(*key)
        return rows[key]

    for found in await _interview_rows(s, since, until):
        row = row_for(found["day"], found["model"])
        row["interviews"] += int(found["interviews"])
        row["simulated_interviews"] += int(found["simulated_interviews"])
        for name in TOKEN_FIELDS:
            row[name] += int(found[name])
        row["interview_cost_usd"] += float(found["cost_usd"])
    for found in await _evaluation_rows(s, since, until):
        row = row_for(found["day"], found["model"])
        row["evaluations"] += int(found["evaluations"])
        row["input_text_tokens"] += int(found["input_tokens"])
        row["output_text_tokens"] += int(found["output_tokens"])
        row["evaluation_cost_usd"] += float(found["cost_usd"])
    for row in rows.values():
        row["cost_usd"] = round(row["interview_cost_usd"] + row["evaluation_cost_usd"], 6)
        row["interview_cost_usd"] = round(row["interview_cost_usd"], 6)
        row["evaluation_cost_usd"] = round(row["evaluation_cost_usd"], 6)
    # An unknown model (None) sorts after named ones within its day.
    return sorted(rows.values(), key=lambda r: (r["day"], r["model"] is None, r["model"] or ""))
