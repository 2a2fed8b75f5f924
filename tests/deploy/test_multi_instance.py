"""Two real ``vivavoce serve`` processes on one fresh PostgreSQL database.

Both migrate at start (the storage layer holds an advisory lock, so they do not race);
an interview created through one is visible, with its token, through the other, and its
candidate can hold the interview on the other.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.deploy.processes import ServeProcess, base_env, serve_process
from tests.fixtures.database import _postgres_database
from tests.relay.voice_client import VoiceClient, voice_client
from vivavoce.store import leases
from vivavoce.store.database import Database
from vivavoce.store.interviews import list_turns
from vivavoce.store.models import Instance, Turn, utcnow

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN_TOKEN = "multi-instance-admin-token-0123456789"
SECRET_KEY = "multi-instance-secret-key-0123456789abcdef"


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A uniquely named, empty PostgreSQL database, dropped afterwards."""
    async for url in _postgres_database():
        yield url


async def test_two_instances_share_one_database(postgres_url: str, tmp_path: Path) -> None:
    env = base_env(
        tmp_path,
        # The platform form of the URL (what Railway's PostgreSQL plugin hands out).
        DATABASE_URL=postgres_url.replace("postgresql+asyncpg://", "postgresql://"),
        VIVAVOCE_ADMIN_TOKEN=ADMIN_TOKEN,
        VIVAVOCE_SECRET_KEY=SECRET_KEY,
        VIVAVOCE_SIMULATOR="1",
    )
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    with ExitStack() as stack:

        def start(name: str) -> ServeProcess:
            return stack.enter_context(serve_process(env, tmp_path, name=name))

        # Started together, so both run their migrations at the same moment.
        with ThreadPoolExecutor(2) as pool:
            a, b = await asyncio.gather(
                asyncio.wrap_future(pool.submit(start, "a")),
                asyncio.wrap_future(pool.submit(start, "b")),
            )
        async with httpx.AsyncClient(timeout=30) as http:
            for server in (a, b):
                ready = await http.get(f"{server.url}/readyz")
                assert ready.status_code == 200, ready.text

            created = await http.post(
                f"{a.url}/api/interviews",
                json={"candidate": {"name": "Ada Lovelace", "major": "Mathematics"}},
                headers=admin,
            )
            assert created.status_code == 201, created.text
            interview = created.json()

            seen = await http.get(f"{b.url}/api/interviews/{interview['id']}", headers=admin)
            assert seen.status_code == 200, seen.text
            assert seen.json()["candidate"]["name"] == "Ada Lovelace"
            # The candidate's token, signed by A, is accepted by B (shared secret key).
            by_token = await http.get(
                f"{b.url}/api/interviews/{interview['id']}",
                headers={"Authorization": f"Bearer {interview['token']}"},
            )
            assert by_token.status_code == 200, by_token.text
            listed = await http.get(f"{b.url}/api/interviews", headers=admin)
            assert [i["id"] for i in listed.json()["items"]] == [interview["id"]]

        # Startable on B: the candidate's link opens /voice there (built-in simulator).
        ws_url = b.url.replace("http://", "ws://") + f"/voice?token={interview['token']}"
        async with voice_client(ws_url) as client:
            started = await client.start({})
            assert started["interview_id"] == interview["id"]
            await client.send_json({"type": "end_interview"})
            await client.until("interview_ended")
            await client.until_closed()

        # … and A sees the outcome B stored.
        async with httpx.AsyncClient(timeout=30) as http:
            seen_on_a = (
                await http.get(f"{a.url}/api/interviews/{interview['id']}", headers=admin)
            ).json()
        assert seen_on_a["status"] == "ended", seen_on_a


async def test_a_link_opened_on_another_instance_takes_it_over(
    postgres_url: str, tmp_path: Path,
) -> None:
    """The live interview's row names its owner (a lease on the process's heartbeat):
    the link opened on B takes it, A's heartbeat notices, A tells its browser
    ``replaced`` and stops, and B goes on with the interview."""
    env = base_env(
        tmp_path,
        DATABASE_URL=postgres_url,
        VIVAVOCE_ADMIN_TOKEN=ADMIN_TOKEN,
        VIVAVOCE_SECRET_KEY=SECRET_KEY,
        VIVAVOCE_SIMULATOR="1",
    )
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with ExitStack() as stack:
        a = stack.enter_context(serve_process(env, tmp_path, name="a"))
        b = stack.enter_context(serve_process(env, tmp_path, name="b"))
        async with httpx.AsyncClient(timeout=30) as http:
            created = await http.post(
                f"{a.url}/api/interviews",
                json={"candidate": {"name": "Ada Lovelace", "major": "Mathematics"}},
                headers=admin,
            )
            assert created.status_code == 201, created.text
            interview = created.json()

        def link(server: ServeProcess) -> str:
            return server.url.replace("http://", "ws://") + f"/voice?token={interview['token']}"

        async with voice_client(link(a)) as on_a:
            await on_a.start({})
            async with voice_client(link(b)) as on_b:
                started = await on_b.start({})
                assert started["interview_id"] == interview["id"]
                replaced = await on_a.until("error")
                assert (replaced["code"], replaced["fatal"]) == ("replaced", True)
                await on_a.until_closed()
                # B drives the interview: it ends there, on the candidate's request.
                await on_b.send_json({"type": "end_interview"})
                ended = await on_b.until("interview_ended")
                await on_b.until_closed()
        assert ended["reason"] == "candidate_ended"
        async with httpx.AsyncClient(timeout=30) as http:
            seen = (await http.get(f"{a.url}/api/interviews/{interview['id']}",
                                   headers=admin)).json()
        assert seen["status"] == "ended", seen


