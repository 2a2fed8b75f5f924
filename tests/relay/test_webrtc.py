"""WebRTC over /voice (issue 17) end to end over real sockets: an aiortc peer plays the
browser's media, a protocol client speaks /voice, the app places the call on the fake
and drives the interview over its sideband. All ICE stays on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.fixtures.app_server import RunningApp
from tests.fixtures.database import ADMIN_TOKEN
from tests.relay.stored import stored
from tests.relay.voice_client import CONTEXT, VoiceClient, voice_client
from tests.testing.webrtc_client import WebRtcClient, speech
from vivavoce.interview.time_limits import Limits
from vivavoce.realtime.relay import RelayLimits
from vivavoce.runtime import RuntimeOptions
from vivavoce.testing.scenarios import scenario_key
from vivavoce.testing.webrtc_loopback import install_loopback_only, is_loopback, selected_pair

MakeApp = Callable[..., RunningApp]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ANSWER = "I built a telemetry dashboard for a robotics team."


@asynccontextmanager
async def peers(app: RunningApp, **start: Any) -> AsyncIterator[tuple[WebRtcClient, VoiceClient]]:
    """A browser-like pair: the media peer and the /voice client, the offer sent."""
    async with WebRtcClient() as peer, voice_client(app.voice_url()) as client:
        await client.send_json({"type": "start_interview", "candidateContext": CONTEXT,
                                "webrtc": {"sdp": await peer.offer()}, **start})
        yield peer, client


async def connect_media(peer: WebRtcClient, client: VoiceClient) -> dict[str, Any]:
    answer = await client.until("webrtc_answer")
    assert set(answer) == {"type", "sdp"}  # no call id, no secret
    await peer.accept(answer["sdp"])
    await peer.connected()
    await client.send_json({"type": "webrtc_state", "state": "connected"})
    return await client.until("interview_started")


async def final_ai_text(client: VoiceClient) -> str:
    while True:
        message = await client.until("ai_transcription")
        if message["is_final"]:
            return str(message["text"])


async def test_an_interview_over_webrtc_with_the_server_on_the_sideband(
    make_app_server: MakeApp,
) -> None:
    guard = install_loopback_only()
    dropped = guard.dropped
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    fake.config.speech_ms_per_char = 15
    fake.config.transcripts = [ANSWER]
    async with peers(app) as (peer, client):
        assert (await client.until("interview_starting"))["type"] == "interview_starting"
        started = await connect_media(peer, client)
        assert started["transport"] == "webrtc"
        pairs_here = selected_pair(peer.pc)
        greeting = await final_ai_text(client)
        await client.until("usage")
        # The greeting is heard on the media track, not sent on /voice.
        await peer.until(lambda: peer.loud_frames >= 10)
        await peer.event("output_audio_buffer.stopped")
        peer.say(speech(ANSWER))
        heard = await client.until("student_transcription")
        assert heard["text"] == ANSWER
        await final_ai_text(client)
        await client.until("usage")
        await client.send_json({"type": "end_interview"})
        ended = await client.until("interview_ended")
        assert ended["reason"] == "candidate_ended"
        await client.until_closed()
    assert client.audio_frames == 0  # no audio on /voice while on WebRTC
    call = fake.calls[-1]
    assert call.media and call.sidebands_joined == 1
    # The sideband was the only Realtime socket: no relay socket opened early for a call
    # (web/voice_early.py).
    assert len(fake.sessions) == 1
    # The call got the interview's session config; the key stays the server's.
    assert "Ada Example" in call.session_config["instructions"]
    assert call.key_masked is not None and call.key_masked != scenario_key("ok")
    assert "session.update" in call.sideband_events_received
    assert call.sideband_events_received.index("session.update") < \
        call.sideband_events_received.index("response.create")
    # Hung up at the end; both ends of the nominated ICE pair on loopback.
    await asyncio.wait_for(_ended(call), 10)
    assert call.end_reason == "hangup"
    for pairs in (pairs_here, call.selected_pair):
        assert pairs
        for local, remote in pairs:
            assert is_loopback(local[0]) and is_loopback(remote[0]), pairs
    assert guard.dropped == dropped
    interview, turns = await stored(app.database_url, started["interview_id"])
    assert (interview.status, interview.end_reason) == ("ended", "candidate_ended")
    assert [(t.speaker, t.state) for t in turns][:3] == [
        ("interviewer", "complete"), ("candidate", "complete"), ("interviewer", "complete")]
    assert turns[0].text == greeting and turns[1].text == ANSWER
    assert interview.output_audio_tokens > 0 and interview.cost_usd > 0


async def _ended(call: Any) -> None:
    while not call.ended:
        await asyncio.sleep(0.05)


async def test_a_barge_in_on_webrtc_is_cut_by_openai_not_truncated_by_the_server(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    fake.config.speech_ms_per_char = 60  # a long greeting to talk over
    async with peers(app) as (peer, client):
        await connect_media(peer, client)
        await peer.event("output_audio_buffer.started")
        await peer.until(lambda: peer.loud_frames >= 25)
        peer.say(speech("Sorry, may I ask something first?"))
        await client.until("student_speech_started")
        await peer.event("output_audio_buffer.cleared")
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    call = fake.calls[-1]
    assert call.barge_ins == 1
    # OpenAI cut the reply itself (it plays the audio); the server sent no truncate.
    assert "conversation.item.truncate" not in call.sideband_events_received


async def test_the_time_limit_ends_the_call_after_the_spoken_goodbye(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server(options=RuntimeOptions(
        interview_limits=Limits(max_duration_s=1.0), relay_limits=RelayLimits(tick_s=0.1)))
    fake = app.fake.fake  # type: ignore[union-attr]
    fake.config.speech_ms_per_char = 15
    async with peers(app) as (peer, client):
        await connect_media(peer, client)
        ended = await client.until("interview_ended")
        assert ended["reason"] == "time_limit"
        await client.until_closed()
    call = fake.calls[-1]
    assert call.sideband_events_received[-2:] == ["input_audio_buffer.clear", "response.create"]
    # The goodbye was heard to its end before the call was hung up.
    goodbye = call.responses[-1]
    assert call.events_sent[-1] == "output_audio_buffer.stopped"
    assert call.audio_ms_played >= sum(r.audio_ms for r in call.responses) - 100, goodbye
    await asyncio.wait_for(_ended(call), 10)
    assert call.end_reason == "hangup"


async def test_a_refused_key_is_named_as_on_the_relay(make_app_server: MakeApp) -> None:
    app = make_app_server(api_key=scenario_key("invalid"))
    async with peers(app) as (_, client):
        error = await client.until("error")
        await client.until_closed()
    assert error["code"] == "invalid_api_key" and error["fatal"] is True
    assert "webrtc_answer" not in client.types() and "webrtc_fallback" not in client.types()
    assert scenario_key("invalid") not in json.dumps(client.messages)


async def test_the_relay_takes_over_when_the_media_never_connects(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server(VIVAVOCE_WEBRTC_CONNECT_TIMEOUT_S="0.5",
                          options=RuntimeOptions(relay_limits=RelayLimits(tick_s=0.1)))
    fake = app.fake.fake  # type: ignore[union-attr]
    async with peers(app) as (_, client):
        await client.until("webrtc_answer")  # the room never reports "connected"
        fallback = await client.until("webrtc_fallback")
        assert fallback == {"type": "webrtc_fallback", "reason": "media_timeout"}
        started = await client.until("interview_started")
        assert started["transport"] == "relay"
        await client.until("usage")
        assert client.audio_frames > 0  # the greeting comes over /voice now
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    assert client.types().count("interview_starting") == 1
    call = fake.calls[-1]
    assert call.ended and call.end_reason == "hangup"
    assert "response.create" not in call.sideband_events_received  # the AI never spoke there
    assert fake.last_session.events_received.count("response.create") == 1


async def test_a_failed_media_falls_back_at_once(make_app_server: MakeApp) -> None:
    app = make_app_server()
    async with peers(app) as (_, client):
        await client.until("webrtc_answer")
        await client.send_json({"type": "webrtc_state", "state": "failed"})
        fallback = await client.until("webrtc_fallback")
        assert fallback["reason"] == "media_failed"
        assert (await client.until("interview_started"))["transport"] == "relay"
        await client.send_json({"type": "end_interview"})
        await client.until_closed()


async def test_the_relay_setting_ignores_an_offer(make_app_server: MakeApp) -> None:
    app = make_app_server(VIVAVOCE_TRANSPORT="relay")
    fake = app.fake.fake  # type: ignore[union-attr]
    calls = len(fake.calls)
    async with peers(app) as (_, client):
        await client.until("interview_starting")
        assert (await client.receive_one()) == {"type": "webrtc_fallback", "reason": "disabled"}
        assert (await client.until("interview_started"))["transport"] == "relay"
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    assert "webrtc_answer" not in client.types() and len(fake.calls) == calls


async def test_a_client_without_an_offer_is_relayed_whatever_the_setting(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server(VIVAVOCE_TRANSPORT="webrtc")
    fake = app.fake.fake  # type: ignore[union-attr]
    calls = len(fake.calls)
    async with voice_client(app.voice_url()) as client:
        started = await client.start()
        assert started["transport"] == "relay"
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    assert "webrtc_fallback" not in client.types() and len(fake.calls) == calls


async def test_a_forced_delete_and_a_browser_gone_hang_the_call_up(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    async with peers(app) as (peer, client):
        started = await connect_media(peer, client)
        await client.until("usage")
        async with httpx.AsyncClient(base_url=app.server.http_url, timeout=30) as http:
            deleted = await http.delete(f"/api/interviews/{started['interview_id']}?force=true",
                                        headers=ADMIN)
        assert deleted.status_code == 204
        assert (await client.until("interview_ended"))["reason"] == "removed_by_operator"
        removed = fake.calls[-1]
        await asyncio.wait_for(_ended(removed), 10)  # the media peer is still open
    assert removed.end_reason == "hangup"
    # The browser just leaves (its tab closes) while the call is live.
    async with peers(app) as (peer, client):
        await connect_media(peer, client)
        await client.until("usage")
        call = fake.calls[-1]
        await client.ws.close()
        await asyncio.wait_for(_ended(call), 10)  # the media peer is still open meanwhile
    assert call is not removed and call.end_reason == "hangup"


async def test_a_dropped_sideband_is_rejoined_and_the_interview_goes_on(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    fake.config.speech_ms_per_char = 15
    fake.config.transcripts = [ANSWER]
    fake.config.close_after_s = 2.0  # the server's socket to the call drops (1011)
    async with peers(app) as (peer, client):
        await connect_media(peer, client)
        resumed = await client.until("interview_resumed")
        fake.config.close_after_s = None
        assert resumed["attempt"] == 1
        await peer.event("output_audio_buffer.stopped")
        peer.say(speech(ANSWER))
        assert (await client.until("student_transcription"))["text"] == ANSWER
        await final_ai_text(client)
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    call = fake.calls[-1]
    assert call.sidebands_joined == 2 and call.end_reason == "hangup"
    # The call kept its conversation: nothing seeded again, no "welcome back".
    received = call.sideband_events_received
    assert "conversation.item.create" not in received and received.count("response.create") == 1


async def test_a_call_refused_for_its_offer_is_relayed(
    make_app_server: MakeApp, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vivavoce.testing import fake_calls, fake_errors

    async def refuse(request: Any) -> Any:
        raise fake_errors.FakeOpenAIError(fake_errors.invalid_request(
            "Invalid SDP offer: refused by the test.", param="sdp"))

    monkeypatch.setattr(fake_calls, "_offer_and_session", refuse)
    app = make_app_server()
    async with peers(app) as (_, client):
        fallback = await client.until("webrtc_fallback")
        assert fallback == {"type": "webrtc_fallback", "reason": "call_refused"}
        assert (await client.until("interview_started"))["transport"] == "relay"
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    assert "webrtc_answer" not in client.types() and "error" not in client.types()
