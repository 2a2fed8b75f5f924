"""The WebRTC rules (interview/media.py), event by event through the core: which
transport, waiting for the browser's media before the AI speaks, the fallback to the
relay, the goodbye heard before the end, and audio on /voice ignored while on WebRTC."""

from __future__ import annotations

import json
from typing import Any

from vivavoce.interview.actions import (
    Action,
    AppendAudio,
    CloseUpstream,
    ConnectUpstream,
    CreateCall,
    HangUpCall,
    ReconnectUpstream,
    SendJson,
    SendUpstream,
)
from vivavoce.interview.errors import UpstreamProblem
from vivavoce.interview.media import Media
from vivavoce.interview.session import InterviewSession, Limits, Phase
from vivavoce.realtime.errors import make_error_describer

T0 = 1_000_000.0
UPDATE: Any = {"type": "session.update", "session": {"type": "realtime", "instructions": "x"}}
OFFER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"


def session(transport: str = "auto", **limits: Any) -> InterviewSession:
    s = InterviewSession(model="gpt-realtime", describe_error=make_error_describer("local"),
                         limits=Limits(**limits), media=Media(transport, 5.0))  # type: ignore[arg-type]
    s.connected(T0)
    return s


def sent(actions: list[Action]) -> list[dict[str, Any]]:
    return [a.message for a in actions if isinstance(a, SendJson)]


def start(s: InterviewSession, webrtc: Any = None) -> list[Action]:
    message: dict[str, Any] = {"type": "start_interview"}
    if webrtc is not None:
        message["webrtc"] = webrtc
    return s.browser_text(json.dumps(message), T0)


def placed(s: InterviewSession) -> list[Action]:
    """Offer → prepared → call_created → sideband opened → session.updated."""
    start(s, {"sdp": OFFER})
    actions = s.prepared("iv-1", UPDATE, T0)
    assert [a for a in actions if isinstance(a, CreateCall)] == [
        CreateCall(OFFER, UPDATE["session"])]
    assert not [a for a in actions if isinstance(a, ConnectUpstream)]
    created = s.call_created("v=0 answer", T0 + 0.1)
    assert sent(created) == [{"type": "webrtc_answer", "sdp": "v=0 answer"}]
    assert ConnectUpstream() in created
    opened = s.upstream_opened(T0 + 0.2)
    assert [a.event["type"] for a in opened if isinstance(a, SendUpstream)] == ["session.update"]
    return s.upstream_event({"type": "session.updated"}, T0 + 0.3)


def test_no_offer_is_relayed_whatever_the_setting() -> None:
    s = session("webrtc")
    assert [m["type"] for m in sent(start(s))] == ["interview_starting"]
    assert ConnectUpstream() in s.prepared("iv-1", UPDATE, T0)
    s.upstream_opened(T0)
    live = s.upstream_event({"type": "session.updated"}, T0 + 1)
    started = [m for m in sent(live) if m["type"] == "interview_started"]
    assert started[0]["transport"] == "relay"


def test_the_relay_setting_ignores_an_offer_and_says_so() -> None:
    s = session("relay")
    messages = sent(start(s, {"sdp": OFFER}))
    assert messages[:2] == [messages[0], {"type": "webrtc_fallback", "reason": "disabled"}]
    assert messages[0]["type"] == "interview_starting"
    assert ConnectUpstream() in s.prepared("iv-1", UPDATE, T0)


def test_a_malformed_offer_is_named_and_relayed() -> None:
    s = session()
    messages = sent(start(s, {"sdp": 3}))
    assert messages[1]["type"] == "error" and messages[1]["code"] == "invalid_webrtc_offer"
    assert messages[1]["fatal"] is False
    assert ConnectUpstream() in s.prepared("iv-1", UPDATE, T0)


def test_the_ai_speaks_only_once_the_browser_media_is_connected() -> None:
    s = session()
    held = placed(s)
    assert s.phase is Phase.CONFIGURING
    assert not [a for a in held if isinstance(a, SendUpstream)] and not sent(held)
    live = s.browser_text(json.dumps({"type": "webrtc_state", "state": "connected"}), T0 + 1)
    assert s.phase is Phase.LIVE
    assert [a.event for a in live if isinstance(a, SendUpstream)] == [{"type": "response.create"}]
    started = [m for m in sent(live) if m["type"] == "interview_started"]
    assert started[0]["transport"] == "webrtc"


