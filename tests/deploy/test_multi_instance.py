"""Two real ``vivavoce serve`` processes on one fresh PostgreSQL database.

Both migrate at start (the storage layer holds an advisory lock, so they do not race);
an interview created through one is visible, with its token, through the other, and its
candidate can hold the interview on the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.deploy.processes import ServeProcess, base_env, serve_process
from tests.fixtures.database import _postgres_database
from tests.relay.voice_client import voice_client

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
