"""Accessibility in the browser: axe-core (from the axe-playwright-python package) on
every page and in the states worth checking, in both colour schemes, with no serious or
critical violation; and the interview's state announced through a live region."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import (
    BrowserPage,
    LiveApp,
    axe_violations,
    end_interview,
    finish_interview,
    login,
)
from tests.browser.test_results import SHORT_TURNS, SIMULATED_TURNS, TURNS
from vivavoce.testing.fake_openai import FakeConfig

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]


def settle(page: Any) -> None:
    page.wait_for_load_state("networkidle")


def test_the_checker_finds_what_it_should(open_page: OpenPage, live_app: StartApp) -> None:
    # A nameless button and an unlabelled input, added on purpose: a checker that saw
    # nothing here would make every other assertion in this file meaningless.
    app = live_app()
    tab = open_page()
    tab.page.goto(app.url + "/")
    settle(tab.page)
    assert axe_violations(tab.page) == []
    tab.page.evaluate("""() => {
      document.querySelector("main").append(document.createElement("button"));
      const field = document.createElement("input"); field.type = "text";
      document.querySelector("main").append(field);
    }""")
    found = {v["id"] for v in axe_violations(tab.page)}
    assert {"button-name", "label"} <= found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe(open_page: OpenPage, live_app: StartApp, scheme: str) -> None:
    app = live_app()
    created = app.create_interview()
    done = app.create_interview(name="Grace Hopper")
    finish_interview(app, done["id"], TURNS)
    # The results page's other states: offline feedback on a simulated interview (its
    # notice, its "interrupted" mark) and an interview too short to judge.
    simulated = app.create_interview(name="Sim Ulated")
    finish_interview(app, simulated["id"], SIMULATED_TURNS, simulated=True)
    short = app.create_interview(name="Shor Tened")
    finish_interview(app, short["id"], SHORT_TURNS)
    tab = open_page()
    page = tab.page
    page.emulate_media(color_scheme=scheme)
    tab.console.allow(r"status of 404")  # the unknown URL, on purpose
    problems: dict[str, list[Any]] = {}

    def check(name: str) -> None:
        settle(page)
        found = axe_violations(page)
        if found:
            problems[name] = found

    page.goto(app.url + "/admin/login")
    check("login")
    page.goto(app.url + "/")
    check("start")
    page.get_by_role("button", name="Start interview").click()  # the missing-fields alert
    check("start with its error")
    page.goto(created["candidate_url"])
    check("room, ready")
    page.goto(f"{app.url}/results/{done['id']}?token={done['token']}")
    page.wait_for_selector("main[data-state=done]", timeout=60_000)
    check("results")
    page.goto(f"{app.url}/results/{simulated['id']}?token={simulated['token']}")
    page.wait_for_selector("main[data-state=done]", timeout=60_000)
    assert page.locator("#simulated-note").is_visible()
    check("results, offline feedback on a simulated interview")
    page.goto(f"{app.url}/results/{short['id']}?token={short['token']}")
    page.wait_for_selector("main[data-state=insufficient]", timeout=60_000)
    check("results, too short")
    page.goto(app.url + "/i/not-a-real-token")
    check("link problem")
    # An unknown URL is a page in a browser (it once showed raw JSON)...
    response = page.goto(app.url + "/no/such/page")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert page.get_by_role("heading", name="We could not find that page").is_visible()
    check("not found")
    # ...and the JSON error under /api/, also when a browser asks.
    response = page.goto(app.url + "/api/no-such-thing")
    assert response is not None and response.status == 404
    assert response.json()["error"]["code"] == "not_found"
    login(page, app.url)
    for path in ("/admin/interviews", "/admin/setup", "/admin/usage", "/admin/webhooks"):
        page.goto(app.url + path)
        check(path)
        if path == "/admin/usage":  # the simulated interview cost nothing, and it says so
            assert "cost nothing" in page.locator("#usage-simulated").inner_text()
            assert page.locator("#usage-simulated-count").inner_text() == "1"
    # The operator's view of a result (its panel and re-run button).
    page.goto(f"{app.url}/results/{done['id']}")
    page.wait_for_selector("main[data-state=done]", timeout=60_000)
    assert page.locator("#operator-panel").is_visible()
    check("results, operator")
    assert problems == {}


def test_the_live_room_passes_axe_and_announces_its_state(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app(fake_config=FakeConfig(audio_pace=0.0))
    created = app.create_interview()
    tab = open_page()
    page = tab.page
    page.goto(created["candidate_url"])
    settle(page)
    # Everything the status line says is announced: it is a polite live region.
    status = page.locator("#speaker-label")
    assert (status.get_attribute("role"), status.get_attribute("aria-live")) == ("status", "polite")
    page.evaluate("""() => {
      window.announced = [];
      const node = document.querySelector("#speaker-label");
      new MutationObserver(() => window.announced.push(node.textContent))
        .observe(node, { childList: true, characterData: true, subtree: true });
    }""")
    page.get_by_role("button", name="Begin the interview").click()
    page.get_by_role("button", name="Mute microphone").click()
    page.wait_for_selector("main[data-phase=live]")
    page.wait_for_function("() => document.querySelector('main').dataset.playing === 'false'")
    assert axe_violations(page) == [], "live"
    page.get_by_role("button", name="End interview").click()
    assert axe_violations(page) == [], "the end dialog"
    page.get_by_role("button", name="Keep going").click()
    end_interview(page)
    page.wait_for_selector("main[data-phase=ended]")
    assert axe_violations(page) == [], "ended"
    announced = page.evaluate("() => window.announced")
    for state in ("Connecting…", "Your microphone is muted — the interviewer cannot hear you",
                  "Ending the interview…", "The interview is over"):
        assert state in announced, (state, announced)


REACHABLE = """
async () => {
  // Every visible, enabled control of the page, and whether Tab reaches it.
  const controls = Array.from(document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])"))
    .filter((el) => !el.disabled && el.getClientRects().length > 0 && !el.closest("[inert], dialog:not([open])"))
    // A closed <details> shows only its summary (which opens it from the keyboard).
    .filter((el) => el.tagName === "SUMMARY" || !el.closest("details:not([open])"));
  return controls.map((el) => el.id || el.getAttribute("href") || el.outerHTML.slice(0, 80));
}
"""


def tab_through(page: Any, limit: int = 80) -> list[str]:
    page.locator("body").focus()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    reached: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(
            "() => { const el = document.activeElement;"
            " return el.id || el.getAttribute('href') || el.outerHTML.slice(0, 80); }"))
    return reached


def test_every_control_is_reached_from_the_keyboard(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app()
    created = app.create_interview()
    done = app.create_interview(name="Grace Hopper")
    finish_interview(app, done["id"], TURNS)
    tab = open_page()
    page = tab.page
    pages = {
        "start": "/",
        "room": created["candidate_url"].replace(app.url, ""),
        "results": f"/results/{done['id']}?token={done['token']}",
    }
    def check(name: str, path: str) -> None:
        page.goto(app.url + path)
        settle(page)
        if name == "results":
            page.wait_for_selector("main[data-state=done]", timeout=60_000)
        controls = page.evaluate(REACHABLE)
        # A date field takes three Tab presses (day, month, year).
        reached = set(tab_through(page, limit=2 * len(controls) + 10))
        assert [c for c in controls if c not in reached] == [], name

    for name, path in pages.items():
        check(name, path)
    # The operator's pages too (their tables, filters and forms).
    login(page, app.url)
    for path in ("/admin/interviews", "/admin/setup", "/admin/usage", "/admin/webhooks"):
        check(path, path)
