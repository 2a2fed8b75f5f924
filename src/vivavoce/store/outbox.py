"""The webhook outbox: an event row added inside the caller's own transaction.

The store functions that change an interview (``mark_live``, ``mark_ended``) and the
evaluation's ``finish`` add their event here before they commit, so the event exists if
and only if the change does: a crash between the two cannot lose one or invent one. The
delivery side (:mod:`vivavoce.webhooks`) reads the table later, on any instance.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.store.models import WebhookEvent, utcnow

__all__ = ["EVENT_TYPES", "add_event", "insert_event", "new_event_id"]

EVENT_TYPES = ("interview.started", "interview.ended", "evaluation.completed", "budget.warning")


def new_event_id() -> str:
    """``msg_`` and 32 hex digits: unique, and the receiver's idempotency key."""
    return f"msg_{uuid.uuid4().hex}"


def _event_row(type: str, data: dict[str, Any], interview_id: str | None,
               event_id: str | None, at: datetime | None) -> dict[str, Any]:
    """One event's columns, as both writers store it; ValueError for an unknown type."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    return {"id": event_id or new_event_id(), "type": type, "interview_id": interview_id,
            "data": data, "created_at": at or utcnow(), "fanned_out": False}


def add_event(
    s: AsyncSession,
    type: str,
    data: dict[str, Any],
    *,
    interview_id: str | None = None,
    event_id: str | None = None,
    at: datetime | None = None,
) -> WebhookEvent:
    """Add the event to ``s`` (not committed: the caller's commit writes it with the change
    it reports). Raises ValueError for an unknown type."""
    event = WebhookEvent(**_event_row(type, data, interview_id, event_id, at))
    s.add(event)
    return event


_INSERT_EVENT = insert(cast(Table, WebhookEvent.__table__))


async def insert_event(
    s: AsyncSession,
    type: str,
    data: dict[str, Any],
    *,
    interview_id: str | None = None,
    at: datetime | None = None,
) -> str:
    """:func:`add_event` as one INSERT run now, in ``s``'s transaction (still the
    caller's commit): no ORM object to flush. For going live, on every start. Returns
    the event's id; raises ValueError for an unknown type."""
    row = _event_row(type, data, interview_id, None, at)
    await s.execute(_INSERT_EVENT, row)
    return str(row["id"])
