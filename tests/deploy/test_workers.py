"""``vivavoce serve --workers 2``: two worker processes on one port, as one service.

One real serve process (development mode, so the admin token is generated; SQLite, the
default; the fake OpenAI behind a key file), checked for what must hold whichever worker
a connection lands on: the same admin token, a key reload (API or SIGHUP) reaching every
worker, a link's takeover across workers, and metrics added up over the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.processes import ServeProcess, base_env, free_port, serve_process
from tests.fixtures.fake_openai import RunningFake
from tests.relay.voice_client import voice_client
from vivavoce.keys import fingerprint
from vivavoce.testing.scenarios import scenario_key

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Bounds on waiting for something that must happen, never speed assertions.
WAIT_S = 90.0
# Takeovers tried until one lands on the other worker (each lands on either, as the
# kernel hands connections to whichever worker accepts first).
MAX_TAKEOVERS = 12


async def _wait_for(what: str, check: Callable[[], Any], server: ServeProcess) -> Any:
    """Poll ``check`` (quick, blocking calls) until it is truthy; between polls the event
    loop runs, so open /voice clients keep answering the server's pings."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never saw {what}:\n{server.output()}")


def _query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(sql, params).fetchall()


def _reload_state(server: ServeProcess, token: str) -> dict[str, Any]:
    # A new connection each time, so that either worker may answer.
    response = httpx.get(f"{server.url}/api/admin/reload",
                         headers={"Authorization": f"Bearer {token}",
                                  "Connection": "close"}, timeout=30)
    assert response.status_code == 200, response.text  # the same token on every worker
    state: dict[str, Any] = response.json()
    return state


def _metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} not in:\n{text}")


async def _seen_reloads(server: ServeProcess, token: str, key: str, trigger: str,
                  wanted: int) -> set[str]:
    """Ask until ``wanted`` workers (told apart by the time of their last reload) report
    a reload by ``trigger`` that put ``key`` in use."""
    seen: set[str] = set()

    def check() -> bool:
        state = _reload_state(server, token)
        last = state["last_reload"]
        if (last is not None and last["trigger"] == trigger and last["applied"]
                and state["key"]["fingerprint"] == fingerprint(key)):
            seen.add(last["at"])
        return len(seen) >= wanted

    await _wait_for(f"{wanted} worker(s) reloaded by {trigger}", check, server)
    return seen


async def test_two_workers_serve_one_service(tmp_path: Path, fake_openai: RunningFake) -> None:
    keys = [scenario_key("ok", f"workers-{n}") for n in range(3)]
    key_file = tmp_path / "openai_key"
    key_file.write_text(keys[0], encoding="utf-8")
    (tmp_path / "tmp").mkdir()
    metrics_port = free_port()
    env = base_env(
        tmp_path,
        OPENAI_API_KEY_FILE=str(key_file),
        OPENAI_BASE_URL=fake_openai.base_url,
        VIVAVOCE_METRICS_PORT=str(metrics_port),
        TMPDIR=str(tmp_path / "tmp"),
    )
    db = tmp_path / "data" / "vivavoce.db"
    with serve_process(env, tmp_path, name="workers", args=("--workers", "2")) as server:
        banner = server.output()
        assert "workers       2 processes share the port" in banner, banner
        found = re.search(r"admin token\s+(\S+)", banner)
        assert found is not None, banner
        token = found.group(1)
        # Both workers up: one heartbeat row each.
        await _wait_for("two workers", lambda: len(_query(
            db, "SELECT id FROM instances WHERE kind = 'server'")) == 2, server)
        [group_dir] = (tmp_path / "tmp").glob("vivavoce-workers-*")

        # POST reload lands on one worker; the other follows (told through the parent).
        key_file.write_text(keys[1], encoding="utf-8")
        posted = httpx.post(f"{server.url}/api/admin/reload",
                            headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert posted.status_code == 200, posted.text
        assert posted.json()["applied"] is True
        await _seen_reloads(server, token, keys[1], "sighup", 1)
        # Every answer now has the new key, whichever worker gives it.
        for _ in range(10):
            assert _reload_state(server, token)["key"]["fingerprint"] == fingerprint(keys[1])

        # SIGHUP to the parent reaches both workers (reloads, not restarts).
        key_file.write_text(keys[2], encoding="utf-8")
        server.process.send_signal(signal.SIGHUP)
        await _seen_reloads(server, token, keys[2], "sighup", 2)
        assert len(_query(db, "SELECT id FROM instances WHERE kind = 'server'")) == 2

        # A link opened again takes its interview over, on whichever worker it lands.
        created = httpx.post(f"{server.url}/api/interviews",
                             json={"candidate": {"name": "Ada Lovelace", "major": "Maths"}},
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert created.status_code == 201, created.text
        interview = created.json()
        link = server.url.replace("http://", "ws://") + f"/voice?token={interview['token']}"

        def owner() -> str | None:
            rows = _query(db, "SELECT owner_id FROM interviews WHERE id = ?", interview["id"])
            return rows[0][0] if rows else None

        across = 0
        async with contextlib.AsyncExitStack() as stack:
            current = await stack.enter_async_context(voice_client(link))
            await current.start({})
            current_owner = await _wait_for("the first owner", owner, server)
            for _ in range(MAX_TAKEOVERS):
                taking = await stack.enter_async_context(voice_client(link))
                started = await taking.start({})
                assert started["interview_id"] == interview["id"]
                replaced = await current.until("error")
                assert (replaced["code"], replaced["fatal"]) == ("replaced", True)
                await current.until_closed()
                new_owner = await _wait_for("the new owner", owner, server)
                across += new_owner != current_owner
                current, current_owner = taking, new_owner
                # Whichever worker relays it, the parent's port counts it once.
                await _wait_for("one live interview in all", lambda: _metric(
                    metrics_port, "vivavoce_live_interviews") == 1, server)
                if across:
                    break
            await current.send_json({"type": "end_interview"})
            ended = await current.until("interview_ended")
            await current.until_closed()
        assert across, "every takeover landed on the same worker"
        assert ended["reason"] == "candidate_ended"
        assert _metric(metrics_port, "vivavoce_interviews_started_total") >= 2
        # Workers freeze their start-up objects out of the collector's scans (vivavoce.heap).
        assert _metric(metrics_port, "vivavoce_gc_frozen_objects") > 10_000
        await _wait_for("no live interview", lambda: _metric(
            metrics_port, "vivavoce_live_interviews") == 0, server)
        # The same totals on /metrics of either worker (with the token).
        scrape = httpx.get(f"{server.url}/metrics",
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert "vivavoce_live_interviews 0.0" in scrape.text
        assert group_dir.is_dir()
    output = server.output()
    assert output.count(token) == 1, "the admin token is printed once, in the banner"
    assert not group_dir.exists(), "the parent removes the group's directory"
    for key in keys:
        assert key not in output
