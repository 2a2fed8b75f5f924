"""A start opens its upstream socket while its interview is being stored (web/voice_early.py).

Through real sockets: the browser to the app, the app to the fake OpenAI, the app to a
real SQLite file or PostgreSQL database. The test holds the database's write lock on the
``interviews`` table from a connection of its own, so the start's insert waits; the fake
must see the Realtime connection meanwhile, and ``session.update`` only once the row
exists (the core's order). A start that never gets to use its socket closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable

from sqlalchemy import text

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import only_interview
from tests.relay.voice_client import voice_client
from vivavoce.store.database import Database
from vivavoce.testing.scenarios import scenario_key

MakeApp = Callable[..., RunningApp]
CONTEXT = {"name": "Ada", "major": "Computer Science", "year": "3rd year"}


@contextlib.asynccontextmanager
async def interviews_locked(url: str) -> AsyncIterator[None]:
    """No insert into ``interviews`` goes through while this is held."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # the file's write lock
            try:
                yield
            finally:
                conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("LOCK TABLE interviews IN SHARE ROW EXCLUSIVE MODE"))
            try:
                yield
            finally:
                await conn.rollback()
    finally:
        await db.dispose()


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for ``condition``; a correctness check, not a timing one."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_the_upstream_opens_while_the_interview_is_stored(
    make_app_server: MakeApp, database_url: str,
) -> None:
    app = make_app_server(database_url=database_url)
    fake = app.fake.fake
    async with voice_client(app.voice_url()) as client:
        async with interviews_locked(app.database_url):
            await client.send_json({"type": "start_interview", "candidateContext": CONTEXT})
            await eventually(lambda: bool(fake.sessions) and fake.sessions[-1].accepted,
                             "the Realtime connection, while the insert waits")
            await asyncio.sleep(0.2)  # room for a session.update sent too early
            session = fake.sessions[-1]
            assert "session.update" not in session.events_received
            assert "interview_started" not in client.types()
        started = await client.until("interview_started")
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    assert len(fake.sessions) == 1  # the socket opened early is the one used
    assert fake.sessions[0].events_received[0] == "session.update"
    interview = await only_interview(app.database_url)
    assert interview.id == started["interview_id"] and interview.status == "ended"


async def test_a_refused_early_connect_fails_the_stored_interview(
    make_app_server: MakeApp, database_url: str,
) -> None:
    """The key is refused at the upgrade while the insert still waits: the record is
    stored all the same, with the refusal's error, and the key is nowhere."""
    key = scenario_key("norealtime")
    app = make_app_server(api_key=key, database_url=database_url)
    fake = app.fake.fake
    async with voice_client(app.voice_url()) as client:
        async with interviews_locked(app.database_url):
            await client.send_json({"type": "start_interview", "candidateContext": CONTEXT})
            await eventually(lambda: bool(fake.sessions) and fake.sessions[-1].rejected_status
                             is not None, "the refused Realtime connection")
            assert "error" not in client.types()  # said only once the interview exists
        error = await client.until("error")
        ended = await client.until("interview_ended")
        await client.until_closed()
    assert error["code"] == "model_not_available" and error["fatal"] is True
    assert key not in str(client.messages)
    interview = await only_interview(app.database_url)
    assert interview.id == ended["interview_id"]
    assert (interview.status, interview.end_reason) == ("failed", "no_realtime_access")


async def test_a_browser_gone_during_the_insert_closes_its_early_socket(
    make_app_server: MakeApp, database_url: str,
) -> None:
    app = make_app_server(database_url=database_url)
    fake = app.fake.fake
    async with interviews_locked(app.database_url):
        async with voice_client(app.voice_url()) as client:
            await client.send_json({"type": "start_interview", "candidateContext": CONTEXT})
            await eventually(lambda: bool(fake.sessions) and fake.sessions[-1].accepted,
                             "the Realtime connection, while the insert waits")
        # The browser is gone; the insert still waits.
        await eventually(lambda: fake.sessions[-1].close_code is not None,
                         "the unused Realtime socket closed")
    assert fake.sessions[-1].closed_by == "client"
    assert "session.update" not in fake.sessions[-1].events_received
    assert len(fake.sessions) == 1
