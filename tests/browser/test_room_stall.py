"""A stalled /voice connection in the room (issue 13): the socket stays open but nothing
flows. The room says "Connection unstable…" after 3 s without a `pong`, clears it when
pongs come back, and after ~6 s gives the socket up and resumes the interview on a new
one (stall-watch.js)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import BrowserPage, LiveApp
from tests.browser.test_interview_room import ANSWERS, wait_for
from vivavoce.testing.fake_openai import FakeConfig

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]

UNSTABLE = "Connection unstable…"


class Stall:
    """Routes the room's sockets through Playwright; ``hold()`` makes the first one
    stall (nothing flows either way, messages wait), ``release()`` delivers them."""

    def __init__(self) -> None:
        self.routes: list[Any] = []
        self.held = False
        self.waiting: list[tuple[Any, Any]] = []
        self.one_way = False  # hold only what the server sends
        self.seen_by_page: list[list[Any]] = []  # per socket, what reached the page

    def relay(self, ws: Any) -> None:
        server = ws.connect_to_server()
        first = not self.routes
        self.routes.append(ws)
        seen: list[Any] = []
        self.seen_by_page.append(seen)

        def forward(target: Any) -> Callable[[Any], None]:
            def send(message: Any) -> None:
                if first and self.held and (target is ws or not self.one_way):
                    self.waiting.append((target, message))
                    return
                if target is ws:
                    seen.append(message)
                target.send(message)
            return send

        ws.on_message(forward(server))
        server.on_message(forward(ws))

    def hold(self) -> None:
        self.held = True

    def release(self) -> None:
        self.held = False
        waiting, self.waiting = self.waiting, []
        for target, message in waiting:
            target.send(message)


def live_room(open_page: OpenPage, live_app: StartApp) -> tuple[Any, BrowserPage, Stall]:
    app = live_app(fake_config=FakeConfig(audio_pace=0.0, transcripts=list(ANSWERS)))
    created = app.create_interview()
    tab = open_page()
    page = tab.page
    stall = Stall()
    page.route_web_socket(re.compile(r"/voice"), stall.relay)
    page.goto(created["candidate_url"])
    page.get_by_role("button", name="Begin the interview").click()
    page.wait_for_selector("main[data-phase=live]")
    page.wait_for_selector(".turn-interviewer[data-final=true]")
    wait_for(page, "document.querySelector('main').dataset.playing === 'false'")
    # Every text the notice and the status take, recorded as it happens.
    page.evaluate(
        """() => {
            window.notices = [];
            for (const [key, selector] of [["connection", "#connection-text"],
                                           ["status", "#speaker-label"]]) {
                const el = document.querySelector(selector);
                new MutationObserver(() => window.notices.push(`${key}:${el.innerText}`))
                    .observe(el, {childList: true, characterData: true, subtree: true});
            }
        }"""
    )
    return app, tab, stall


def test_a_stall_is_flagged_then_the_room_reconnects_and_resumes(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app, tab, stall = live_room(open_page, live_app)
    page = tab.page
    tab.console.allow(r"WebSocket is already in CLOSING or CLOSED state")
    stall.hold()
    wait_for(page, f"window.notices.includes('status:{UNSTABLE}')")
    wait_for(page, f"window.notices.some(n => n.startsWith('connection:{UNSTABLE}'))")
    assert page.locator("#connection").is_visible()
    assert page.locator("#speaker-label").inner_text() == UNSTABLE
    assert len(stall.routes) == 1  # flagged, not yet given up
    # Still nothing: the room gives the socket up and resumes on a new one.
    page.wait_for_selector("main[data-resumed='1'][data-phase=live]")
    assert len(stall.routes) == 2
    assert page.locator("main").get_attribute("data-reconnects") == "1"
    assert "continues where it stopped" in page.locator("#connection-text").inner_text()
    assert len(app.fake.fake.sessions) == 2
    assert page.locator("#speaker-label").inner_text() != UNSTABLE
    tab.snap("room-after-stall")


def test_pongs_coming_back_clear_the_warning(open_page: OpenPage, live_app: StartApp) -> None:
    _, tab, stall = live_room(open_page, live_app)
    page = tab.page
    stall.hold()
    wait_for(page, f"window.notices.includes('status:{UNSTABLE}')")
    stall.release()  # the held pings reach the server, their pongs come back
    page.wait_for_selector("#connection", state="hidden")
    wait_for(page, f"document.querySelector('#speaker-label').innerText !== '{UNSTABLE}'")
    assert len(stall.routes) == 1
    assert page.locator("main").get_attribute("data-reconnects") is None
    assert page.locator("main").get_attribute("data-phase") == "live"


def test_what_was_said_during_a_stall_is_shown_when_the_room_is_back(
    open_page: OpenPage, live_app: StartApp
) -> None:
    _, tab, stall = live_room(open_page, live_app)
    page = tab.page
    tab.console.allow(r"WebSocket is already in CLOSING or CLOSED state")
    # Only the server's side stalls: the candidate's speech still reaches the relay,
    # which answers into a socket whose messages never arrive (and no pong comes back).
    stall.one_way = True
    shown_before = page.locator(".turn[data-final=true]").count()
    stall.hold()
    page.wait_for_selector("main[data-resumed='1'][data-phase=live]", timeout=30_000)
    wait_for(page, "document.querySelector('main').dataset.playing === 'false'")
    sent = [json.loads(m) for m in stall.seen_by_page[1] if isinstance(m, str)]
    missed = [m for m in sent if m.get("type") == "missed_turns"]
    assert len(missed) == 1 and missed[0]["turns"], "nothing was said during the stall"
    # Every missed line is in the transcript, after those shown before the stall.
    for turn in missed[0]["turns"]:
        assert turn["text"] in page.locator("#transcript").inner_text()
    assert page.locator(".turn[data-final=true]").count() >= shown_before + len(missed[0]["turns"])
