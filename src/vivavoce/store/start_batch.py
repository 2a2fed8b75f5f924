"""A start's new interview row: on SQLite, the starts waiting at that moment in one insert.

In a start storm (200 ``start_interview`` within 2 s) every start inserts its interview
while the relays already running write their turns. On SQLite those writes go one at
a time (store/write_gate.py), and each one costs several trips between the event loop
and aiosqlite's thread (checkout, statement, fetch, commit, the pool's reset): with the
loop busy, each trip waits its turn, so one insert held the writer for ~10 ms and the
starts queued behind each other (docs/performance.md, "The start storm (session 7)").
Here the inserts that arrive while one is under way wait for it and then go together:
one ``INSERT … VALUES (…), (…) … RETURNING`` in one transaction, their rows handed back
to each caller. Alone, a start's insert is one row, as before.

On PostgreSQL each start inserts its own row (writers do not exclude each other there;
and SQLAlchemy's many-row insert fails on asyncpg with the owner's sub-select, see
tests/store/test_start_batch.py).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.store.database import Database, one_statement_transaction
from vivavoce.store.interviews import INSERT_INTERVIEWS, create_interview, interview_values
from vivavoce.store.models import Interview
from vivavoce.store.write_gate import serialized_write

__all__ = ["MAX_ROWS", "insert_new_interview"]

# Rows per insert: 12 parameters a row, under SQLite's 32,766 variables per statement
# with a wide margin (SQLAlchemy splits a larger batch itself, in one transaction).
MAX_ROWS = 200


class _Batcher:
    """The inserts waiting on one database in one event loop, and the task writing them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.queue: list[tuple[dict[str, Any], asyncio.Future[Interview]]] = []
        self.task: asyncio.Task[None] | None = None

    def add(self, values: dict[str, Any]) -> asyncio.Future[Interview]:
        future: asyncio.Future[Interview] = asyncio.get_running_loop().create_future()
        self.queue.append((values, future))
        if self.task is None:
            self.task = asyncio.create_task(self._run(), name="start-batch")
        return future

    async def _run(self) -> None:
        try:
            while self.queue:
                # Taken once this task holds the writer: what arrived meanwhile goes too.
                async with serialized_write(self.db, first=True):
                    batch, self.queue = self.queue[:MAX_ROWS], self.queue[MAX_ROWS:]
                    batch = [(v, f) for v, f in batch if not f.cancelled()]
                    if batch:
                        await self._insert(batch)
        finally:
            self.task = None

    async def _insert(self, batch: list[tuple[dict[str, Any], asyncio.Future[Interview]]]) -> None:
        try:
            async with self.db.session() as s:
                await one_statement_transaction(s)
                result = await s.execute(INSERT_INTERVIEWS, [v for v, _ in batch])
                rows = result.all()
                await s.commit()
        except Exception as exc:
            # Rows we built with fresh ids: what fails is the database, for all of them.
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), row in zip(batch, rows, strict=True):
            if not future.done():
                future.set_result(Interview(**row._mapping))


_batchers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[AsyncEngine, _Batcher]] = (
    weakref.WeakKeyDictionary())


async def insert_new_interview(db: Database, *, candidate: CandidateContext,
                               settings: InterviewSettings,
                               owner_id: str | None = None) -> Interview:
    """Store a start's new interview (status ``created``, its lease taken when
    ``owner_id`` is given: :func:`~vivavoce.store.interviews.create_interview`) and
    return its row. On SQLite, batched with the other starts waiting for the writer."""
    if db.dialect != "sqlite":
        async with db.session() as s:
            return await create_interview(s, candidate=candidate, settings=settings,
                                          owner_id=owner_id)
    per_db = _batchers.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    batcher = per_db.get(db.engine)
    if batcher is None:
        batcher = per_db[db.engine] = _Batcher(db)
    values = interview_values(candidate=candidate, settings=settings, owner_id=owner_id)
    # A start given up (its task cancelled) before its batch went leaves it; once it
    # went, its row is stored all the same, as a single insert cut short may be.
    return await batcher.add(values)
