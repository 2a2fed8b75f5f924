"""Who drives a live interview when several instances share one database.

Each running process keeps one row in ``instances`` and renews its ``heartbeat_at``
every few seconds (:class:`~vivavoce.store.heartbeat.HeartbeatService`): one write per
process, however many interviews it relays. An interview row names its owner
(``owner_id``) and counts its takes (``lease_generation``); the lease is valid while the
owner's heartbeat is fresher than the TTL. So:

* a relay takes the lease before it drives an interview (:func:`take_lease`, one
  conditional update of the generation: it succeeds when nobody owns it, when the
  owner's heartbeat expired, or on an explicit takeover); a new interview is created
  with its lease already taken (``create_interview(owner_id=…)``);
* a link opened on another instance first asks the owner to hand over
  (:func:`ask_handover`: the generation moves on, the owner stays), and waits until the
  owner has released it (:func:`release_lease`) or its lease expired;
* the instance checks, in one query per heartbeat, which of its leases it has lost
  (:func:`lost_leases`: taken, or a handover asked), and stops those relays;
* a crashed instance's interviews become takeable once its heartbeat expires
  (:func:`expired_leases` lists them); a cleanly stopped one deletes its row, and the
  foreign key clears ``owner_id`` at once.

Times come from the instances' own clocks (as the evaluation jobs' leases do), so the
clocks must agree to well within the TTL (NTP does).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Select, delete, or_, select, tuple_, update

from vivavoce.store.database import Database, one_statement_transaction
from vivavoce.store.interviews import InterviewNotFound
from vivavoce.store.models import Instance, Interview, utcnow

__all__ = [
    "DEFAULT_TTL",
    "Holder",
    "Lease",
    "ask_handover",
    "expired_leases",
    "holds_lease",
    "instance_label",
    "interview_and_holder",
    "lease_holder",
    "lost_leases",
    "new_instance_id",
    "prune_instances",
    "register_instance",
    "release_lease",
    "renew_heartbeat",
    "retire_instance",
    "take_lease",
]

# Three missed heartbeats at the default 3 s interval, with room for a slow write.
DEFAULT_TTL = timedelta(seconds=15)
# Interviews that are over need no driver: their leases are never listed as expired.
_OPEN = ("created", "live")


@dataclass(frozen=True)
class Lease:
    """The right of ``owner_id`` to drive ``interview_id``, as of take ``generation``."""

    interview_id: str
    owner_id: str
    generation: int


def new_instance_id() -> str:
    return str(uuid.uuid4())


def instance_label() -> str:
    """``host:pid``: which process an ``instances`` row is, for an operator."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


async def register_instance(
    db: Database, instance_id: str, *, kind: str = "server", label: str | None = None,
    now: datetime | None = None,
) -> None:
    """Insert this process's row (or refresh it, if it is already there)."""
    now = now or utcnow()
    async with db.session() as s:
        row = await s.get(Instance, instance_id)
        if row is None:
            s.add(Instance(id=instance_id, kind=kind, label=label or instance_label(),
                           started_at=now, heartbeat_at=now))
        else:
            row.heartbeat_at = now
        await s.commit()


async def renew_heartbeat(
    db: Database, instance_id: str, *, kind: str = "server", label: str | None = None,
    now: datetime | None = None,
) -> None:
    """One write: ``heartbeat_at = now``. A row pruned meanwhile (the process was paused
    for a day) is registered again; the leases it had were cleared with it."""
    now = now or utcnow()
    async with db.session() as s:
        result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
            update(Instance).where(Instance.id == instance_id).values(heartbeat_at=now)
        )
        await s.commit()
    if result.rowcount == 0:
        await register_instance(db, instance_id, kind=kind, label=label, now=now)


async def retire_instance(db: Database, instance_id: str) -> None:
    """Delete this process's row on a clean stop: its interviews lose their owner at once
    (``ON DELETE SET NULL``), so another instance may take them without waiting."""
    async with db.session() as s:
        # Cleared explicitly too: the foreign key does it, but only where it is enforced.
        await s.execute(update(Interview).where(Interview.owner_id == instance_id)
                        .values(owner_id=None))
        await s.execute(delete(Instance).where(Instance.id == instance_id))
        await s.commit()


