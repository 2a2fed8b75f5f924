"""store/write_gate.py: on SQLite the process's relay writes one at a time, a start's first."""

from __future__ import annotations

import asyncio

import pytest

from tests.store.test_interviews import CANDIDATE, SETTINGS
from vivavoce.interview.actions import AddUsage
from vivavoce.pricing import TokenUsage
from vivavoce.store import interviews as store
from vivavoce.store.database import Database
from vivavoce.store.write_gate import WriteGate, serialized_write, write_gate


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_starts_go_first_then_the_others_in_order() -> None:
    gate = WriteGate()
    order: list[str] = []

    async def write(name: str, *, first: bool = False) -> None:
        async with gate.hold(first=first):
            order.append(name)
            await asyncio.sleep(0)

    await gate.acquire()
    tasks = [asyncio.create_task(write("turn 1")), asyncio.create_task(write("turn 2"))]
    await _settle()
    tasks.append(asyncio.create_task(write("start 1", first=True)))
    tasks.append(asyncio.create_task(write("start 2", first=True)))
    await _settle()
    assert gate.waiting == 4 and order == []
    gate.release()
    await asyncio.gather(*tasks)
    assert order == ["start 1", "start 2", "turn 1", "turn 2"]
    assert not gate.held and gate.waiting == 0


async def test_a_cancelled_waiter_never_keeps_the_gate() -> None:
    gate = WriteGate()
    await gate.acquire()
    gone = asyncio.create_task(gate.acquire())
    after = asyncio.create_task(gate.acquire(first=True))
    await _settle()
    gone.cancel()
    await _settle()
    gate.release()  # handed to `after`, past the cancelled one
    await asyncio.wait_for(after, 5)
    assert gate.held
    # Handed over and cancelled in the same turn: passed on, not lost.
    late = asyncio.create_task(gate.acquire())
    last = asyncio.create_task(gate.acquire())
    await _settle()
    gate.release()
    late.cancel()
    await asyncio.wait_for(last, 5)
    assert gate.held and gate.waiting == 0
    gate.release()
    assert not gate.held
    with pytest.raises(RuntimeError):
        gate.release()


async def test_a_relay_write_waits_for_the_gate_on_sqlite_only(db: Database) -> None:
    """The relay's store action holds the gate around its session: while something else
    holds it, the write does not happen (SQLite); PostgreSQL has no gate."""
    async with db.session() as s:
        interview = await store.create_interview(s, candidate=CANDIDATE, settings=SETTINGS)
    runtime = _RuntimeStub(db)
    usage = AddUsage(usage=TokenUsage(input_text=5), cost_usd=0.5)
    from vivavoce.web.voice_store import store_action

    gate = write_gate(db)
    if gate is None:
        assert db.dialect == "postgresql"
        await store_action(runtime, interview.id, usage, simulated=False)  # type: ignore[arg-type]
    else:
        await gate.acquire()
        write = asyncio.create_task(
            store_action(runtime, interview.id, usage, simulated=False))  # type: ignore[arg-type]
        await asyncio.sleep(0.2)
        assert not write.done()
        assert await _tokens(db, interview.id) == 0
        gate.release()
        await asyncio.wait_for(write, 10)
    assert await _tokens(db, interview.id) == 5


async def test_serialized_write_is_one_gate_per_database_and_loop(tmp_path: object) -> None:
    one = Database("sqlite+aiosqlite:///:memory:")
    two = Database("sqlite+aiosqlite:///:memory:")
    try:
        assert write_gate(one) is write_gate(one)
        assert write_gate(one) is not write_gate(two)
        async with serialized_write(one, first=True):
            gate = write_gate(one)
            assert gate is not None and gate.held
            other = write_gate(two)
            assert other is not None and not other.held
        assert not gate.held
    finally:
        await one.dispose()
        await two.dispose()


class _RuntimeStub:
    """What store_action reads of the runtime: its database (and the spend watch's
    state, which stays off without limits)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.budget_check_due = None


async def _tokens(db: Database, interview_id: str) -> int:
    async with db.session() as s:
        got = await store.get_interview(s, interview_id)
    assert got is not None
    return int(got.input_text_tokens)
