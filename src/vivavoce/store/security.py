"""Data access for the security tables: operator sessions, rate counters, rejected résumés.

Everything here is shared by every worker and instance through the database, which is
why limits and sessions live in tables rather than in process memory (issue 14).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.store.models import OperatorSession, RateCounter, ResumeReject

__all__ = [
    "block",
    "blocked_until",
    "bump",
    "create_session",
    "delete_all_sessions",
    "delete_session",
    "find_reject",
    "get_session",
    "prune",
    "remember_reject",
    "touch_session",
]


# --- operator sessions -----------------------------------------------------------------


async def create_session(
    session: AsyncSession, id_hash: str, token_check: str, now: datetime, expires_at: datetime
) -> None:
    session.add(
        OperatorSession(
            id_hash=id_hash,
            token_check=token_check,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    await session.commit()


async def get_session(session: AsyncSession, id_hash: str) -> OperatorSession | None:
    return await session.get(OperatorSession, id_hash)


async def touch_session(session: AsyncSession, id_hash: str, now: datetime) -> None:
    await session.execute(
        update(OperatorSession).where(OperatorSession.id_hash == id_hash).values(last_seen_at=now)
    )
    await session.commit()


async def delete_session(session: AsyncSession, id_hash: str) -> None:
    await session.execute(delete(OperatorSession).where(OperatorSession.id_hash == id_hash))
    await session.commit()


async def delete_all_sessions(session: AsyncSession) -> int:
    """Every operator session is over (admin token rotated). Returns how many went."""
    result = await session.execute(delete(OperatorSession))
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


# --- rate counters ---------------------------------------------------------------------


async def blocked_until(
    session: AsyncSession, kind: str, subject: str, now: datetime
) -> datetime | None:
    """Until when ``subject`` is refused for ``kind`` (None: it is not)."""
    row = await session.execute(
        select(RateCounter.blocked_until).where(
            RateCounter.kind == kind,
            RateCounter.subject == subject,
            RateCounter.blocked_until > now,
        )
    )
    return row.scalar_one_or_none()


async def bump(
    session: AsyncSession, kind: str, subject: str, now: datetime, window_s: float
) -> tuple[int, datetime]:
    """Count one event; returns the count in the current window and when it began.

    One atomic statement (insert or update), so concurrent workers never lose a count.
    A subject whose last event is older than the window, and that is not refused, starts
    again at 1.
    """
    stale = and_(
        RateCounter.last_at < now - timedelta(seconds=window_s),
        or_(RateCounter.blocked_until.is_(None), RateCounter.blocked_until <= now),
    )
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(RateCounter).values(
        kind=kind, subject=subject, count=1, first_at=now, last_at=now, blocked_until=None
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[RateCounter.kind, RateCounter.subject],
        set_={
            "count": case((stale, 1), else_=RateCounter.count + 1),
            "first_at": case((stale, now), else_=RateCounter.first_at),
            "last_at": now,
        },
    ).returning(RateCounter.count, RateCounter.first_at)
    count, first_at = (await session.execute(upsert)).one()
    await session.commit()
    return int(count), first_at


async def block(session: AsyncSession, kind: str, subject: str, until: datetime) -> None:
    await session.execute(
        update(RateCounter)
        .where(RateCounter.kind == kind, RateCounter.subject == subject)
        .values(blocked_until=until)
    )
    await session.commit()


async def prune(session: AsyncSession, now: datetime, older_than_s: float) -> None:
    """Forget counters nobody touched for a while and sessions past their expiry."""
    cutoff = now - timedelta(seconds=older_than_s)
    await session.execute(
        delete(RateCounter).where(
            RateCounter.last_at < cutoff,
            or_(RateCounter.blocked_until.is_(None), RateCounter.blocked_until < now),
        )
    )
    await session.execute(delete(OperatorSession).where(OperatorSession.expires_at < now))
    await session.commit()


# --- résumés that hit a parsing limit --------------------------------------------------


async def find_reject(session: AsyncSession, sha256: str) -> ResumeReject | None:
    return await session.get(ResumeReject, sha256)


async def remember_reject(
    session: AsyncSession, sha256: str, status: int, code: str, message: str, now: datetime
) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ResumeReject).values(
        sha256=sha256, status=status, code=code, message=message[:500], created_at=now
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=[ResumeReject.sha256]))
    await session.commit()