async def _final_ai_text(client: VoiceClient) -> str:
    while True:
        message = await client.until("ai_transcription")
        if message["is_final"]:
            return str(message["text"])


async def test_a_crashed_instance_s_links_resume_elsewhere_once_its_lease_expires(
    postgres_url: str, tmp_path: Path,
) -> None:
    """A is killed (SIGKILL: no drain, no release) with two live link interviews. One
    link is opened on B at once: B asks A to hand over, A never answers, so B waits until
    A's lease has expired (A's last heartbeat + TTL), then resumes with what was said.
    The other is opened after that: its lease has expired, so it resumes at once, with
    nothing to ask."""
    env = base_env(
        tmp_path,
        DATABASE_URL=postgres_url,
        VIVAVOCE_ADMIN_TOKEN=ADMIN_TOKEN,
        VIVAVOCE_SECRET_KEY=SECRET_KEY,
        VIVAVOCE_SIMULATOR="1",
    )
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    database = Database(postgres_url)
    try:
        with ExitStack() as stack:
            a = stack.enter_context(serve_process(env, tmp_path, name="a"))
            b = stack.enter_context(serve_process(env, tmp_path, name="b"))
            interviews = []
            async with httpx.AsyncClient(timeout=30) as http:
                for name in ("Ada Lovelace", "Grace Hopper"):
                    created = await http.post(f"{a.url}/api/interviews", headers=admin,
                                              json={"candidate": {"name": name}})
                    assert created.status_code == 201, created.text
                    interviews.append(created.json())

            def link(server: ServeProcess, interview: dict[str, Any]) -> str:
                return (server.url.replace("http://", "ws://")
                        + f"/voice?token={interview['token']}")

            said: dict[str, list[str]] = {}
            async with voice_client(link(a, interviews[0])) as on_a0, \
                    voice_client(link(a, interviews[1])) as on_a1:
                for client, interview in ((on_a0, interviews[0]), (on_a1, interviews[1])):
                    await client.start({})
                    await _final_ai_text(client)
                    await client.say()
                    answer = await client.until("student_transcription")
                    said[interview["id"]] = [answer["text"]]
                # Every answer is stored as it is said (the crash cannot take it away).
                for interview in interviews:
                    while answer_of(await _turns(database, interview["id"])) is None:
                        await asyncio.sleep(0.05)
                a.process.send_signal(signal.SIGKILL)
                assert a.process.wait(30) == -signal.SIGKILL
                await on_a0.until_closed()
                await on_a1.until_closed()

            # At once on B: it waits for A's lease to run out, then resumes.
            async with voice_client(link(b, interviews[0])) as on_b:
                started = await on_b.start({})
                started_at = utcnow()
                assert (started["interview_id"], started["resumed"]) == (
                    interviews[0]["id"], True)
                assert (await _final_ai_text(on_b)).startswith("Welcome back")
                holder = await leases.lease_holder(database, interviews[0]["id"])
                assert holder.owner_id not in (None, await _instance_of(database, a))
                await on_b.send_json({"type": "end_interview"})
                await on_b.until_closed()
            a_beat = await _last_heartbeat(database, a)
            assert a_beat is not None
            # B started only once A's lease had expired (A's row is left as it crashed).
            assert started_at >= a_beat + leases.DEFAULT_TTL

            # Later, the expired lease is free to take: no handover asked.
            async with voice_client(link(b, interviews[1])) as on_b:
                started = await on_b.start({})
                assert (started["interview_id"], started["resumed"]) == (
                    interviews[1]["id"], True)
                assert (await _final_ai_text(on_b)).startswith("Welcome back")
                await on_b.send_json({"type": "end_interview"})
                await on_b.until_closed()
            assert b.output().count("asking it to hand over") == 1, b.output()

        for interview in interviews:
            turns = await _turns(database, interview["id"])
            assert answer_of(turns) == said[interview["id"]][0]
            assert [t.sequence for t in turns] == list(range(len(turns)))
            assert turns[-1].speaker == "interviewer"  # the welcome back, stored by B
    finally:
        await database.dispose()


def answer_of(turns: list[Turn]) -> str | None:
    return next((t.text for t in turns if t.speaker == "candidate"), None)


async def _turns(database: Database, interview_id: str) -> list[Turn]:
    async with database.session() as s:
        return await list_turns(s, interview_id)


async def _instance_of(database: Database, server: ServeProcess) -> str | None:
    """The ``instances`` row of ``server`` (its label is host:pid)."""
    async with database.session() as s:
        rows = (await s.execute(select(Instance.id, Instance.label))).all()
    pid = f":{server.process.pid}"
    return next((i for i, label in rows if label.endswith(pid)), None)


async def _last_heartbeat(database: Database, server: ServeProcess) -> datetime | None:
    async with database.session() as s:
        rows = (await s.execute(select(Instance.label, Instance.heartbeat_at))).all()
    pid = f":{server.process.pid}"
    return next((at for label, at in rows if label.endswith(pid)), None)
