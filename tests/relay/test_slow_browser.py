"""A browser too slow to take the interviewer's audio, over real sockets: the relay drops
the oldest AI audio it holds for it (never a control message), counts it, and the
interview goes on; a browser that does not even read control messages is disconnected
with ``client_too_slow``.

The slow browser is a real client whose socket has a small receive buffer and which does
not read for a while: the kernel's buffers fill, then the relay's backlog passes its
bound. The fake speaks a long greeting as fast as it can (no pacing), as OpenAI bursts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import only_interview, stored
from tests.relay.voice_client import BYTES_PER_MS, CONTEXT, VoiceClient, voice_client
from vivavoce import metrics
from vivavoce.realtime.relay import RelayLimits
from vivavoce.runtime import RuntimeOptions
from vivavoce.testing.fake_voice_lines import default_responder

MakeApp = Callable[..., RunningApp]

DROPPED = "vivavoce_ai_audio_dropped_seconds_total"
# About 24 s of speech at the fake's 60 ms a character, sent at once.
GREETING = " ".join(["Welcome to this interview, it is good to meet you today."] * 7)
SHED_MS = 2000


def dropped_s() -> float:
    return metrics.REGISTRY.get_sample_value(DROPPED) or 0.0


def slow_socket(url: str) -> socket.socket:
    """A connected socket with a tiny receive buffer (no autotuning), so a client that
    does not read soon stops the server's writes."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
    return sock


def slow_app(make_app_server: MakeApp, **limits: Any) -> RunningApp:
    app = make_app_server(options=RuntimeOptions(relay_limits=RelayLimits(**limits)))
    fake = app.fake.fake  # type: ignore[union-attr]
    fake.config.audio_pace = 0  # the whole greeting at once, faster than any playback
    first = [True]

    def responder(view: Any) -> str:
        if first[0]:
            first[0] = False
            return GREETING
        return default_responder(view)

    fake.config.responder = responder
    return app


async def wait_for_drops(before: float) -> None:
    # The meter publishes once a tick; the loop is only a hang guard.
    for _ in range(400):
        if dropped_s() > before:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no AI audio was dropped for the slow browser")


async def greeting_done(fake: Any) -> Any:
    """The fake's record of the greeting once it has all been generated."""
    for _ in range(600):  # hang guard: the fake sends it at once
        greeting = fake.last_session.responses[0]
        if greeting.status == "completed":
            return greeting
        await asyncio.sleep(0.05)
    raise AssertionError("the fake never finished the greeting")


async def read_greeting_audio(client: VoiceClient, greeting_ms: int, before: float) -> float:
    """Read until every ms of the greeting either arrived or was counted as dropped;
    return the ms dropped."""
    for _ in range(2000):  # hang guard only
        dropped_ms = (dropped_s() - before) * 1000
        if len(client.audio) / BYTES_PER_MS + dropped_ms >= greeting_ms - 0.5:
            return dropped_ms
        # Nothing to read for a moment: the next tick publishes the count.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(client.receive_one(), 0.05)
    raise AssertionError("the greeting's audio neither arrived nor was counted dropped")