def test_connected_before_the_sideband_is_configured_goes_live_on_session_updated() -> None:
    s = session()
    start(s, {"sdp": OFFER})
    s.prepared("iv-1", UPDATE, T0)
    s.call_created("answer", T0)
    s.upstream_opened(T0)
    assert s.browser_text(json.dumps({"type": "webrtc_state", "state": "connected"}), T0)
    assert s.phase is Phase.CONFIGURING
    live = s.upstream_event({"type": "session.updated"}, T0 + 1)
    assert s.phase is Phase.LIVE and "interview_started" in [m["type"] for m in sent(live)]


def test_no_connected_within_the_timeout_hangs_up_and_relays_on_the_same_socket() -> None:
    s = session()
    placed(s)
    assert s.tick(T0 + 4.0) == []  # 3.9 s after the answer: still waiting
    actions = s.tick(T0 + 5.2)
    assert actions[0] == HangUpCall()
    assert sent(actions) == [{"type": "webrtc_fallback", "reason": "media_timeout"}]
    assert ConnectUpstream() in actions and s.phase is Phase.CONNECTING
    # The relay's session: configured, then live with the relay's transport.
    assert [a.event["type"] for a in s.upstream_opened(T0 + 5.3)
            if isinstance(a, SendUpstream)] == ["session.update"]
    live = s.upstream_event({"type": "session.updated"}, T0 + 5.4)
    started = [m for m in sent(live) if m["type"] == "interview_started"]
    assert started[0]["transport"] == "relay"
    # A late "connected" changes nothing; the microphone now comes over /voice.
    assert s.browser_text(json.dumps({"type": "webrtc_state", "state": "connected"}),
                          T0 + 6)[0].level == "debug"  # type: ignore[union-attr]
    assert isinstance(s.browser_audio(b"\x01\x00" * 480, T0 + 6)[0], AppendAudio)


def test_failed_before_connecting_falls_back_at_once() -> None:
    s = session()
    placed(s)
    actions = s.browser_text(json.dumps({"type": "webrtc_state", "state": "failed"}), T0 + 1)
    assert actions[0] == HangUpCall()
    assert sent(actions) == [{"type": "webrtc_fallback", "reason": "media_failed"}]
    assert s.phase is Phase.CONNECTING


def live_on_call(s: InterviewSession) -> None:
    placed(s)
    s.browser_text(json.dumps({"type": "webrtc_state", "state": "connected"}), T0 + 1)
    assert s.phase is Phase.LIVE


def test_failed_after_connecting_falls_back_to_the_relay_seeded() -> None:
    s = session()
    live_on_call(s)
    later = s.browser_text(json.dumps({"type": "webrtc_state", "state": "failed"}), T0 + 2)
    assert HangUpCall() in later and s.phase is Phase.RECOVERING
    assert {"type": "webrtc_fallback", "reason": "media_lost"} in sent(later)
    assert [a for a in later if isinstance(a, ReconnectUpstream)]
    assert ConnectUpstream() not in later
    # The relay's new session is seeded with the conversation and the interview goes on.
    s.upstream_opened(T0 + 3)
    resumed = s.upstream_event({"type": "session.updated"}, T0 + 4)
    assert s.phase is Phase.LIVE
    assert [m["type"] for m in sent(resumed)] == ["interview_resumed"]
    assert [a.event["type"] for a in resumed if isinstance(a, SendUpstream)][-1] == "response.create"


def test_disconnected_after_connecting_has_the_connect_timeout_to_come_back() -> None:
    s = session()
    live_on_call(s)
    s.browser_text(json.dumps({"type": "webrtc_state", "state": "disconnected"}), T0 + 2)
    assert s.tick(T0 + 4) == [] and s.phase is Phase.LIVE
    s.browser_text(json.dumps({"type": "webrtc_state", "state": "connected"}), T0 + 5)
    assert s.tick(T0 + 30) == [] and s.phase is Phase.LIVE
    s.browser_text(json.dumps({"type": "webrtc_state", "state": "disconnected"}), T0 + 31)
    lost = s.tick(T0 + 36.5)
    assert HangUpCall() in lost and s.phase is Phase.RECOVERING
    assert {"type": "webrtc_fallback", "reason": "media_lost"} in sent(lost)


def test_the_call_ending_under_a_live_interview_falls_back() -> None:
    s = session()
    live_on_call(s)
    closed = s.upstream_closed(1000, "", T0 + 2)
    assert {"type": "webrtc_fallback", "reason": "media_lost"} in sent(closed)
    assert s.phase is Phase.RECOVERING


