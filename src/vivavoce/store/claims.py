"""Claiming the oldest due row of a work queue, by compare-and-set: the evaluation jobs
and the webhook deliveries.

A row is due when it is ``pending`` and its ``next_attempt_at`` is unset or past, or when
it is held (``running``, ``sending``) and its lease — ``next_attempt_at`` again — has
expired (its holder died). Claiming sets the held status, ``attempts + 1`` and the new
lease, only if status and attempts are still what was read: of two workers (or
instances) racing for a row, one wins and the other looks again. No lock is held
between the read and the write, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.engine import CursorResult

from vivavoce.store.database import Database

__all__ = ["claim_oldest_due"]


async def claim_oldest_due(
    db: Database,
    model: Any,
    *,
    held: str,
    columns: tuple[Any, ...],
    now: datetime,
    lease: timedelta,
    max_tries: int = 5,
) -> tuple[Row[Any], datetime] | None:
    """Claim the oldest due row of ``model`` (a table with ``id``, ``status``,
    ``attempts``, ``next_attempt_at``, ``updated_at``) for ``lease``. Returns the row as
    read (``id``, ``status``, ``attempts``, then ``columns``; ``attempts`` before this
    claim) and the lease's end, or None when nothing is due (or others kept winning)."""
    due = or_(
        and_(model.status == "pending",
             or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now)),
        and_(model.status == held, model.next_attempt_at <= now),
    )
    for _ in range(max_tries):
        async with db.session() as s:
            row = (
                await s.execute(
                    select(model.id, model.status, model.attempts, *columns)
                    .where(due).order_by(model.id).limit(1)
                )
            ).first()
            if row is None:
                return None
            lease_until = now + lease
            result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
                update(model)
                .where(model.id == row.id, model.status == row.status,
                       model.attempts == row.attempts)
                .values(status=held, attempts=row.attempts + 1, next_attempt_at=lease_until,
                        updated_at=now)
            )
            await s.commit()
            if result.rowcount == 1:
                return row, lease_until
        # Another worker took it first: look again.
    return None
