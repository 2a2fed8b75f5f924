"""The room over WebRTC end to end (issue 17): Chromium's fake microphone on a real
RTCPeerConnection to the fake OpenAI's aiortc peer; the app's /voice places the call
with its own key, runs the interview over the call's sideband and stores it.

Chromium, the app and the fake run in a network namespace whose only interface is
loopback (tests/browser/netns.py); the tests assert the selected candidate pair is 127/8
at both ends, in the browser and in the fake, and that the fake's guard dropped nothing.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ADMIN_TOKEN, BrowserPage, LiveApp, end_interview
from tests.browser.netns import NetNamespace
from tests.browser.webrtc_page import CAPTURE_PEERS, assert_loopback_pair, peer_stats, wait_for
from vivavoce.interview.session import Limits
from vivavoce.runtime import RuntimeOptions
from vivavoce.testing.fake_openai import FakeConfig
from vivavoce.testing.webrtc_loopback import install_loopback_only

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]

ANSWERS = [
    "I am a final year computer science student and I enjoy building compilers and "
    "small developer tools in Python for my classmates.",
    "In my last project I led a team of four students, planned the work in weekly "
    "milestones and we delivered the parser two weeks early.",
]
LONG_LINE = "Let me tell you about this role in some detail before we begin. " * 5
WAIT_S = 40.0  # a hang guard, never a speed requirement


def until(page: Any, check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class VoiceFrames:
    """What went over the page's /voice socket, as Chromium saw it (observed, not routed:
    Playwright's driver is outside the namespace)."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    binary_sent: int = 0
    binary_received: int = 0

    def watch(self, ws: Any) -> None:
        if "/voice" not in ws.url:
            return
        ws.on("framesent", lambda payload: self.note(payload, self.sent, "binary_sent"))
        ws.on("framereceived", lambda payload: self.note(payload, self.received, "binary_received"))

    def note(self, payload: str | bytes, into: list[dict[str, Any]], counter: str) -> None:
        if isinstance(payload, bytes):
            setattr(self, counter, getattr(self, counter) + len(payload))
        else:
            into.append(json.loads(payload))

    def of(self, kind: str, *, sent: bool = False) -> list[dict[str, Any]]:
        return [m for m in (self.sent if sent else self.received) if m.get("type") == kind]


@dataclass
class Room:
    tab: BrowserPage
    frames: VoiceFrames
    created: dict[str, Any]

    @property
    def page(self) -> Any:
        return self.tab.page


def open_room(open_page: OpenPage, app: LiveApp, netns: NetNamespace, **settings: Any) -> Room:
    created = netns.run(app.create_interview, settings or None)
    tab = open_page()
    frames = VoiceFrames()
    tab.page.on("websocket", frames.watch)
    tab.page.add_init_script(CAPTURE_PEERS)
    tab.page.goto(created["candidate_url"])
    tab.page.get_by_role("button", name="Begin the interview").click()
    # Muted first, so the fake microphone's loop does not barge in on the greeting.
    tab.page.get_by_role("button", name="Mute microphone").click()
    return Room(tab, frames, created)