async def prune_instances(db: Database, *, older_than: timedelta,
                          now: datetime | None = None) -> int:
    """Delete rows of processes silent for ``older_than`` (crashed long ago); how many."""
    cutoff = (now or utcnow()) - older_than
    async with db.session() as s:
        stale = select(Instance.id).where(Instance.heartbeat_at < cutoff)
        await s.execute(update(Interview).where(Interview.owner_id.in_(stale))
                        .values(owner_id=None))
        result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
            delete(Instance).where(Instance.heartbeat_at < cutoff)
        )
        await s.commit()
    return int(result.rowcount or 0)


def _holder_of(interview_id: str) -> Select[str | None, int, datetime]:
    """The interview's owner, lease generation and the owner's last heartbeat."""
    return (select(Interview.owner_id, Interview.lease_generation, Instance.heartbeat_at)
            .outerjoin(Instance, Instance.id == Interview.owner_id)
            .where(Interview.id == interview_id))


async def take_lease(
    db: Database, interview_id: str, instance_id: str, *, takeover: bool = False,
    ttl: timedelta = DEFAULT_TTL, now: datetime | None = None,
) -> Lease | None:
    """Make ``instance_id`` the interview's owner; None when another live owner holds it
    (and ``takeover`` is False). Raises InterviewNotFound.

    Succeeds when the interview has no owner, its owner's heartbeat is older than
    ``ttl`` (or its row is gone), the owner is this instance already (a new relay here
    replaces the old one, which the generation tells apart), or on ``takeover``. One
    conditional ``UPDATE … RETURNING``: the check and the write are one statement, so of
    two instances racing, one wins (the database serialises the row's writes and checks
    the condition again on the row the winner left); two takeovers both land in turn, and
    the later one holds.
    """
    cutoff = (now or utcnow()) - ttl
    conditions = [Interview.id == interview_id]
    if not takeover:
        live_owner = (select(Instance.id)
                      .where(Instance.id == Interview.owner_id, Instance.heartbeat_at >= cutoff)
                      .exists())
        conditions.append(or_(Interview.owner_id.is_(None), Interview.owner_id == instance_id,
                              ~live_owner))
    async with db.session() as s:
        await one_statement_transaction(s)
        generation = await s.scalar(
            update(Interview).where(*conditions)
            .values(owner_id=instance_id, lease_generation=Interview.lease_generation + 1)
            .returning(Interview.lease_generation)
            .execution_options(synchronize_session=False)  # a session of its own
        )
        await s.commit()
        if generation is not None:
            return Lease(interview_id, instance_id, int(generation))
        # Held by a live owner, or no such interview (the rare path: one more read).
        if await s.scalar(select(Interview.id).where(Interview.id == interview_id)) is None:
            raise InterviewNotFound(interview_id)
    return None


async def holds_lease(db: Database, lease: Lease) -> bool:
    """Whether ``lease`` is still the interview's current one."""
    return not await lost_leases(db, [lease])


async def lost_leases(db: Database, leases: Iterable[Lease]) -> list[Lease]:
    """Of ``leases``, those no longer current (taken over, or the interview deleted):
    one query for all of them."""
    wanted = list(leases)
    if not wanted:
        return []
    held: set[tuple[str, str | None, int]] = set()
    async with db.session() as s:
        for chunk in _chunks(wanted, 500):
            rows = await s.execute(
                select(Interview.id, Interview.owner_id, Interview.lease_generation).where(
                    tuple_(Interview.id, Interview.owner_id, Interview.lease_generation).in_(
                        [(le.interview_id, le.owner_id, le.generation) for le in chunk]
                    )
                )
            )
            held.update((i, o, g) for i, o, g in rows)
    return [le for le in wanted if (le.interview_id, le.owner_id, le.generation) not in held]