async def test_a_slow_browser_loses_the_oldest_ai_audio_and_the_interview_goes_on(
    make_app_server: MakeApp,
) -> None:
    app = slow_app(make_app_server, browser_audio_shed_bytes=SHED_MS * BYTES_PER_MS)
    fake = app.fake.fake  # type: ignore[union-attr]
    before = dropped_s()
    url = app.voice_url()
    async with voice_client(url, sock=slow_socket(url), max_queue=1) as client:
        started = await client.start()
        # Not reading: the greeting piles up in the relay until its oldest is dropped.
        await wait_for_drops(before)
        greeting = await greeting_done(fake)
        dropped_ms = await read_greeting_audio(client, greeting.audio_ms, before)
        # Dropped audio is counted: what arrived and what was dropped make the greeting.
        assert 0 < dropped_ms < greeting.audio_ms
        received_ms = len(client.audio) / BYTES_PER_MS
        assert abs(received_ms + dropped_ms - greeting.audio_ms) < 1, (
            received_ms, dropped_ms, greeting.audio_ms)
        # Every control message arrived, in order: the whole greeting's words (the
        # transcript keeps what the dropped audio said), and no error. The final one may
        # still be on its way when the last audio is in (the relay had not read OpenAI's
        # transcript.done yet on a loaded machine).
        while not any(m["is_final"] for m in client.of_type("ai_transcription")):
            await client.receive_one()
        finals = [m for m in client.of_type("ai_transcription") if m["is_final"]]
        assert [m["text"] for m in finals] == [GREETING]
        partials = "".join(m["text"] for m in client.of_type("ai_transcription")
                           if not m["is_final"])
        assert partials.strip() == GREETING
        assert not client.of_type("error")
        # The interview goes on: the browser played all it got, then a turn, an answer,
        # a normal end.
        await client.played_everything()
        await client.say()
        await client.until("student_transcription")
        await client.until("usage")
        await client.send_json({"type": "end_interview"})
        ended = await client.until("interview_ended")
        await client.until_closed()
    assert ended["reason"] == "candidate_ended"
    interview, turns = await stored(app.database_url, started["interview_id"])
    assert interview.end_reason == "candidate_ended"
    assert turns[0].text == GREETING and turns[0].state == "complete"
    # The count only grows (the next reply, sent as fast, may lose some too).
    assert (dropped_s() - before) * 1000 >= dropped_ms - 1


async def test_barge_in_after_dropped_audio_cuts_where_the_candidate_was_in_the_item(
    make_app_server: MakeApp,
) -> None:
    app = slow_app(make_app_server, browser_audio_shed_bytes=SHED_MS * BYTES_PER_MS)
    fake = app.fake.fake  # type: ignore[union-attr]
    before = dropped_s()
    url = app.voice_url()
    async with voice_client(url, sock=slow_socket(url), max_queue=1) as client:
        started = await client.start()
        await wait_for_drops(before)
        greeting = await greeting_done(fake)
        dropped_ms = await read_greeting_audio(client, greeting.audio_ms, before)
        received_ms = len(client.audio) // BYTES_PER_MS
        # The browser is one second from the end of what it received (the gaps are all
        # further back: the relay keeps the newest SHED_MS), and the candidate talks.
        await client.send_json({"type": "playback_position", "ms": received_ms - 1000})
        await client.say()
        await client.until("ai_audio_clear")
        await client.until("student_transcription")
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    _, turns = await stored(app.database_url, started["interview_id"])
    first = turns[0]
    assert first.speaker == "interviewer" and first.state == "interrupted"
    # One second before the end of the item (the dropped audio was skipped, not
    # unheard): the cut maps the browser's position past the gaps.
    assert dropped_ms > 1000
    assert first.audio_ms is not None and abs(first.audio_ms - (greeting.audio_ms - 1000)) <= 2
    assert len(first.text) < len(GREETING)


async def test_a_browser_that_does_not_even_read_control_messages_is_disconnected(
    make_app_server: MakeApp,
) -> None:
    # The greeting's transcript deltas overflow a small control lane of a browser that
    # reads nothing at all.
    app = slow_app(make_app_server, browser_control_limit=5)
    url = app.voice_url()
    async with voice_client(url, sock=slow_socket(url), max_queue=1) as client:
        await client.send_json({"type": "start_interview", "candidateContext": CONTEXT})
        for _ in range(400):  # hang guard: wait for the relay to give up on it
            interview = await only_interview_or_none(app.database_url)
            if interview is not None and interview.end_reason is not None:
                break
            await asyncio.sleep(0.05)
        await client.until_closed()
    assert (await only_interview(app.database_url)).end_reason == "client_too_slow"


async def only_interview_or_none(database_url: str) -> Any:
    try:
        return await only_interview(database_url)
    except AssertionError:
        return None
