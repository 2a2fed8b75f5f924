"""The room's WebRTC side on its own (docs/web.md "The room's two transports"): Chromium's
real RTCPeerConnection against the fake OpenAI's aiortc peer, with /voice played by a
stub that speaks the agreed messages (tests/browser/stub_voice.py). The app serves the
pages; the page's ``data-transport`` is set by the test. Chromium and the servers run in a
network namespace whose only interface is loopback (tests/browser/netns.py).
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.conftest import BrowserPage, LiveApp
from tests.browser.netns import NetNamespace
from tests.browser.stub_voice import StubVoice
from tests.browser.webrtc_page import (
    CAPTURE_PEERS,
    assert_loopback_pair,
    peer_stats,
    serve_transport,
    wait_for,
)
from vivavoce.testing.fake_openai import FakeConfig
from vivavoce.testing.webrtc_loopback import install_loopback_only

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]

LONG_LINE = "Let me tell you about this role in some detail before we begin. " * 5
WAIT_S = 30.0  # a hang guard, never a speed requirement


def until(check: Callable[[], Any], what: str, page: Any) -> Any:
    """Poll ``check`` (letting the page's events run) until it is truthy."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def stubs() -> Iterator[list[StubVoice]]:
    made: list[StubVoice] = []
    yield made
    for stub in made:
        stub.close()


def open_room(
    open_page: OpenPage,
    app: LiveApp,
    netns: NetNamespace,
    stubs: list[StubVoice],
    transport: str | None,
    **stub_options: Any,
) -> tuple[BrowserPage, StubVoice]:
    stub = StubVoice(app.fake.base_url, app.fake.ws_url, app.key, run=netns.run, **stub_options)
    stubs.append(stub)
    created = netns.run(app.create_interview)
    tab = open_page()
    tab.page.add_init_script(CAPTURE_PEERS)
    serve_transport(tab.page, transport)
    tab.page.route_web_socket(re.compile(r"/voice"), stub)
    tab.page.goto(created["candidate_url"])
    tab.page.get_by_role("button", name="Begin the interview").click()
    return tab, stub


def test_webrtc_greeting_heard_on_the_track_over_loopback_and_no_audio_on_voice(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace, stubs: list[StubVoice]
) -> None:
    assert netns.interfaces() == ["lo"]
    guard = install_loopback_only()
    dropped_before = guard.dropped
    app = netns_live_app(fake_config=FakeConfig(audio_pace=0.0, responder=lambda view: LONG_LINE))
    tab, stub = open_room(netns_open_page, app, netns, stubs, "webrtc")
    page = tab.page
    # Muted first, so the fake microphone's loop does not barge in on the greeting.
    page.get_by_role("button", name="Mute microphone").click()
    page.wait_for_selector("main[data-media=webrtc]")
    page.wait_for_selector("main[data-phase=live]")

    # One start, carrying an offer with the microphone and the data channel.
    (start,) = stub.of("start_interview")
    sdp = start["webrtc"]["sdp"]
    assert "m=audio" in sdp and "a=sendrecv" in sdp and "m=application" in sdp
    assert "a=candidate:" in sdp  # gathered before it was sent (no trickle on /voice)
    assert [m["state"] for m in stub.of("webrtc_state")] == ["connected"]
    assert page.locator("main").get_attribute("data-webrtc-state") == "connected"

    # The greeting is heard: the remote track carries audio energy, played by the page,
    # and the room says the interviewer speaks.
    stats = until(lambda: (s := peer_stats(page))["energy"] > 0 and s, "remote audio energy", page)
    wait_for(page, "document.querySelector('main').dataset.playing === 'true'")
    assert page.locator("#speaker").get_attribute("data-speaker") == "interviewer"
    tab.snap("room-webrtc-greeting")

    # ICE stayed on loopback: the browser's selected pair and the fake's, both ends.
    assert_loopback_pair(stats)
    call = app.fake.fake.calls[-1]
    assert call.selected_pair
    for local, remote in call.selected_pair:
        assert ipaddress.ip_address(local[0]).is_loopback
        assert ipaddress.ip_address(remote[0]).is_loopback
    assert guard.dropped == dropped_before

    # Muted on WebRTC: the call's track is disabled.
    assert stats["senderEnabled"] is False
    # Unmuted mid-greeting: the candidate's voice reaches OpenAI on the track (its VAD
    # hears it and cuts the reply: a barge-in), never as PCM on /voice.
    page.get_by_role("button", name="Unmute microphone").click()
    assert peer_stats(page)["senderEnabled"] is True
    until(lambda: call.barge_ins > 0, "a barge-in on the call", page)
    assert any(e["type"] == "output_audio_buffer.cleared" for e in stub.sideband_events)
    assert stub.binary_bytes == 0
    assert page.locator("main").get_attribute("data-mic-bytes") == "0"
    assert page.locator("main").get_attribute("data-ai-samples") == "0"

    # The end closes the peer connection.
    stub.send({"type": "interview_ended", "message": "Thank you.", "reason": "candidate_ended"})
    page.wait_for_selector("main[data-phase=ended]")
    assert peer_stats(page)["signaling"] == "closed"
    assert page.locator("main").get_attribute("data-webrtc-state") == "closed"


@pytest.mark.parametrize("bad_answer", [False, True], ids=["media_timeout", "bad_answer"])
def test_fallback_closes_the_call_and_relays_on_the_same_socket(
    netns_open_page: OpenPage,
    netns_live_app: StartApp,
    netns: NetNamespace,
    stubs: list[StubVoice],
    bad_answer: bool,
) -> None:
    app = netns_live_app()
    options: dict[str, Any] = {"bad_answer": True} if bad_answer else {"fallback": "media_timeout"}
    tab, stub = open_room(netns_open_page, app, netns, stubs, "auto", hold_start=True, **options)
    page = tab.page
    reason = "media_failed" if bad_answer else "media_timeout"
    page.wait_for_selector(f"main[data-fallback-reason={reason}]")
    if bad_answer:
        # An answer the browser cannot apply is reported at once, not left to time out.
        assert [m["state"] for m in stub.of("webrtc_state")] == ["failed"]
    # The fallback alone closes the call, before the interview starts on the relay.
    assert peer_stats(page)["signaling"] == "closed"
    assert page.locator("main").get_attribute("data-media") == "relay"
    stub.go_relay()
    page.wait_for_selector("main[data-phase=live]")
    # The relay's audio plays and the microphone goes up as PCM frames: the same
    # interview, on the same socket, without a second start.
    wait_for(page, "Number(document.querySelector('main').dataset.aiSamples) >= 24000")
    until(lambda: stub.binary_bytes > 0, "PCM frames on /voice", page)
    assert len(stub.of("start_interview")) == 1
    assert page.locator("main").get_attribute("data-webrtc-state") == "closed"


@pytest.mark.parametrize("transport", ["relay", None], ids=["relay", "no-attribute"])
def test_relay_room_makes_no_peer_connection(
    netns_open_page: OpenPage,
    netns_live_app: StartApp,
    netns: NetNamespace,
    stubs: list[StubVoice],
    transport: str | None,
) -> None:
    app = netns_live_app()
    tab, stub = open_room(netns_open_page, app, netns, stubs, transport)
    page = tab.page
    page.wait_for_selector("main[data-phase=live]")
    (start,) = stub.of("start_interview")
    assert "webrtc" not in start
    assert page.evaluate("() => window.__peers.length") == 0
    assert page.locator("main").get_attribute("data-media") == "relay"
    wait_for(page, "Number(document.querySelector('main').dataset.aiSamples) >= 24000")
    until(lambda: stub.binary_bytes > 0, "PCM frames on /voice", page)


def test_a_server_that_ignores_the_offer_is_relayed(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace, stubs: list[StubVoice]
) -> None:
    # A server before WebRTC ignores the `webrtc` field: no answer, no fallback, and
    # `interview_started` without `transport`. The room closes its call and relays.
    app = netns_live_app()
    tab, stub = open_room(netns_open_page, app, netns, stubs, "webrtc", ignore_offer=True)
    page = tab.page
    page.wait_for_selector("main[data-phase=live]")
    (start,) = stub.of("start_interview")
    assert "webrtc" in start
    assert page.locator("main").get_attribute("data-media") == "relay"
    assert peer_stats(page)["signaling"] == "closed"
    wait_for(page, "Number(document.querySelector('main').dataset.aiSamples) >= 24000")
    until(lambda: stub.binary_bytes > 0, "PCM frames on /voice", page)


NO_PEER_CONNECTION = """
(() => {
  window.__peerless = true;
  delete window.RTCPeerConnection;
  delete window.webkitRTCPeerConnection;
})();
"""


def test_a_browser_without_rtcpeerconnection_is_relayed_under_auto(
    netns_open_page: OpenPage, netns_live_app: StartApp, netns: NetNamespace, stubs: list[StubVoice]
) -> None:
    # A browser whose WebRTC is switched off by policy has no RTCPeerConnection: with
    # transport auto the room offers nothing and runs the original protocol, relayed.
    app = netns_live_app()
    stub = StubVoice(app.fake.base_url, app.fake.ws_url, app.key, run=netns.run)
    stubs.append(stub)
    created = netns.run(app.create_interview)
    tab = netns_open_page()
    page = tab.page
    page.add_init_script(NO_PEER_CONNECTION)
    serve_transport(page, "auto")
    page.route_web_socket(re.compile(r"/voice"), stub)
    page.goto(created["candidate_url"])
    assert page.evaluate("() => window.__peerless && typeof window.RTCPeerConnection") == "undefined"
    assert page.locator("main").get_attribute("data-transport") == "auto"
    page.get_by_role("button", name="Begin the interview").click()
    page.wait_for_selector("main[data-phase=live]")
    (start,) = stub.of("start_interview")
    assert "webrtc" not in start
    assert page.locator("main").get_attribute("data-media") == "relay"
    assert not stub.of("webrtc_state")
    wait_for(page, "Number(document.querySelector('main').dataset.aiSamples) >= 24000")
    until(lambda: stub.binary_bytes > 0, "PCM frames on /voice", page)
