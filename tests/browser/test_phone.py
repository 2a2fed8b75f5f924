"""The room and the results on a 390 px phone: everything fits, text stays legible, and
the simulator banner does not eat the screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import BrowserPage, LiveApp, finish_interview, low_contrast
from tests.browser.test_results import TURNS

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]
PHONE = (390, 844)

SMALL_TEXT = """
() => {
  // Rendered size of every visible piece of text, SVG text scaled by its drawing.
  const small = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest("[hidden], [aria-hidden=true] .visually-hidden, .visually-hidden")) continue;
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;  // visually hidden
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement) size *= el.getScreenCTM().a;
    if (size < 12) small.push(`${el.tagName.toLowerCase()} ${size.toFixed(1)}px: ${el.textContent.trim().slice(0, 30)}`);
  }
  return small;
}
"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_the_room_on_a_phone(open_page: OpenPage, live_app: StartApp) -> None:
    app = live_app(VIVAVOCE_SIMULATOR="true")
    created = app.create_interview()
    tab = open_page(PHONE)
    page = tab.page
    page.goto(created["candidate_url"])
    banner = page.get_by_role("note", name="Simulator mode")
    # One short line, still saying what it is (it took a fifth of the screen).
    assert banner.bounding_box()["height"] <= 44
    assert banner.inner_text().startswith("SIMULATOR MODE")
    page.get_by_role("button", name="Begin the interview").click()
    page.get_by_role("button", name="Mute microphone").click()
    page.wait_for_selector("main[data-phase=live]")
    page.wait_for_selector(".turn-interviewer[data-final=true]", timeout=30_000)
    assert page.evaluate(OVERFLOW) <= 0
    assert page.evaluate(SMALL_TEXT) == []
    # The status, the microphone meter and both controls are on the screen, side by side
    # with nothing cut off.
    for selector in ("#speaker-label", "#room-mic .meter", "#mute-button", "#end-button"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0], selector
    assert low_contrast(page) == []
    tab.snap("room-live-phone")
    page.get_by_role("button", name="End interview").click()
    dialog = page.get_by_role("dialog").bounding_box()
    assert dialog is not None and dialog["x"] >= 0 and dialog["x"] + dialog["width"] <= PHONE[0]


def test_the_results_on_a_phone(open_page: OpenPage, live_app: StartApp) -> None:
    app = live_app()
    created = app.create_interview()
    finish_interview(app, created["id"], TURNS)
    tab = open_page(PHONE)
    page = tab.page
    page.goto(f"{app.url}/results/{created['id']}?token={created['token']}")
    page.wait_for_selector("main[data-state=done]", timeout=60_000)
    assert page.evaluate(OVERFLOW) <= 0
    # The chart's names and scores are drawn at a legible size, not scaled down to half.
    assert page.evaluate(SMALL_TEXT) == []
    sizes: list[Any] = page.locator("#score-svg text").evaluate_all(
        "(all) => all.map((t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)")
    assert sizes and min(sizes) >= 12
    chart = page.locator("#score-svg").bounding_box()
    assert chart is not None and chart["x"] + chart["width"] <= PHONE[0]
    assert low_contrast(page) == []
    tab.snap("results-phone")
