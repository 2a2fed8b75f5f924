"""On SQLite, this process's relay writes one at a time, an interview's start first.

SQLite lets one connection write at a time. A second writer finds the file locked and
sleeps in SQLite's busy handler (1, 2, 5, 10 … 100 ms between tries) while it holds its
pool connection. In a start storm (200 ``start_interview`` within 2 s) each start and
each relay writes several times, so up to the pool's 15 connections collided at once:
their sleeps held the connections, and every other start waited for the pool
(docs/performance.md, "The start storm (session 7)": the start's insert waited p50
0.4 s for a connection, 1.3 ms for its statement). Here the writers wait on an asyncio
lock instead, in order, and each takes its turn without sleeping.

Two queues: a start's write (the new interview's ``INSERT``, which the candidate waits
for) goes before the relays' writes waiting (going live, turns, usage, the end, which
nobody waits for; each relay's writer keeps its own order). On PostgreSQL writers
do not exclude each other: nothing is serialized there.

Not ``asyncio.Lock``: it has one queue. No library found has a priority lock for
asyncio (aiorwlock is readers/writers, anyio's locks are FIFO), and this is two deques.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine

from vivavoce.store.database import Database

__all__ = ["WriteGate", "serialized_write", "write_gate"]


class WriteGate:
    """A lock with two waiting lines: ``first`` waiters before the others, each in the
    order they came. Bound to the event loop it is used in."""

    def __init__(self) -> None:
        self._held = False
        self._first: deque[asyncio.Future[None]] = deque()
        self._later: deque[asyncio.Future[None]] = deque()

    @property
    def held(self) -> bool:
        return self._held

    @property
    def waiting(self) -> int:
        return len(self._first) + len(self._later)

    async def acquire(self, *, first: bool = False) -> None:
        if not self._held and not self._first and not self._later:
            self._held = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line = self._first if first else self._later
        line.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed the gate as it was cancelled: pass it on
            else:
                line.remove(waiter)
            raise

    def _release(self) -> None:
        for line in (self._first, self._later):
            while line:
                waiter = line.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # still held: handed over to this waiter
                    return
        self._held = False

    def release(self) -> None:
        if not self._held:
            raise RuntimeError("WriteGate.release() of a gate not held")
        self._release()

    @contextlib.asynccontextmanager
    async def hold(self, *, first: bool = False) -> AsyncIterator[None]:
        await self.acquire(first=first)
        try:
            yield
        finally:
            self.release()


# Per event loop (tests run several), per database engine.
_gates: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[AsyncEngine, WriteGate]] = (
    weakref.WeakKeyDictionary())


def write_gate(db: Database) -> WriteGate | None:
    """This loop's gate for ``db``; None on PostgreSQL (no gate)."""
    if db.dialect != "sqlite":
        return None
    per_db = _gates.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    gate = per_db.get(db.engine)
    if gate is None:
        gate = per_db[db.engine] = WriteGate()
    return gate


@contextlib.asynccontextmanager
async def serialized_write(db: Database, *, first: bool = False) -> AsyncIterator[None]:
    """Hold ``db``'s write gate around one write session (open the session inside):
    ``first`` for a start's write. Nothing on PostgreSQL."""
    gate = write_gate(db)
    if gate is None:
        yield
        return
    async with gate.hold(first=first):
        yield
