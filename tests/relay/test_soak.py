"""100 interviews in a row leave no task, socket, thread or memory behind."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import tracemalloc
from collections.abc import Callable

import pytest

from tests.fixtures.app_server import RunningApp
from tests.relay.voice_client import voice_client
from vivavoce.metrics_relay import RelayMeter


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def other_threads() -> int:
    # aiosqlite runs one thread per pooled connection; the pool bounds those.
    return sum("_connection_worker" not in t.name for t in threading.enumerate())


def short_greeting(view: object) -> str:
    return "Hello, shall we begin?"


async def one_interview(app: RunningApp) -> None:
    async with voice_client(app.voice_url()) as client:
        await client.start()
        await client.until("usage")  # the greeting, audio and all, went through
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    app.fake.fake.reset()  # type: ignore[union-attr]  # the fake's own records would grow


@pytest.mark.slow
async def test_hundred_interviews_leave_nothing_behind(
    make_app_server: Callable[..., RunningApp], monkeypatch: pytest.MonkeyPatch,
) -> None:
    tasks_at_connect: list[int] = []
    counted = RelayMeter.connected

    def connected(meter: RelayMeter, now: float) -> None:
        # Runs on the server's loop: every task alive there as an interview begins.
        tasks_at_connect.append(len(asyncio.all_tasks()))
        counted(meter, now)

    monkeypatch.setattr(RelayMeter, "connected", connected)
    app = make_app_server()
    app.fake.fake.config.responder = short_greeting  # type: ignore[union-attr]
    for _ in range(5):  # warm-up: pools, caches, lazily created clients
        await one_interview(app)
    gc.collect()
    fds, threads = open_fds(), other_threads()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(100):
            await one_interview(app)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(tasks_at_connect) == 105
    # Tasks that finish a moment after an interview (its evaluation being queued, the
    # upstream socket's closing handshake) may still be alive as the next one connects, so
    # single counts wobble by a few. A leak raises the floor: one task per interview would
    # put the last twenty counts dozens above the first twenty.
    first, last = tasks_at_connect[5:25], tasks_at_connect[-20:]
    assert min(last) <= max(first), tasks_at_connect
    assert open_fds() <= fds + 2
    assert other_threads() <= threads
    # One interview's audio alone is hundreds of kilobytes; a per-interview leak of
    # anything real would show as many megabytes.
    assert grown < 4 * 1024 * 1024, grown
