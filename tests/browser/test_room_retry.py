"""The room when the server keeps a link's interview for later (`retryable: true` on
`error` and `interview_ended`, protocol.md): not the final ended state, but "your
interview is not used up", the link's own address to keep, and "Try again" — which,
once the cause is gone, starts or continues the interview on the same link."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BrowserPage, LiveApp, end_interview, low_contrast
from vivavoce.config import load_settings
from vivavoce.interview.errors import CANDIDATE_MESSAGES
from vivavoce.reload import set_settings_loader
from vivavoce.testing.fake_openai import FakeConfig
from vivavoce.testing.scenarios import scenario_key

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]


def swap_key(app: LiveApp, tmp_path: Path, key: str) -> None:
    """The operator fixes the key and reloads it (the doctor runs against the fake first),
    as in tests/relay/test_link_retry.py."""
    env = {
        "VIVAVOCE_DATA_DIR": str(tmp_path / "reload"),
        "OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": app.fake.base_url,
        "VIVAVOCE_SIMULATOR": "0",
    }
    set_settings_loader(app.app.state.runtime, lambda: load_settings(env, env_file=None))
    with app.api() as client:
        reloaded = client.post("/api/admin/reload")
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["applied"] is True, reloaded.text


def assert_retry_state(page: Any, *, cause: str, key: str) -> None:
    """What every retry state shows: the server's words, the cause for the organiser,
    the link to keep, focus on "Try again"; no results, no controls, nothing final."""
    main = page.locator("main")
    assert main.get_attribute("data-phase") == "retry"
    panel = page.locator("#room-error")
    assert (panel.get_attribute("data-cause"), panel.get_attribute("data-retryable")) == (
        cause, "true")
    assert page.locator("#room-error-ref").inner_text() == f"Reference for the organiser: {cause}"
    retry = page.get_by_role("region", name="Your interview is not used up")
    assert retry.is_visible()
    link = page.get_by_label("Your interview link — keep it to come back")
    assert link.input_value() == page.url.split("#")[0]
    assert link.get_attribute("readonly") is not None
    again = page.get_by_role("button", name="Try again")
    assert again.is_visible()
    assert page.evaluate("document.activeElement.id") == "retry-again-button"
    assert page.locator("#speaker-label").inner_text() == (
        "The interview is paused — your link still works")
    for final in ("#ended-panel", "#results-link", "#controls", "#retry-button"):
        assert page.locator(final).is_hidden(), final
    content = page.content()
    assert key not in content and "doctor" not in page.locator("body").inner_text().lower()
    assert low_contrast(page) == []


def test_an_invalid_key_link_waits_for_the_fix_and_then_starts(
    open_page: OpenPage, live_app: StartApp, tmp_path: Path
) -> None:
    app = live_app(scenario="invalid")
    created = app.create_interview()
    tab = open_page()
    page = tab.page
    page.goto(created["candidate_url"])
    page.get_by_role("button", name="Begin the interview").click()
    page.wait_for_selector("main[data-phase=retry]")
    assert_retry_state(page, cause="key_invalid", key=app.key)
    # The server's words, which name the same link; the room's own sentence says how.
    assert page.locator("#room-error-text").inner_text() == CANDIDATE_MESSAGES["retry_later"]
    assert page.locator("#retry-text").inner_text() == (
        "Open this same link again later to start it.")
    tab.snap("room-retry-later")
    # The address is selected in one go, ready to copy.
    page.get_by_label("Your interview link — keep it to come back").focus()
    assert page.evaluate(
        "(() => { const i = document.querySelector('#retry-link');"
        " return [i.selectionStart, i.selectionEnd, i.value.length]; })()"
    ) == [0, len(page.url), len(page.url)]
    with app.api() as client:
        record = client.get(f"/api/interviews/{created['id']}").json()
    assert (record["status"], record["end_reason"]) == ("created", "key_invalid")

    # The organiser swaps the key; "Try again" reloads the same link, which now starts.
    swap_key(app, tmp_path, scenario_key("ok", "swapped"))
    page.get_by_role("button", name="Try again").click()
    page.get_by_role("button", name="Begin the interview").click()
    page.wait_for_selector("main[data-phase=live]")
    assert page.url == created["candidate_url"]
    assert page.locator("#room-error").is_hidden()
    end_interview(page)
    page.wait_for_selector("main[data-phase=ended]")
    with app.api() as client:
        record = client.get(f"/api/interviews/{created['id']}").json()
    assert (record["status"], record["end_reason"], record["error_code"]) == (
        "ended", "candidate_ended", None)


def test_openai_dropping_the_session_mid_interview_offers_to_continue_later(
    open_page: OpenPage, live_app: StartApp
) -> None:
    # OpenAI closes every live session with a server error (1011) after 1.5 s: the relay
    # recovers in place three times (docs/reliability.md), then gives up.
    app = live_app(fake_config=FakeConfig(audio_pace=0.0, close_after_s=1.5))
    created = app.create_interview()
    tab = open_page()
    page = tab.page
    page.goto(created["candidate_url"])
    page.get_by_role("button", name="Begin the interview").click()
    page.get_by_role("button", name="Mute microphone").click()
    page.wait_for_selector("main[data-phase=live]")
    page.wait_for_selector("main[data-phase=retry]", timeout=20_000)
    assert_retry_state(page, cause="openai_unavailable", key=app.key)
    text = page.locator("#room-error-text").inner_text()
    assert text == CANDIDATE_MESSAGES["retry_soon_resume"]
    assert "not your internet connection" in text and "few minutes" in text
    assert "has been saved" in page.locator("#retry-text").inner_text()
    assert "continue" in page.locator("#retry-text").inner_text()
    assert page.locator("main").get_attribute("data-playing") == "false"
    tab.snap("room-retry-continue")
    assert len(app.fake.fake.sessions) == 4  # the first and three recoveries

    # OpenAI is back: "Try again" reopens the link, which offers to continue.
    app.fake.fake.config.close_after_s = None
    page.get_by_role("button", name="Try again").click()
    page.wait_for_selector("main[data-continuing=true]")
    page.get_by_role("button", name="Continue the interview").click()
    page.wait_for_selector("main[data-resumed='1'][data-phase=live]")
    assert len(app.fake.fake.sessions) == 5
    assert "conversation.item.create" in app.fake.fake.sessions[-1].events_received
    end_interview(page)
    page.wait_for_selector("main[data-phase=ended]")
    link = page.get_by_role("link", name="See your results")
    assert re.search(re.escape(created["id"]), link.get_attribute("href") or "")


def test_a_busy_server_makes_the_room_wait_and_start_again(
    open_page: OpenPage, live_app: StartApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A capacity of one live interview; the server asks to wait 5 s (30 in production; 5 tries give a slow machine 25 s).
    from vivavoce.web import connection_limits

    monkeypatch.setitem(connection_limits._RETRY_AFTER_S, "server_busy", 5)
    app = live_app(VIVAVOCE_MAX_LIVE_INTERVIEWS="1")
    first, second = app.create_interview(), app.create_interview(name="Grace Hopper")
    live = open_page().page
    live.goto(first["candidate_url"])
    live.get_by_role("button", name="Begin the interview").click()
    live.get_by_role("button", name="Mute microphone").click()
    live.wait_for_selector("main[data-phase=live]")

    tab = open_page()
    page = tab.page
    page.goto(second["candidate_url"])
    page.get_by_role("button", name="Begin the interview").click()
    notice = page.locator("#connection-text")
    notice.filter(has_text=re.compile(r"The service is busy; trying again in \d+ s…")).wait_for()
    assert page.locator("main").get_attribute("data-phase") == "starting"
    assert page.locator("#room-error").is_hidden()  # waiting, not failing
    tab.snap("room-busy-waiting")

    # The live interview is untouched; once it ends, the waiting room's next try starts.
    assert live.locator("main").get_attribute("data-phase") == "live"
    end_interview(live)
    live.wait_for_selector("main[data-phase=ended]")
    page.wait_for_selector("main[data-phase=live]", timeout=30_000)
    assert int(page.locator("main").get_attribute("data-busy-retries") or 0) >= 1
    assert page.locator("#connection").is_hidden()
    end_interview(page)
    page.wait_for_selector("main[data-phase=ended]")
    with app.api() as client:
        record = client.get(f"/api/interviews/{second['id']}").json()
    assert (record["status"], record["end_reason"]) == ("ended", "candidate_ended")
