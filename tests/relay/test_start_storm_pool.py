"""Many interviews starting at once on a file SQLite database: every start completes
through the bounded pool (five connections and no overflow, store/database.py), and no
more than those five connections (five aiosqlite threads) are ever open at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event

from tests.fixtures.app_server import RunningApp
from tests.relay.voice_client import voice_client
from vivavoce.store.database import SQLITE_POOL_SIZE

STARTS = 40


def short_greeting(view: object) -> str:
    return "Hello, shall we begin?"


async def one_interview(app: RunningApp) -> None:
    async with voice_client(app.voice_url()) as client:
        await client.start()
        await client.until("usage")  # started and greeted: the start's writes are done
        await client.send_json({"type": "end_interview"})
        await client.until_closed()


@pytest.mark.timeout(120)  # a hang guard: a pool that deadlocks never gets here
async def test_forty_starts_at_once_complete_on_five_sqlite_connections(
    make_app_server: Callable[..., RunningApp],
) -> None:
    app = make_app_server()
    app.fake.fake.config.responder = short_greeting  # type: ignore[union-attr]
    pool: Any = app.runtime.db.engine.sync_engine.pool  # a QueuePool on a SQLite file
    # Connections open at once: those the pool holds now, then each opened (+1) and each
    # closed (-1: the pool may replace a connection it dropped).
    live = [pool.checkedin() + pool.checkedout()]
    peak = [live[0]]

    def on_connect(dbapi_connection: Any, record: Any) -> None:  # on the server's loop
        live[0] += 1
        peak[0] = max(peak[0], live[0])

    def on_close(dbapi_connection: Any, record: Any) -> None:
        live[0] -= 1

    event.listen(pool, "connect", on_connect)
    event.listen(pool, "close", on_close)
    try:
        results = await asyncio.gather(*(one_interview(app) for _ in range(STARTS)),
                                       return_exceptions=True)
    finally:
        event.remove(pool, "connect", on_connect)
        event.remove(pool, "close", on_close)
    assert [r for r in results if r is not None] == []
    assert peak[0] <= SQLITE_POOL_SIZE, peak
