"""What a webhook says: the event's ``data`` and the body sent
(``{"type", "timestamp", "data"}``, the Standard Webhooks shape).

``data`` always holds the interview's ``id``, its ``state`` and ``scores`` (null until
evaluated: ``{"overall", "dimensions": {key: 1–5}}``), and, added when sent, the
``results_url`` under ``VIVAVOCE_PUBLIC_URL`` (null when that is unset: no link can be
made without knowing the public address).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.store.models import Interview, WebhookEvent
from vivavoce.store.outbox import add_event

__all__ = ["add_evaluation_event", "event_body", "scores_of"]


def scores_of(overall: int | None, result: dict[str, Any] | None) -> dict[str, Any] | None:
    """``{"overall", "dimensions"}`` from a stored evaluation (None when unscored)."""
    dims = result.get("dimensions") if isinstance(result, dict) else None
    dimensions = {
        d["key"]: d.get("score")
        for d in (dims if isinstance(dims, list) else [])
        if isinstance(d, dict) and isinstance(d.get("key"), str)
    }
    if overall is None and not dimensions:
        return None
    return {"overall": overall, "dimensions": dimensions}


async def add_evaluation_event(
    s: AsyncSession,
    interview_id: str,
    status: str,
    overall: int | None,
    result: dict[str, Any] | None,
    *,
    at: datetime,
) -> None:
    """Add ``evaluation.completed`` to the caller's transaction."""
    state = await s.scalar(select(Interview.status).where(Interview.id == interview_id))
    add_event(
        s,
        "evaluation.completed",
        {
            "id": interview_id,
            "state": state,
            "evaluation_status": status,
            "scores": scores_of(overall, result),
        },
        interview_id=interview_id,
        at=at,
    )


def event_body(event: WebhookEvent, public_url: str | None) -> str:
    """The JSON body, compact and stable (the same bytes on every attempt)."""
    data = dict(event.data)
    if event.interview_id is not None:
        data["results_url"] = (
            f"{public_url.rstrip('/')}/results/{event.interview_id}" if public_url else None
        )
    stamp = event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {"type": event.type, "timestamp": stamp, "data": data},
        separators=(",", ":"), ensure_ascii=False,
    )