def test_the_relay_s_normal_close_is_not_a_lost_call() -> None:
    s = session("relay")
    start(s)
    s.prepared("iv-1", UPDATE, T0)
    s.upstream_opened(T0)
    s.upstream_event({"type": "session.updated"}, T0 + 1)
    closed = s.upstream_closed(1000, "", T0 + 2)
    assert not [m for m in sent(closed) if m["type"] == "webrtc_fallback"]
    assert s.phase is Phase.ENDED


def test_a_bad_state_is_named() -> None:
    s = session()
    placed(s)
    error = sent(s.browser_text(json.dumps({"type": "webrtc_state", "state": "up"}), T0))
    assert error[0]["type"] == "error" and error[0]["fatal"] is False


def test_a_refused_call_with_a_fatal_cause_fails_as_the_relay_does() -> None:
    s = session()
    start(s, {"sdp": OFFER})
    s.prepared("iv-1", UPDATE, T0)
    actions = s.call_failed(UpstreamProblem(phase="connect", status=401,
                                            error_type="invalid_request_error",
                                            code="invalid_api_key", message="Incorrect key"), T0)
    errors = [m for m in sent(actions) if m["type"] == "error"]
    assert errors[0]["code"] == "invalid_api_key" and errors[0]["fatal"] is True
    assert s.phase is Phase.ENDED and "webrtc_fallback" not in [m["type"] for m in sent(actions)]


def test_a_refused_call_with_a_passing_cause_is_relayed() -> None:
    s = session()
    start(s, {"sdp": OFFER})
    s.prepared("iv-1", UPDATE, T0)
    actions = s.call_failed(UpstreamProblem(phase="connect", status=400,
                                            error_type="invalid_request_error",
                                            message="Invalid SDP offer"), T0)
    assert sent(actions) == [{"type": "webrtc_fallback", "reason": "call_refused"}]
    assert ConnectUpstream() in actions and HangUpCall() not in actions
    assert s.phase is Phase.CONNECTING


def test_audio_on_voice_is_ignored_while_on_webrtc() -> None:
    s = session()
    placed(s)
    s.browser_text(json.dumps({"type": "webrtc_state", "state": "connected"}), T0 + 1)
    ignored = s.browser_audio(b"\x01\x00" * 480, T0 + 2)
    assert [a.level for a in ignored] == ["debug"]  # type: ignore[union-attr]


def goodbye(s: InterviewSession, at: float) -> None:
    s.upstream_event({"type": "response.created", "response": {"id": "bye"}}, at)
    s.upstream_event({"type": "response.done", "response": {"id": "bye", "status": "completed",
                                                             "output": []}}, at)


def test_the_time_limit_ends_once_the_goodbye_has_been_heard() -> None:
    s = session(max_duration_s=60.0)
    placed(s)
    s.browser_text(json.dumps({"type": "webrtc_state", "state": "connected"}), T0 + 1)
    s.upstream_event({"type": "output_audio_buffer.started", "response_id": "hello"}, T0 + 2)
    wrap = s.tick(T0 + 61.5)
    assert s.phase is Phase.ENDING and any(isinstance(a, SendUpstream) for a in wrap)
    goodbye(s, T0 + 62)
    # The greeting's audio stops: not the goodbye, so the end still waits.
    s.upstream_event({"type": "output_audio_buffer.stopped", "response_id": "hello"}, T0 + 63)
    s.upstream_event({"type": "output_audio_buffer.started", "response_id": "bye"}, T0 + 63)
    assert s.tick(T0 + 70) == []
    s.upstream_event({"type": "output_audio_buffer.stopped", "response_id": "bye"}, T0 + 71)
    assert s.tick(T0 + 71.2) == []  # the last word's half second
    ended = s.tick(T0 + 71.6)
    assert CloseUpstream() in ended
    assert [m["reason"] for m in sent(ended) if m["type"] == "interview_ended"] == ["time_limit"]


def test_the_interviewer_playing_is_not_idleness() -> None:
    s = session(idle_timeout_s=10.0)
    placed(s)
    s.browser_text(json.dumps({"type": "webrtc_state", "state": "connected"}), T0 + 1)
    s.upstream_event({"type": "output_audio_buffer.started", "response_id": "r"}, T0 + 2)
    assert s.tick(T0 + 20) == []
    s.upstream_event({"type": "output_audio_buffer.stopped", "response_id": "r"}, T0 + 21)
    ended = s.tick(T0 + 32)
    assert [m["reason"] for m in sent(ended) if m["type"] == "interview_ended"] == ["idle_timeout"]
