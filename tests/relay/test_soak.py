"""100 interviews in a row leave no task, socket, thread or memory behind."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
import tracemalloc
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import vivavoce
from tests.fixtures.app_server import RunningApp
from tests.relay.voice_client import voice_client
from vivavoce.metrics_relay import RelayMeter

RUNS = 100
# Descriptors a pool may add under load; one leaked per interview would be RUNS.
FD_SLACK = 8


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
@pytest.mark.timeout(300)  # a hang guard: a hundred interviews on a busy 2-core machine
async def test_hundred_interviews_leave_nothing_behind(
    make_app_server: Callable[..., RunningApp], monkeypatch: pytest.MonkeyPatch,
) -> None:
    tasks_at_connect: list[int] = []
    # Each relay holds its meter: a meter still alive is a relay (or a session) kept.
    meters: list[weakref.ref[RelayMeter]] = []
    ended: list[int] = []
    counted, ending = RelayMeter.connected, RelayMeter.ended

    def connected(meter: RelayMeter, now: float) -> None:
        # Runs on the server's loop: every task alive there as an interview begins.
        tasks_at_connect.append(len(asyncio.all_tasks()))
        meters.append(weakref.ref(meter))
        counted(meter, now)

    def end(meter: RelayMeter, session: Any) -> None:
        ending(meter, session)
        ended.append(1)

    monkeypatch.setattr(RelayMeter, "connected", connected)
    monkeypatch.setattr(RelayMeter, "ended", end)
    app = make_app_server()
    app.fake.fake.config.responder = short_greeting  # type: ignore[union-attr]
    for _ in range(5):  # warm-up: pools, caches, lazily created clients
        await one_interview(app)
    gc.collect()
    fds, threads = open_fds(), other_threads()
    ours = tracemalloc.Filter(True, str(Path(vivavoce.__file__).parent / "*"))
    tracemalloc.start()
    try:
        # INFO lines are not a leak, but a test earlier in this process may have set up
        # logging (serve's setup_logging) so that pytest keeps every record it captures.
        logging.disable(logging.INFO)
        before = tracemalloc.take_snapshot().filter_traces([ours])
        for _ in range(RUNS):
            await one_interview(app)
        # Every relay is gone once it has ended (the server's loop may still be
        # finishing the last one: wait for that, no timing).
        for _ in range(500):  # hang guard only
            if len(ended) == len(meters):
                break
            await asyncio.sleep(0.01)
        for _ in range(10):  # the handlers return just after; a leak stays
            gc.collect()
            if all(ref() is None for ref in meters):
                break
            await asyncio.sleep(0.05)
        after = tracemalloc.take_snapshot().filter_traces([ours])
    finally:
        tracemalloc.stop()
        logging.disable(logging.NOTSET)
    assert len(tasks_at_connect) == RUNS + 5
    alive = sum(ref() is not None for ref in meters)
    assert alive == 0, f"{alive} relays are still referenced"
    # Tasks that finish a moment after an interview (its evaluation being queued, the
    # upstream socket's closing handshake) may still be alive as the next one connects, so
    # single counts wobble by a few. A leak raises the floor: one task per interview would
    # put the last twenty counts dozens above the first twenty.
    first, last = tasks_at_connect[5:25], tasks_at_connect[-20:]
    assert min(last) <= max(first), tasks_at_connect
    # A socket still in its closing handshake may hold a descriptor for a moment, and a pool
    # (database connections, keep-alive upstream sockets) may grow by a few under load; a leak
    # (one per interview) is a hundred and never settles. Polled as a hang guard only.
    for _ in range(100):
        if open_fds() <= fds + FD_SLACK:
            break
        await asyncio.sleep(0.05)
    assert open_fds() <= fds + FD_SLACK
    assert other_threads() <= threads
    # Not a byte budget: no line of ours holds on to one more allocation per interview
    # (a leak of anything, however small, made once per interview shows as RUNS blocks).
    grew = [stat for stat in after.compare_to(before, "lineno") if stat.count_diff >= RUNS]
    assert not grew, [str(stat) for stat in grew[:5]]