async def release_lease(db: Database, lease: Lease, *, held_here: Collection[int] = ()) -> bool:
    """The relay of ``lease`` ended: clear the owner if the row still names this
    instance, at ``lease``'s generation or at a later one that another instance's
    :func:`ask_handover` wrote (not one of ``held_here``: the generations a newer relay of
    this process holds). False, changing nothing, when another instance owns it now."""
    async with db.session() as s:
        found = (await s.execute(
            select(Interview.owner_id, Interview.lease_generation)
            .where(Interview.id == lease.interview_id)
        )).first()
        if found is None:
            return False
        owner, generation = found
        if owner != lease.owner_id or generation < lease.generation or (
                generation != lease.generation and generation in held_here):
            return False
        result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
            update(Interview)
            .where(Interview.id == lease.interview_id, Interview.owner_id == lease.owner_id,
                   Interview.lease_generation == generation)
            .values(owner_id=None)
            .execution_options(synchronize_session=False)  # a session of its own
        )
        await s.commit()
    return bool(result.rowcount)


@dataclass(frozen=True)
class Holder:
    """Who holds an interview's lease now: ``owner_id`` (None: nobody), the take count,
    and the owner's last heartbeat (None: no owner, or its row is gone)."""

    owner_id: str | None
    generation: int
    heartbeat_at: datetime | None

    def expires_in(self, now: datetime, ttl: timedelta = DEFAULT_TTL) -> timedelta:
        """How long the owner's lease still holds without a new heartbeat (≤ 0: expired)."""
        if self.owner_id is None or self.heartbeat_at is None:
            return timedelta(0)
        return self.heartbeat_at + ttl - now


async def lease_holder(db: Database, interview_id: str) -> Holder:
    """The interview's lease as the row and the owner's heartbeat say. Raises
    InterviewNotFound."""
    async with db.session() as s:
        found = (await s.execute(_holder_of(interview_id))).first()
    if found is None:
        raise InterviewNotFound(interview_id)
    owner, generation, heartbeat = found
    return Holder(owner, int(generation), heartbeat)


async def interview_and_holder(db: Database, interview_id: str) -> tuple[Interview, Holder] | None:
    """The interview's row (freshly read) and its lease's holder, in one query (a link's
    start reads both); None when there is no such interview."""
    async with db.session() as s:
        found = (await s.execute(
            select(Interview, Instance.heartbeat_at)
            .outerjoin(Instance, Instance.id == Interview.owner_id)
            .where(Interview.id == interview_id)
            .execution_options(populate_existing=True)
        )).first()
    if found is None:
        return None
    interview, heartbeat = found
    return interview, Holder(interview.owner_id, int(interview.lease_generation), heartbeat)


async def ask_handover(db: Database, interview_id: str, holder: Holder) -> bool:
    """Ask ``holder``'s instance to hand the interview over: its generation moves on while
    it stays the owner, so its next beat finds its lease lost (:func:`lost_leases`), its
    relay stops, stores its last turns and releases the row (:func:`release_lease`).
    The asker waits for that, then takes the free lease. A compare-and-set: False when
    the row changed meanwhile."""
    async with db.session() as s:
        result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
            update(Interview)
            .where(Interview.id == interview_id, Interview.owner_id == holder.owner_id,
                   Interview.lease_generation == holder.generation)
            .values(lease_generation=holder.generation + 1)
            .execution_options(synchronize_session=False)  # a session of its own
        )
        await s.commit()
    return bool(result.rowcount)


async def expired_leases(
    db: Database, *, ttl: timedelta = DEFAULT_TTL, now: datetime | None = None,
) -> list[str]:
    """Ids of open interviews whose owner's heartbeat is older than ``ttl`` (or whose
    owner's row is gone): their instance died, so a link may resume them anywhere."""
    cutoff = (now or utcnow()) - ttl
    async with db.session() as s:
        rows = await s.scalars(
            select(Interview.id)
            .outerjoin(Instance, Instance.id == Interview.owner_id)
            .where(
                Interview.owner_id.is_not(None),
                Interview.status.in_(_OPEN),
                or_(Instance.id.is_(None), Instance.heartbeat_at < cutoff),
            )
            .order_by(Interview.created_at)
        )
        return list(rows)


def _chunks(items: Sequence[Lease], size: int) -> Iterable[Sequence[Lease]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
