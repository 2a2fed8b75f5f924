"""WebRTC calls on the fake with a real aiortc client, all on loopback: media and events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai import AsyncOpenAI

from tests.fixtures.fake_openai import RunningFake
from tests.testing.realtime_helpers import client_for, collect_until, collect_until_closed
from tests.testing.webrtc_client import WebRtcClient, speech
from vivavoce.testing.fake_voice_lines import default_responder
from vivavoce.testing.realtime_items import ConversationView
from vivavoce.testing.scenarios import scenario_key
from vivavoce.testing.webrtc_loopback import install_loopback_only, is_loopback, selected_pair

SESSION: dict[str, Any] = {
    "type": "realtime",
    "model": "gpt-realtime",
    "instructions": "You are an interviewer.",
    "audio": {
        "input": {
            "transcription": {"model": "gpt-4o-mini-transcribe"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 400},
        },
        "output": {"voice": "marin"},
    },
}


@pytest.fixture
async def sdk(fake_openai: RunningFake) -> AsyncIterator[AsyncOpenAI]:
    client = client_for(fake_openai.base_url, scenario_key("ok"))
    yield client
    await client.close()


@pytest.fixture
async def call(fake_openai: RunningFake, sdk: AsyncOpenAI) -> AsyncIterator[tuple[WebRtcClient, str]]:
    """A connected client on a fresh call (multipart offer + session, standard key)."""
    fake_openai.fake.config.speech_ms_per_char = 15
    async with WebRtcClient() as client:
        raw = await sdk.realtime.calls.with_raw_response.create(sdp=await client.offer(), session=SESSION)  # type: ignore[arg-type]
        assert raw.status_code == 201
        assert raw.headers["content-type"].startswith("application/sdp")
        location = raw.headers["location"]
        call_id = location.rsplit("/", 1)[-1]
        assert location == f"/v1/realtime/calls/{call_id}" and call_id.startswith("rtc_")
        await client.accept(raw.text)
        await client.connected()
        try:
            yield client, call_id
        finally:
            if call_id in fake_openai.fake.live_calls:
                await sdk.realtime.calls.hangup(call_id)


async def test_greeting_is_heard_on_the_media_track_over_loopback(
    fake_openai: RunningFake, call: tuple[WebRtcClient, str]
) -> None:
    guard = install_loopback_only()
    dropped = guard.dropped
    client, call_id = call
    first = await client.event("session.created")
    assert first["session"]["instructions"] == "You are an interviewer."
    client.send({"type": "response.create"})
    await client.event("output_audio_buffer.stopped")
    assert client.loud_frames >= 20  # at least 0.4 s of the greeting was heard
    greeting = default_responder(ConversationView(0, 0, None, "", None, ()))
    assert client.of("response.output_audio_transcript.done")[0]["transcript"] == greeting
    done = client.of("response.done")[0]["response"]
    assert done["status"] == "completed" and done["usage"]["output_token_details"]["audio_tokens"] > 0
    # Audio is media on WebRTC, never an event; the playing is reported around it.
    types = client.types()
    assert "response.output_audio.delta" not in types
    assert types.index("output_audio_buffer.started") < types.index("output_audio_buffer.stopped")
    record = fake_openai.fake.last_call
    assert record.call_id == call_id and record.media and record.channel_events_received == ["response.create"]
    assert record.audio_ms_played > 0 and record.connection_state == "connected"
    # Both ends of the nominated ICE pair are loopback, on each side; nothing was dropped.
    for pairs in (selected_pair(client.pc), record.selected_pair):
        assert pairs
        for local, remote in pairs:
            assert is_loopback(local[0]) and is_loopback(remote[0]), pairs
    assert guard.dropped == dropped


async def test_candidate_speech_is_transcribed_on_the_channel_and_the_sideband(
    fake_openai: RunningFake, sdk: AsyncOpenAI, call: tuple[WebRtcClient, str]
) -> None:
    fake_openai.fake.config.transcripts = ["I built a scheduling tool for our student union."]
    client, call_id = call
    async with sdk.realtime.connect(call_id=call_id) as sideband:
        created = (await collect_until(sideband, "session.created")).first("session.created")
        assert created.session.instructions == "You are an interviewer."  # type: ignore[union-attr]
        client.say(speech("I built a scheduling tool for our student union."))
        heard = await collect_until(sideband, "response.done")
    on_channel = await client.event("conversation.item.input_audio_transcription.completed")
    assert on_channel["transcript"] == "I built a scheduling tool for our student union."
    completed = heard.first("conversation.item.input_audio_transcription.completed")
    assert completed.transcript == on_channel["transcript"]
    assert heard.types.index("input_audio_buffer.speech_started") < heard.types.index("input_audio_buffer.speech_stopped")
    done = heard.first("response.done").response
    assert done.usage is not None and done.usage.input_token_details.audio_tokens > 0  # type: ignore[union-attr]
    assert "response.output_audio.delta" not in heard.types
    record = fake_openai.fake.last_call
    assert record.user_transcripts == ["I built a scheduling tool for our student union."]
    assert record.audio_ms_received > 0 and record.sidebands_joined == 1


async def test_barge_in_cuts_the_reply_at_what_was_played(
    fake_openai: RunningFake, call: tuple[WebRtcClient, str]
) -> None:
    fake_openai.fake.config.speech_ms_per_char = 60  # a long greeting (~5 s) to talk over
    client, _ = call
    client.send({"type": "response.create"})
    await client.event("output_audio_buffer.started")
    await client.until(lambda: client.loud_frames >= 25)
    client.say(speech("Sorry, may I ask something first?"))
    cleared = await client.event("output_audio_buffer.cleared")
    truncated = await client.event("conversation.item.truncated")
    done = client.of("response.done")[0]["response"]
    audio_ms = fake_openai.fake.last_call.responses[0].audio_ms  # all of it was generated
    assert cleared["response_id"] == done["id"]
    assert truncated["item_id"] == done["output"][0]["id"]
    assert 400 <= truncated["audio_end_ms"] < audio_ms
    types = client.types()
    assert types.index("input_audio_buffer.speech_started") < types.index("conversation.item.truncated")
    assert "output_audio_buffer.stopped" not in types[: types.index("output_audio_buffer.cleared")]
    record = fake_openai.fake.last_call
    assert record.barge_ins == 1
    assert record.audio_ms_played < audio_ms


async def test_hangup_ends_the_call_and_closes_the_sideband(
    fake_openai: RunningFake, sdk: AsyncOpenAI, call: tuple[WebRtcClient, str]
) -> None:
    _, call_id = call
    async with sdk.realtime.connect(call_id=call_id) as sideband:
        await collect_until(sideband, "session.created")
        await sdk.realtime.calls.hangup(call_id)
        closed = await collect_until_closed(sideband)
    assert closed.close_code == 1000
    record = fake_openai.fake.last_call
    assert record.ended and record.end_reason == "hangup"
    assert call_id not in fake_openai.fake.live_calls


async def test_a_client_clear_stops_the_audio_without_truncating(
    fake_openai: RunningFake, call: tuple[WebRtcClient, str]
) -> None:
    fake_openai.fake.config.speech_ms_per_char = 60
    client, _ = call
    client.send({"type": "response.create"})
    started = await client.event("output_audio_buffer.started")
    await client.until(lambda: client.loud_frames >= 5)
    client.send({"type": "output_audio_buffer.clear"})
    cleared = await client.event("output_audio_buffer.cleared")
    assert cleared["response_id"] == started["response_id"]
    assert "conversation.item.truncated" not in client.types()
    record = fake_openai.fake.last_call
    assert record.channel_events_received == ["response.create", "output_audio_buffer.clear"]
    assert record.barge_ins == 0
    assert 0 < record.audio_ms_played < record.responses[0].audio_ms