def stored_turns(app: LiveApp, netns: NetNamespace, interview_id: str) -> list[dict[str, Any]]:
    def get() -> list[dict[str, Any]]:
        with httpx.Client(
            base_url=app.url, timeout=10, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as client:
            response = client.get(f"/api/interviews/{interview_id}/transcript")
            response.raise_for_status()
            turns: list[dict[str, Any]] = response.json()["turns"]
            return turns

    return netns.run(get)


def assert_on_loopback(room: Room, app: LiveApp) -> None:
    assert_loopback_pair(peer_stats(room.page))
    call = app.fake.fake.calls[-1]
    assert call.selected_pair
    for local, remote in call.selected_pair:
        assert ipaddress.ip_address(local[0]).is_loopback
        assert ipaddress.ip_address(remote[0]).is_loopback


def test_an_interview_over_webrtc_greets_hears_the_candidate_and_stores_the_transcript(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace
) -> None:
    assert netns.interfaces() == ["lo"]
    guard = install_loopback_only()
    dropped = guard.dropped
    app = netns_live_app(
        fake_config=FakeConfig(audio_pace=0.0, transcripts=list(ANSWERS)),
        VIVAVOCE_TRANSPORT="webrtc",
    )
    room = open_room(netns_open_page, app, netns)
    page = room.page
    page.wait_for_selector("main[data-phase=live]")
    page.wait_for_selector("main[data-media=webrtc]")
    (start,) = room.frames.of("start_interview", sent=True)
    assert "m=audio" in start["webrtc"]["sdp"]
    assert room.frames.of("webrtc_answer")
    assert [m["state"] for m in room.frames.of("webrtc_state", sent=True)] == ["connected"]
    assert room.frames.of("interview_started")[-1]["transport"] == "webrtc"

    # The greeting is heard on the call's track, its words are in the transcript.
    until(page, lambda: peer_stats(page)["energy"] > 0, "remote audio energy")
    wait_for(page, "document.querySelector('main').dataset.playing === 'true'")
    page.wait_for_selector(".turn-interviewer[data-final=true]")
    assert "thank you for joining" in page.locator(".turn-interviewer").first.inner_text()
    assert_on_loopback(room, app)
    room.tab.snap("room-webrtc-live")
    wait_for(page, "document.querySelector('main').dataset.playing === 'false'", 40_000)

    # Unmuted, the candidate's voice reaches OpenAI on the track; the transcript comes
    # back on /voice and is stored.
    page.get_by_role("button", name="Unmute microphone").click()
    page.wait_for_selector(".turn-candidate[data-final=true]", timeout=40_000)
    assert page.locator(".turn-candidate[data-final=true] .text").first.inner_text() == ANSWERS[0]
    # No audio on /voice either way while on WebRTC.
    assert room.frames.binary_sent == 0 and room.frames.binary_received == 0

    end_interview(page)
    page.wait_for_selector("main[data-phase=ended]")
    assert peer_stats(page)["signaling"] == "closed"
    call = app.fake.fake.calls[-1]
    until(page, lambda: call.ended, "the call hung up")
    turns = stored_turns(app, netns, room.created["id"])
    assert [t["text"] for t in turns if t["speaker"] == "candidate"][0] == ANSWERS[0]
    assert "thank you for joining" in turns[0]["text"].lower()
    assert guard.dropped == dropped
    assert app.key not in page.content()


def barge_in(open_page: OpenPage, start_app: StartApp, netns: NetNamespace) -> tuple[Room, LiveApp]:
    """A long greeting over WebRTC, the candidate speaking over it, then the end."""
    config = FakeConfig(audio_pace=0.0, transcripts=list(ANSWERS), responder=lambda v: LONG_LINE)
    app = start_app(fake_config=config, VIVAVOCE_TRANSPORT="webrtc")
    room = open_room(open_page, app, netns)
    page = room.page
    page.wait_for_selector("main[data-media=webrtc]")
    wait_for(page, "document.querySelector('main').dataset.playing === 'true'")
    # ~19 s of greeting; the candidate speaks over it (the microphone's next burst).
    page.get_by_role("button", name="Unmute microphone").click()
    call = app.fake.fake.calls[-1]
    until(page, lambda: call.barge_ins > 0, "a barge-in on the call")
    until(page, lambda: room.frames.of("student_speech_started"), "student_speech_started")
    page.wait_for_selector(".turn-candidate[data-final=true]", timeout=40_000)
    assert_on_loopback(room, app)
    end_interview(page)
    page.wait_for_selector("main[data-phase=ended]")
    return room, app


def test_a_barge_in_over_webrtc_cuts_the_interviewer(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace
) -> None:
    room, app = barge_in(netns_open_page, netns_live_app, netns)
    # The call cut the reply where the candidate stopped hearing it, and the room heard
    # the candidate's turn through: the candidate's answer is stored after the cut reply.
    assert app.fake.fake.calls[-1].barge_ins >= 1
    assert room.page.locator(".turn-candidate[data-final=true] .text").first.inner_text()
    turns = stored_turns(app, netns, room.created["id"])
    assert [t["speaker"] for t in turns[:2]] == ["interviewer", "candidate"]


def test_the_time_limit_ends_a_webrtc_interview_and_hangs_up(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace
) -> None:
    app = netns_live_app(
        fake_config=FakeConfig(audio_pace=0.0),
        options=RuntimeOptions(interview_limits=Limits(max_duration_s=4, wrap_up_grace_s=30)),
        VIVAVOCE_TRANSPORT="webrtc",
    )
    room = open_room(netns_open_page, app, netns)
    page = room.page
    page.wait_for_selector("main[data-media=webrtc]")
    page.wait_for_selector("main[data-phase=ended]", timeout=60_000)
    (ended,) = room.frames.of("interview_ended")
    assert ended["reason"] == "time_limit"
    assert peer_stats(page)["signaling"] == "closed"
    call = app.fake.fake.calls[-1]
    # Ended by the server's hangup or the room's close on interview_ended, whichever
    # reaches the fake first (the server's hangup itself: tests/relay/test_webrtc.py).
    until(page, lambda: call.ended, "the call ended")
    assert call.end_reason in {"hangup", "peer_closed"}


def test_a_dropped_socket_resumes_the_interview_on_a_new_call(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace
) -> None:
    app = netns_live_app(
        fake_config=FakeConfig(audio_pace=0.0, transcripts=list(ANSWERS)),
        VIVAVOCE_TRANSPORT="webrtc",
    )
    room = open_room(netns_open_page, app, netns)
    page = room.page
    room.tab.console.allow("ERR_INTERNET_DISCONNECTED")  # the reconnect attempts, offline
    page.wait_for_selector("main[data-media=webrtc]")
    page.wait_for_selector(".turn-interviewer[data-final=true]")
    # The browser goes offline: /voice is given up (no pongs) and reopened meanwhile; the
    # call is kept until the new start (closing it would end the call under the server,
    # which would end the interview instead of keeping it for the link).
    page.context.set_offline(True)
    page.wait_for_selector("main[data-phase=reconnecting]")
    page.context.set_offline(False)
    page.wait_for_selector("main[data-resumed='1']", timeout=40_000)
    page.wait_for_selector("main[data-media=webrtc]")
    starts = room.frames.of("start_interview", sent=True)
    assert len(starts) == 2 and all("webrtc" in s for s in starts)
    assert room.frames.of("interview_started")[-1]["transport"] == "webrtc"
    assert not room.frames.of("interview_ended")
    first, second = app.fake.fake.calls
    until(page, lambda: first.ended, "the first call hung up")
    assert first.end_reason == "hangup" and not second.ended
    until(page, lambda: peer_stats(page)["energy"] > 0, "the new call's audio")
    assert_on_loopback(room, app)
    end_interview(page)
    page.wait_for_selector("main[data-phase=ended]")


def test_a_refused_key_is_named_and_no_call_is_left_open(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace
) -> None:
    app = netns_live_app(scenario="invalid", VIVAVOCE_TRANSPORT="webrtc")
    room = open_room(netns_open_page, app, netns)
    page = room.page
    page.wait_for_selector("main[data-phase=retry]")
    error = page.locator("#room-error")
    assert error.get_attribute("data-code") == "invalid_api_key"
    assert error.get_attribute("data-cause") == "key_invalid"
    assert "key_invalid" in page.locator("#room-error-ref").inner_text()
    assert peer_stats(page)["signaling"] == "closed"
    assert not app.fake.fake.live_calls
    assert app.key not in page.content()


def test_udp_blocked_falls_back_to_the_relay_on_the_same_socket(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace
) -> None:
    app = netns_live_app(
        fake_config=FakeConfig(audio_pace=0.0, transcripts=list(ANSWERS)),
        VIVAVOCE_TRANSPORT="auto",
        VIVAVOCE_WEBRTC_CONNECT_TIMEOUT_S="2",
    )
    with netns.udp_blocked():
        room = open_room(netns_open_page, app, netns)
        page = room.page
        page.wait_for_selector("main[data-phase=live]", timeout=30_000)
        assert page.locator("main").get_attribute("data-media") == "relay"
        (fallback,) = room.frames.of("webrtc_fallback")
        assert fallback["reason"] == "media_timeout"
        assert room.frames.of("interview_started")[-1]["transport"] == "relay"
        assert peer_stats(page)["signaling"] == "closed"
        # The same interview, relayed: the greeting plays from /voice, the candidate's
        # voice goes up as PCM and comes back as a transcript; one start only.
        wait_for(page, "Number(document.querySelector('main').dataset.aiSamples) > 24000")
        page.wait_for_selector(".turn-interviewer[data-final=true]")
        wait_for(page, "document.querySelector('main').dataset.playing === 'false'", 40_000)
        page.get_by_role("button", name="Unmute microphone").click()
        page.wait_for_selector(".turn-candidate[data-final=true]", timeout=40_000)
        assert room.frames.binary_sent > 0
        assert len(room.frames.of("start_interview", sent=True)) == 1
        call = app.fake.fake.calls[-1]
        assert call.ended
        end_interview(page)
        page.wait_for_selector("main[data-phase=ended]")
    turns = stored_turns(app, netns, room.created["id"])
    assert [t["text"] for t in turns if t["speaker"] == "candidate"][0] == ANSWERS[0]


def test_the_relay_setting_offers_no_call(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace
) -> None:
    app = netns_live_app(VIVAVOCE_TRANSPORT="relay")
    room = open_room(netns_open_page, app, netns)
    page = room.page
    page.wait_for_selector("main[data-phase=live]")
    assert page.locator("main").get_attribute("data-transport") == "relay"
    (start,) = room.frames.of("start_interview", sent=True)
    assert "webrtc" not in start
    assert page.evaluate("() => window.__peers.length") == 0
    assert not app.fake.fake.calls
    assert re.search(r"relay", room.frames.of("interview_started")[-1].get("transport", "relay"))


def test_a_call_lost_mid_interview_goes_on_over_the_relay(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace
) -> None:
    import asyncio

    app = netns_live_app(
        fake_config=FakeConfig(audio_pace=0.0, transcripts=list(ANSWERS)),
        VIVAVOCE_TRANSPORT="auto",
    )
    room = open_room(netns_open_page, app, netns)
    page = room.page
    page.wait_for_selector("main[data-media=webrtc]")
    page.wait_for_selector(".turn-interviewer[data-final=true]")
    wait_for(page, "document.querySelector('main').dataset.playing === 'false'", 40_000)
    assert room.frames.binary_received == 0
    # OpenAI's side of the call goes away (its peer closes) while /voice is still up.
    fake = app.fake.fake
    call = fake.calls[-1]
    live = fake.live_calls[call.call_id]
    asyncio.run_coroutine_threadsafe(live.end("peer_closed"), live.loop).result(10)
    page.wait_for_selector("main[data-media=relay]", timeout=30_000)
    until(page, lambda: room.frames.of("webrtc_fallback"), "webrtc_fallback")
    assert room.frames.of("webrtc_fallback")[0]["reason"] == "media_lost"
    until(page, lambda: room.frames.of("interview_resumed"), "interview_resumed")
    assert page.locator("main").get_attribute("data-fallback-reason") == "media_lost"
    assert peer_stats(page)["signaling"] == "closed"
    # The same interview, relayed from here: the interviewer picks up over /voice, the
    # candidate's voice goes up as PCM and is transcribed; one start only.
    until(page, lambda: room.frames.binary_received > 0, "AI audio over /voice")
    wait_for(page, "document.querySelector('main').dataset.playing === 'false'", 40_000)
    page.get_by_role("button", name="Unmute microphone").click()
    page.wait_for_selector(".turn-candidate[data-final=true]", timeout=40_000)
    assert room.frames.binary_sent > 0
    assert len(room.frames.of("start_interview", sent=True)) == 1
    assert not room.frames.of("interview_ended")
    end_interview(page)
    page.wait_for_selector("main[data-phase=ended]")
    turns = stored_turns(app, netns, room.created["id"])
    assert [t["text"] for t in turns if t["speaker"] == "candidate"][0] == ANSWERS[0]
    assert call.end_reason == "peer_closed"
