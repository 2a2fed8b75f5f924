"""The interview's database writes, on their own: statements per write and CPU per write.

    uv run python bench/store_bench.py                          # 20 interviews at once, SQLite
    uv run python bench/store_bench.py --interviews 50 --turns 40 --json
    uv run python bench/store_bench.py --database-url postgresql+asyncpg://…/db

Each simulated interview does what its relay's database writer does, one session per
write: the start (``create_interview``, owning its lease when ``create_interview`` takes
``owner_id``, else ``take_lease`` after it; the question bank's pick as the start makes it;
``mark_live``), then ``--turns`` turns, each followed by the response's ``add_usage``, and
its end (``mark_ended``). First one interview runs alone (after a first one that warms
the process up), its SQL statements and
transactions (commits and rollbacks) counted on the engine per start, per turn and per
usage; then all the interviews run at once on one engine, as in one ``vivavoce serve``,
for the process's CPU (every thread: aiosqlite's too) per write and each write's wall time at p50 / p99 / max (waits for the
database's write lock included); errors (a write that raised). The same file runs against
an older checkout of vivavoce (it uses only the store's public functions and looks for the
newer ones), so before and after can be compared on one machine at the same time.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import random
import resource
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.store import interviews as store
from vivavoce.store import leases, questions
from vivavoce.store.database import Database
from vivavoce.store.models import utcnow

CANDIDATE = CandidateContext(name="Ada Example", major="Computer Science")
SETTINGS = InterviewSettings(model="gpt-realtime", voice="marin", max_duration_s=900)


class Counts:
    """Statements and transaction ends on an engine, by the phase that ran them."""

    def __init__(self, db: Database) -> None:
        self.phase = "setup"
        self.counts: Counter[tuple[str, str]] = Counter()
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", lambda _c: self._count("commit"))
        event.listen(engine, "rollback", lambda _c: self._count("rollback"))

    def _statement(self, *_args: Any) -> None:
        self._count("statement")

    def _count(self, kind: str) -> None:
        self.counts[(self.phase, kind)] += 1


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        try:
            await db.migrate()
            return await measure(db, args)
        finally:
            await db.dispose()


async def measure(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    instance = leases.new_instance_id()
    await leases.register_instance(db, instance)
    owns_at_creation = "owner_id" in inspect.signature(store.create_interview).parameters
    pick: Callable[..., Awaitable[Any]] = getattr(
        questions, "pick_cached_questions", questions.pick_questions)
    counts = Counts(db)
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def write(phase: str, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        # The phase names what the counted (lone) interview's statements are for.
        started = time.perf_counter()
        try:
            async with db.session() as s:
                counts.phase = phase
                return await work(s)
        except Exception as exc:
            errors[type(exc).__name__] += 1
            return None
        finally:
            latencies.append(time.perf_counter() - started)

    async def start() -> str | None:
        async def create(s: AsyncSession) -> Any:
            extra = {"owner_id": instance} if owns_at_creation else {}
            interview = await store.create_interview(
                s, candidate=CANDIDATE, settings=SETTINGS, **extra)
            await pick(s, field=CANDIDATE.bank_field, level=CANDIDATE.bank_level, limit=8,
                       rng=random.Random(interview.id))
            return interview

        interview = await write("start", create)
        if interview is None:
            return None
        if not owns_at_creation:
            counts.phase = "start"
            await leases.take_lease(db, interview.id, instance)
        await write("start", lambda s: store.mark_live(s, interview.id, at=utcnow()))
        return str(interview.id)

    async def one(n: int) -> None:
        await asyncio.sleep(random.Random(n).random() * args.spread)
        interview_id = await start()
        if interview_id is None:
            return
        for sequence in range(args.turns):
            await write("turn", lambda s, q=sequence: store.add_turn(
                s, interview_id=interview_id, sequence=q,
                speaker="candidate" if q % 2 else "interviewer",
                text=f"Turn {q}: " + "words " * 30, started_at=utcnow(), ended_at=utcnow(),
                audio_ms=4000, item_id=f"item_{q}", state="complete"))
            await write("usage", lambda s: store.add_usage(
                s, interview_id, input_text=120, input_audio=900, output_text=80,
                output_audio=1500, cost_usd=0.002))
            await asyncio.sleep(args.pause)
        await write("end", lambda s: store.mark_ended(
            s, interview_id, status="ended", reason="candidate_ended", at=utcnow()))

    await one(0)  # the first start of a process reads the bank (then once a minute)
    counts.counts.clear()
    await one(1)  # alone, so that each statement counted belongs to its phase
    counted, counts.counts = counts.counts, Counter()
    latencies.clear()
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(2, args.interviews + 2)))
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    latencies.sort()

    def at(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    def per(phase: str, kind: str, units: int = 1) -> float:
        return counted[(phase, kind)] / max(1, units)

    return {
        "database": db.dialect, "interviews": args.interviews,
        "turns": args.interviews * args.turns, "writes": len(latencies), "errors": dict(errors),
        "start_statements": per("start", "statement"),
        "start_transactions": per("start", "commit") + per("start", "rollback"),
        "turn_statements": per("turn", "statement", args.turns),
        "turn_transactions": per("turn", "commit", args.turns)
        + per("turn", "rollback", args.turns),
        "usage_statements": per("usage", "statement", args.turns),
        "cpu_ms_per_write": cpu * 1000 / max(1, len(latencies)),
        "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": latencies[-1] * 1000 if latencies else 0,
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interviews", type=int, default=20)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--spread", type=float, default=0.5,
                        help="starts spread over this many seconds")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds between one interview's turns")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args()
    row = asyncio.run(run(args))
    if args.json:
        print(json.dumps(row))
        return
    for key, value in row.items():
        print(f"{key:>20}: {value:.2f}" if isinstance(value, float) else f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
