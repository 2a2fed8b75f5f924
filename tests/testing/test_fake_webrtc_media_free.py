"""The media-free mode (benchmarks) and the sideband's faults, on the fake's WebRTC calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI

from tests.fixtures.fake_openai import RunningFake
from tests.testing.realtime_helpers import client_for, collect_until, collect_until_closed
from tests.testing.webrtc_client import WebRtcClient
from vivavoce.testing.scenarios import scenario_key
from vivavoce.testing.webrtc_call import MAX_DURATION_REASON

SESSION = {
    "type": "realtime",
    "instructions": "You are an interviewer.",
    "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
}


@pytest.fixture
async def sdk(fake_openai: RunningFake) -> AsyncIterator[AsyncOpenAI]:
    config = fake_openai.fake.config
    config.media_free_calls = True
    config.candidate_pause_s = 0.2
    config.speech_ms_per_char = 8
    client = client_for(fake_openai.base_url, scenario_key("ok"))
    yield client
    await client.close()


async def _place_call(sdk: AsyncOpenAI) -> str:
    async with WebRtcClient() as browser:
        raw = await sdk.realtime.calls.with_raw_response.create(sdp=await browser.offer(), session=SESSION)  # type: ignore[arg-type]
        assert raw.status_code == 201
        # The answer is one a browser accepts, although no media will ever flow.
        await browser.accept(raw.text)
    return str(raw.headers["location"]).rsplit("/", 1)[-1]


async def test_media_free_call_serves_a_sideband_at_a_calls_pace(fake_openai: RunningFake, sdk: AsyncOpenAI) -> None:
    fake_openai.fake.config.transcripts = ["First scripted answer.", "Second scripted answer."]
    call_id = await _place_call(sdk)
    async with sdk.realtime.connect(call_id=call_id) as sideband:
        got = await collect_until(sideband, "session.created")
        await sideband.response.create()
        # The greeting "plays" (by the clock), then the scripted candidate answers it and
        # the server VAD replies, twice over: what a real call's sideband sees.
        await collect_until(sideband, "response.done", count=3, into=got)
    types = got.types
    assert types.count("output_audio_buffer.stopped") >= 2
    completed = [e.transcript for e in got.of("conversation.item.input_audio_transcription.completed")]
    assert completed == ["First scripted answer.", "Second scripted answer."]
    first_stop = types.index("output_audio_buffer.stopped")
    assert types.index("response.done") < first_stop < types.index("input_audio_buffer.speech_started")
    assert all(e.response.usage is not None for e in got.of("response.done"))
    assert "response.output_audio.delta" not in types
    record = fake_openai.fake.last_call
    assert not record.media and record.connection_state == "new" and record.selected_pair == []
    assert record.audio_ms_received > 0 and record.audio_ms_played > 0
    assert record.user_transcripts == completed
    assert record.sideband_events_received == ["response.create"]


async def test_a_dropped_sideband_can_rejoin_the_same_call(fake_openai: RunningFake, sdk: AsyncOpenAI) -> None:
    call_id = await _place_call(sdk)
    fake_openai.fake.config.close_after_events = 2
    async with sdk.realtime.connect(call_id=call_id) as sideband:
        await sideband.session.update(session={"type": "realtime", "instructions": "Changed by the sideband."})
        dropped = await collect_until_closed(sideband)
    assert (dropped.close_code, dropped.close_reason) == (1011, "Internal server error")
    assert dropped.types == ["session.created", "session.updated"]
    fake_openai.fake.config.close_after_events = None
    async with sdk.realtime.connect(call_id=call_id) as sideband:
        again = await collect_until(sideband, "session.created")
    assert again.first("session.created").session.instructions == "Changed by the sideband."  # type: ignore[union-attr]
    assert fake_openai.fake.last_call.sidebands_joined == 2 and not fake_openai.fake.last_call.ended


async def test_the_maximum_duration_ends_the_call_and_its_sideband(fake_openai: RunningFake, sdk: AsyncOpenAI) -> None:
    call_id = await _place_call(sdk)
    async with sdk.realtime.connect(call_id=call_id) as sideband:
        await collect_until(sideband, "session.created")
        fake_openai.fake.config.max_session_s = 0.0
        closed = await collect_until_closed(sideband)
    assert (closed.close_code, closed.close_reason) == (1001, MAX_DURATION_REASON)
    record = fake_openai.fake.last_call
    assert record.ended and record.end_reason == "max_duration"


async def test_an_injected_error_reaches_the_sideband_and_the_call_goes_on(
    fake_openai: RunningFake, sdk: AsyncOpenAI
) -> None:
    fake_openai.fake.config.error_after_events = 1
    call_id = await _place_call(sdk)
    async with sdk.realtime.connect(call_id=call_id) as sideband:
        await sideband.session.update(session={"type": "realtime", "instructions": "Still here."})
        got = await collect_until(sideband, "session.updated")
        if "error" not in got.types:
            await collect_until(sideband, "error", into=got)
    assert got.first("error").error.code == "server_error"
    assert call_id in fake_openai.fake.live_calls


async def test_a_sideband_too_slow_for_the_call_is_dropped_not_buffered_forever(
    fake_openai: RunningFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.websockets import WebSocketState

    from vivavoce.testing import webrtc_sideband
    from vivavoce.testing.fake_records import RealtimeSessionRecord

    class StuckSocket:
        application_state = WebSocketState.CONNECTED

        def __init__(self) -> None:
            self.release = asyncio.Event()
            self.sent: list[str] = []
            self.closed: tuple[int, str] | None = None

        async def send_text(self, text: str) -> None:
            await self.release.wait()
            self.sent.append(text)

        async def close(self, code: int, reason: str) -> None:
            self.closed = (code, reason)

    monkeypatch.setattr(webrtc_sideband, "_MAX_QUEUED", 5)
    socket = StuckSocket()
    record = RealtimeSessionRecord(None, None, None, {})
    sink = webrtc_sideband._SocketSink(socket, fake_openai.fake, record)  # type: ignore[arg-type]
    writer = asyncio.create_task(sink.run())
    for n in range(20):
        sink.send({"type": "response.done", "n": n})
    socket.release.set()
    async with asyncio.timeout(5):
        await writer
    assert socket.closed == (1008, "Sideband too slow to receive the call's events.")
    assert len(socket.sent) <= 1 and record.close_code == 1008


async def test_a_slow_session_created_delays_the_sideband_only(fake_openai: RunningFake, sdk: AsyncOpenAI) -> None:
    call_id = await _place_call(sdk)
    fake_openai.fake.config.session_created_delay_s = 1.0
    async with sdk.realtime.connect(call_id=call_id) as sideband:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await sideband.recv()
        await collect_until(sideband, "session.created")
    assert call_id in fake_openai.fake.live_calls
