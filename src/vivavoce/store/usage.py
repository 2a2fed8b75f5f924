"""Usage and cost over time, for the operator's usage page and the metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.store.models import Interview

__all__ = ["usage_summary"]


async def usage_summary(
    s: AsyncSession, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Tokens and cost per UTC day and model, oldest day first.

    Each row: ``day`` (``YYYY-MM-DD``), ``model``, ``interviews`` and the sums of
    ``input_text_tokens``, ``input_audio_tokens``, ``input_cached_tokens``,
    ``output_text_tokens``, ``output_audio_tokens``, ``cost_usd``. Interviews are counted
    on the day they were created; ``since`` is inclusive, ``until`` exclusive.
    """
    dialect = s.get_bind().dialect.name
    day: ColumnElement[Any]
    if dialect == "postgresql":
        # timestamptz -> the UTC calendar day, whatever the server's TimeZone setting.
        day = cast(func.timezone("UTC", Interview.created_at), Date)
    else:
        # SQLite stores naive UTC text; date() takes its calendar day.
        day = func.date(Interview.created_at)
    token_columns = (
        Interview.input_text_tokens,
        Interview.input_audio_tokens,
        Interview.input_cached_tokens,
        Interview.output_text_tokens,
        Interview.output_audio_tokens,
    )
    query = (
        select(
            day.label("day"),
            Interview.model,
            func.count().label("interviews"),
            *(func.coalesce(func.sum(c), 0).label(c.key) for c in token_columns),
            func.coalesce(func.sum(Interview.cost_usd), 0).label("cost_usd"),
        )
        .group_by(day, Interview.model)
        .order_by(day, Interview.model)
    )
    if since is not None:
        query = query.where(Interview.created_at >= since)
    if until is not None:
        query = query.where(Interview.created_at < until)
    rows = []
    for row in (await s.execute(query)).mappings():
        entry = dict(row)
        entry["day"] = str(entry["day"])
        entry["interviews"] = int(entry["interviews"])
        for c in token_columns:
            entry[c.key] = int(entry[c.key])
        entry["cost_usd"] = round(float(entry["cost_usd"]), 6)
        rows.append(entry)
    return rows
