"""Webhook deliveries in the database: fan-out, claim, outcome, "send again". One
transaction each.

* **Fan-out.** An outbox event becomes one delivery per endpoint (the settings' endpoint
  and each enabled one from the pages). Compare-and-set on ``fanned_out`` makes exactly one
  instance do it, in the same transaction as the delivery rows.
* **Claim.** As evaluation jobs do: ``next_attempt_at`` is "due at" while ``pending`` and
  "lease ends at" while ``sending``; a claim is compare-and-set on ``(status, attempts)``
  and an outcome also on the lease end, so two instances never send one delivery at once
  and a sender whose lease ran out cannot overwrite a newer outcome.
* **Backoff.** Exponential (``base × 2^(attempt-1)``, capped), until ``give_up_at`` (a
  day after it was queued) has passed: then ``failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.store.claims import claim_oldest_due
from vivavoce.store.database import Database
from vivavoce.store.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)

__all__ = [
    "RETRY_FOR",
    "Backoff",
    "DeliveryClaim",
    "claim_next",
    "fan_out",
    "prune",
    "record_attempt",
    "send_again",
]

RETRY_FOR = timedelta(days=1)


@dataclass(frozen=True)
class Backoff:
    base_s: float = 10.0
    max_s: float = 3600.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.max_s, self.base_s * 2 ** max(0, attempts - 1)))


async def fan_out(
    db: Database, *, settings_url: str | None, now: datetime | None = None, batch: int = 100
) -> int:
    """Turn new outbox events into deliveries; returns how many events were fanned out."""
    now = now or utcnow()
    done = 0
    async with db.session() as s:
        events = list(
            await s.execute(
                select(WebhookEvent.id)
                .where(WebhookEvent.fanned_out.is_(False))
                .order_by(WebhookEvent.created_at)
                .limit(batch)
            )
        )
        if not events:  # the usual poll: nothing new, no endpoints to read
            return 0
        endpoints = list(
            await s.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.url).where(
                    WebhookEndpoint.enabled.is_(True)
                )
            )
        )
        await s.rollback()
        targets: list[tuple[int | None, str]] = [(e.id, e.url) for e in endpoints]
        if settings_url:
            targets.insert(0, (None, settings_url))
        if not targets:
            # No endpoint now: the events go nowhere, as they would one by one, in one
            # statement (a service without webhooks marks every start and end here).
            marked: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
                update(WebhookEvent)
                .where(WebhookEvent.id.in_([event_id for (event_id,) in events]),
                       WebhookEvent.fanned_out.is_(False))
                .values(fanned_out=True)
            )
            await s.commit()
            return int(marked.rowcount or 0)
        for (event_id,) in events:
            taken: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id, WebhookEvent.fanned_out.is_(False))
                .values(fanned_out=True)
            )
            if taken.rowcount == 1:
                for endpoint_id, url in targets:
                    s.add(WebhookDelivery(
                        event_id=event_id, endpoint_id=endpoint_id, url=url, status="pending",
                        attempts=0, next_attempt_at=None, created_at=now, updated_at=now,
                        give_up_at=now + RETRY_FOR,
                    ))
                done += 1
            await s.commit()
    return done


@dataclass(frozen=True)
class DeliveryClaim:
    delivery_id: int
    event_id: str
    endpoint_id: int | None
    url: str
    attempts: int
    lease_until: datetime
    give_up_at: datetime


async def claim_next(
    db: Database, *, lease: timedelta, now: datetime | None = None, max_tries: int = 5
) -> DeliveryClaim | None:
    """Take the oldest due delivery: pending and due, or sending with an expired lease."""
    claimed = await claim_oldest_due(
        db, WebhookDelivery, held="sending", now=now or utcnow(), lease=lease,
        columns=(WebhookDelivery.event_id, WebhookDelivery.endpoint_id, WebhookDelivery.url,
                 WebhookDelivery.give_up_at),
        max_tries=max_tries)
    if claimed is None:
        return None
    row, lease_until = claimed
    return DeliveryClaim(row.id, row.event_id, row.endpoint_id, row.url, row.attempts + 1,
                         lease_until, row.give_up_at)


async def record_attempt(
    db: Database,
    claim: DeliveryClaim,
    *,
    status_code: int | None,
    error: str | None,
    backoff: Backoff,
    now: datetime | None = None,
) -> str | None:
    """Log the attempt and set the outcome if this sender still holds the delivery: a 2xx
    is ``delivered``; otherwise ``pending`` again after the backoff, or ``failed`` past
    ``give_up_at``. Returns the new status, or None when the claim was lost."""
    now = now or utcnow()
    ok = status_code is not None and 200 <= status_code < 300
    if ok:
        values: dict[str, Any] = {"status": "delivered", "delivered_at": now,
                                  "next_attempt_at": None}
    else:
        retry_at = now + backoff.delay(claim.attempts)
        if retry_at > claim.give_up_at:
            values = {"status": "failed", "next_attempt_at": None}
        else:
            values = {"status": "pending", "next_attempt_at": retry_at}
    values.update(last_status_code=status_code, last_error=error, updated_at=now)
    async with db.session() as s:
        result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claim.delivery_id,
                WebhookDelivery.status == "sending",
                WebhookDelivery.attempts == claim.attempts,
                WebhookDelivery.next_attempt_at == claim.lease_until,
            )
            .values(**values)
        )
        if result.rowcount != 1:
            await s.rollback()
            return None
        s.add(WebhookAttempt(delivery_id=claim.delivery_id, at=now,
                             status_code=status_code, error=error))
        await s.commit()
    return str(values["status"])


async def send_again(s: AsyncSession, delivery_id: int, *, now: datetime | None = None) -> bool:
    """The operator's "send again": due at once, with a fresh day of retries. False when
    there is no such delivery, or it is being sent right now."""
    now = now or utcnow()
    result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status != "sending")
        .values(status="pending", next_attempt_at=None, give_up_at=now + RETRY_FOR,
                updated_at=now)
    )
    await s.commit()
    return bool(result.rowcount == 1)


async def prune(db: Database, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Forget events (and their deliveries and attempts) older than ``older_than`` whose
    deliveries are all finished. Returns how many events went."""
    cutoff = (now or utcnow()) - older_than
    unfinished = select(WebhookDelivery.event_id).where(
        WebhookDelivery.status.in_(("pending", "sending"))
    )
    async with db.session() as s:
        result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
            delete(WebhookEvent).where(
                WebhookEvent.created_at < cutoff,
                WebhookEvent.fanned_out.is_(True),
                WebhookEvent.id.not_in(unfinished),
            )
        )
        await s.commit()
        return int(result.rowcount or 0)
