"""The room's controls and what they show: the microphone level, the muted state, and
the confirmation before ending."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import BrowserPage, LiveApp, low_contrast
from vivavoce.testing.fake_openai import FakeConfig
from vivavoce.web.assets import VersionedStaticFiles
from vivavoce.web.pages import STATIC

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]


def wait_for(page: Any, script: str, timeout: float = 20_000) -> None:
    page.wait_for_function(f"() => {script}", timeout=timeout)


def level(page: Any) -> float:
    return float(page.locator("#room-mic-level").evaluate("(m) => m.value"))


def speaker(page: Any) -> tuple[str, str]:
    return (page.locator("#speaker").get_attribute("data-speaker") or "",
            page.locator("#speaker-label").inner_text())


def begin_live(page: Any, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Begin the interview").click()
    page.get_by_role("button", name="Mute microphone").click()
    page.wait_for_selector("main[data-phase=live]")
    # The greeting has been heard to its end (not merely: nothing is playing yet).
    page.wait_for_selector(".turn-interviewer[data-final=true]")
    wait_for(page, "document.querySelector('main').dataset.playing === 'false'")


def test_the_room_shows_the_microphone_level_and_the_muted_state(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app(fake_config=FakeConfig(audio_pace=0.0))
    created = app.create_interview()
    tab = open_page()
    page = tab.page
    begin_live(page, created["candidate_url"])
    # Muted: the status says so (never "You are speaking"), the bar stays empty.
    assert speaker(page) == (
        "muted", "Your microphone is muted — the interviewer cannot hear you")
    assert page.locator("#room-mic-label").inner_text() == "Your microphone (muted)"
    assert level(page) == 0
    page.wait_for_timeout(300)  # several microphone frames: the bar must not move
    assert level(page) == 0
    assert low_contrast(page) == []

    # Unmuted, the fake microphone's voice moves the meter.
    page.get_by_role("button", name="Unmute microphone").click()
    wait_for(page, "document.querySelector('#room-mic-level').value > 0.2", 10_000)
    assert page.locator("#room-mic-label").inner_text() == "Your microphone"
    assert speaker(page)[0] != "muted"
    tab.snap("room-mic-level")

    # Muted again while the candidate was heard: still muted, whatever the server said.
    page.get_by_role("button", name="Mute microphone").click()
    assert speaker(page)[0] in {"muted", "interviewer", "thinking"}
    assert "You are speaking" not in speaker(page)[1]
    assert page.locator("#room-mic-level").evaluate("(m) => m.value") == 0


def test_ending_asks_first_and_can_be_called_off(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app(fake_config=FakeConfig(audio_pace=0.0))
    created = app.create_interview()
    tab = open_page((390, 844))
    page = tab.page
    begin_live(page, created["candidate_url"])

    page.get_by_role("button", name="End interview").click()
    dialog = page.get_by_role("dialog", name="End the interview now?")
    assert dialog.is_visible()
    assert "kept and evaluated" in dialog.inner_text()
    assert low_contrast(page) == []
    tab.snap("room-end-dialog-phone")
    # The dialog is modal: the page behind it cannot be clicked.
    assert page.evaluate("() => document.querySelector('#end-dialog').matches(':modal')")
    dialog.get_by_role("button", name="Keep going").click()
    dialog.wait_for(state="hidden")
    assert page.locator("main").get_attribute("data-phase") == "live"
    with app.api() as client:
        assert client.get(f"/api/interviews/{created['id']}").json()["status"] == "live"

    page.get_by_role("button", name="End interview").click()
    dialog.get_by_role("button", name="Yes, end it").click()
    page.wait_for_selector("main[data-phase=ended]")
    assert dialog.is_hidden()


def test_every_module_and_worklet_comes_from_the_releases_path(
    open_page: OpenPage, live_app: StartApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Worklet modules are fetched from the audio thread's scope, which neither
    # Playwright's request events nor the page's resource timing see: record what the
    # app's static files served instead (the server runs in this process).
    served: list[str] = []
    original = VersionedStaticFiles.file_response

    def recording(self: Any, full_path: Any, stat_result: Any, scope: Any,
                  status_code: int = 200) -> Any:
        served.append(scope["path"])
        return original(self, full_path, stat_result, scope, status_code)

    monkeypatch.setattr(VersionedStaticFiles, "file_response", recording)
    app = live_app(fake_config=FakeConfig(audio_pace=0.0))
    created = app.create_interview()
    tab = open_page()
    begin_live(tab.page, created["candidate_url"])
    scripts = [path for path in served if path.endswith(".js")]
    names = {path.rsplit("/", 1)[1] for path in scripts}
    # The entry, its imports and both worklets (loaded at Begin).
    assert {"room.js", "dom.js", "player.js", "capture-worklet.js",
            "playback-worklet.js"} <= names, scripts
    assert all(path.startswith(f"{STATIC}/js/") for path in scripts), scripts


IN_VIEW = """
() => {
  // The card is the transcript's scroller (app.css: max-height, overflow-y auto).
  const card = document.querySelector(".transcript-card");
  const last = document.querySelector("#transcript").lastElementChild.getBoundingClientRect();
  const view = card.getBoundingClientRect();
  return { overflows: card.scrollHeight > card.clientHeight + 1, scrolled: card.scrollTop,
           inView: last.bottom <= view.bottom + 1 && last.bottom > view.top };
}
"""


def test_the_rooms_transcript_keeps_the_newest_line_in_view(
    open_page: OpenPage, live_app: StartApp
) -> None:
    # A short phone screen: a few lines overflow the transcript's box (half the height).
    app = live_app(fake_config=FakeConfig(audio_pace=0.0))
    created = app.create_interview()
    tab = open_page((390, 560))
    page = tab.page
    begin_live(page, created["candidate_url"])
    page.get_by_role("button", name="Unmute microphone").click()
    wait_for(page, "document.querySelectorAll('.turn-candidate[data-final=true]').length >= 2",
             40_000)
    wait_for(page, "document.querySelectorAll('#transcript .turn').length >= 5", 40_000)
    page.get_by_role("button", name="Mute microphone").click()
    page.wait_for_timeout(100)  # a frame for the last scroll
    state = page.evaluate(IN_VIEW)
    # The box overflowed and followed the conversation down to its newest line.
    assert state["overflows"] and state["scrolled"] > 0 and state["inView"], state
    tab.snap("room-transcript-follows-phone")
