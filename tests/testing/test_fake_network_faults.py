"""The fake's network faults through real sockets: a TCP drop without a close frame, a
stall, a slow handshake (a raw ``websockets`` client, to see frames and pings)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.fixtures.fake_openai import RunningFake
from vivavoce.testing.fake_audio import tone
from vivavoce.testing.fake_config import SessionFaults
from vivavoce.testing.fake_records import RealtimeSessionRecord
from vivavoce.testing.scenarios import scenario_key

HANG_GUARD_S = 10.0  # only stops a broken test from hanging


@asynccontextmanager
async def realtime(fake: RunningFake, **options: Any) -> AsyncIterator[ClientConnection]:
    options.setdefault("open_timeout", HANG_GUARD_S)
    async with connect(f"{fake.ws_url}?model=gpt-realtime",
                       additional_headers={"Authorization": f"Bearer {scenario_key('ok')}"},
                       ping_interval=None, **options) as ws:
        yield ws


async def next_type(ws: ClientConnection) -> str:
    async with asyncio.timeout(HANG_GUARD_S):
        return str(json.loads(await ws.recv())["type"])


async def until_closed(ws: ClientConnection) -> tuple[list[str], ConnectionClosed]:
    types: list[str] = []
    async with asyncio.timeout(HANG_GUARD_S):
        while True:
            try:
                types.append(json.loads(await ws.recv())["type"])
            except ConnectionClosed as closed:
                return types, closed


@pytest.mark.parametrize("when", ["events", "seconds"])
async def test_drop_aborts_tcp_without_a_close_frame(fake_openai: RunningFake, when: str) -> None:
    config = fake_openai.fake.config
    if when == "events":
        config.drop_after_events = 1
    else:
        config.drop_after_s = 0.05
    async with realtime(fake_openai) as ws:
        types, closed = await until_closed(ws)
    assert types == ["session.created"]
    # No close frame came (a close 1006 frame cannot exist: the library reports 1006
    # itself), and none could be sent back.
    assert closed.rcvd is None
    record = fake_openai.fake.last_session
    assert (record.dropped, record.close_code, record.closed_by) == (True, 1006, "server")


@pytest.mark.parametrize("when", ["events", "seconds"])
async def test_stall_reads_and_sends_nothing_then_carries_on(
    fake_openai: RunningFake, when: str
) -> None:
    config = fake_openai.fake.config
    config.stall_s = 0.5
    if when == "events":
        config.stall_after_events = 1  # right after session.created
    else:
        config.stall_after_s = 0.0
    fake = fake_openai.fake
    async with realtime(fake_openai) as ws:
        assert await next_type(ws) == "session.created"
        async with asyncio.timeout(HANG_GUARD_S):  # a timed stall starts on its own clock
            while not fake.last_session.stalls:
                await asyncio.sleep(0.01)
        # Sent while the fake stalls: neither the ping nor the event is read until it ends.
        pong = await ws.ping()
        await ws.send(json.dumps({"type": "session.update",
                                  "session": {"type": "realtime", "instructions": "x"}}))
        async with asyncio.timeout(HANG_GUARD_S):
            await pong
        ponged = time.monotonic()
        assert await next_type(ws) == "session.updated"
        updated = time.monotonic()
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        assert await next_type(ws) == "session.updated"  # one stall per session
    session = fake.last_session
    [stall] = session.stalls
    # Order, not speed: the pong and the reply came after the stall's end.
    assert stall.ended is not None and stall.ended <= ponged and stall.ended <= updated
    assert session.events_received == ["session.update", "session.update"]
    assert session.close_code == 1000 and not session.dropped


async def test_slow_handshake_answers_the_upgrade_late(fake_openai: RunningFake) -> None:
    config = fake_openai.fake.config
    config.handshake_delay_s = 60  # until lowered below
    with pytest.raises(TimeoutError):
        async with realtime(fake_openai, open_timeout=0.1):
            pass
    async with asyncio.timeout(HANG_GUARD_S):  # a busy server may see the request late
        while not fake_openai.fake.sessions:
            await asyncio.sleep(0.01)
    # The client gave up before the fake answered.
    assert [s.accepted for s in fake_openai.fake.sessions] == [False]
    config.handshake_delay_s = 0.1  # also ends the first delay
    async with realtime(fake_openai) as ws:
        assert await next_type(ws) == "session.created"
    assert fake_openai.fake.sessions[-1].accepted


async def test_session_faults_apply_to_their_session_only(fake_openai: RunningFake) -> None:
    """``session_faults``: asked once per session at its first session.update; here the
    first session gets a transient server_error then a drop, the second nothing."""
    config = fake_openai.fake.config
    plans = iter([SessionFaults(error_after_events=2, drop_after_events=3), None])
    asked: list[str] = []

    def faults(record: RealtimeSessionRecord) -> SessionFaults | None:
        asked.append(str(record.session_config.get("instructions")))
        return next(plans)

    config.session_faults = faults
    update = json.dumps({"type": "session.update",
                         "session": {"type": "realtime", "instructions": "first"}})
    async with realtime(fake_openai) as ws:
        assert await next_type(ws) == "session.created"
        await ws.send(update)
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        async with asyncio.timeout(HANG_GUARD_S):
            updated = json.loads(await ws.recv())
            error = json.loads(await ws.recv())
        types, closed = await until_closed(ws)
    assert updated["type"] == "session.updated"
    assert error["type"] == "error" and error["event_id"].startswith("event_")
    assert error["error"] == {"type": "server_error", "code": "server_error", "message":
                              "The server had an error while processing your request.",
                              "param": None, "event_id": None}
    # The third event (the second session.updated) was delivered before the drop.
    assert types == ["session.updated"] and closed.rcvd is None
    first = fake_openai.fake.last_session
    assert (first.dropped, first.drop_flushed, first.close_code) == (True, True, 1006)
    assert asked == ["first"]  # once, at the first session.update only
    async with realtime(fake_openai) as ws:
        assert await next_type(ws) == "session.created"
        await ws.send(update)
        assert await next_type(ws) == "session.updated"
        await ws.send(update)
        assert await next_type(ws) == "session.updated"  # no fault: it goes on
    assert not fake_openai.fake.last_session.dropped and len(asked) == 2


async def test_transcriber_says_what_the_candidate_said(fake_openai: RunningFake) -> None:
    config = fake_openai.fake.config
    config.transcriber = lambda view: f"answer after {view.assistant_turns} replies"
    async with realtime(fake_openai) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"},
                                                    "turn_detection": None}}}}))
        await ws.send(json.dumps({"type": "input_audio_buffer.append",
                                  "audio": base64.b64encode(tone(600, amplitude=8000)).decode()}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        async with asyncio.timeout(HANG_GUARD_S):
            while (event := json.loads(await ws.recv()))["type"] != (
                    "conversation.item.input_audio_transcription.completed"):
                pass
    assert event["transcript"] == "answer after 0 replies"
    record = fake_openai.fake.last_session
    assert record.transcripts_sent == record.user_transcripts == ["answer after 0 replies"]
