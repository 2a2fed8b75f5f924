"""The operator's day in real Chromium: invite (résumé prefill, length, language, note),
copy, show again, re-issue; bulk invites; the list's words, filters, sort and export."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import BrowserPage, LiveApp, finish_interview, login

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]

RESUME = b"""Ada Lovelace
ada@example.com
Education: BSc Computer Science, final year
Skills: Python, SQL, Algorithms
"""


def _page_width(page: Any) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth"))


def test_invite_copy_show_again_and_reissue(
    open_page: OpenPage, live_app: StartApp, tmp_path: Path
) -> None:
    app = live_app(VIVAVOCE_MAX_INTERVIEW_SECONDS="1200")
    tab = open_page()
    page = tab.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url)
    # The home page leads the operator to the login.
    page.goto(app.url)
    page.get_by_role("link", name="Operator login").click()
    page.wait_for_url(re.compile(r"/admin/login"))
    login(page, app.url)
    page.get_by_text("Invite a candidate").click()
    resume = tmp_path / "ada.txt"
    resume.write_bytes(RESUME)
    page.get_by_label("Résumé (optional").set_input_files(str(resume))
    page.get_by_text("Read. Filled in").wait_for()
    assert page.get_by_label("Name (required)").input_value() == "Ada Lovelace"
    page.get_by_label("Field (required)").fill("Computer Science")
    page.get_by_label("Level (required)").fill("Final year")
    page.get_by_label("Target role").fill("Backend developer")
    page.get_by_label("Email or reference").fill("ada@example.com")
    # The length is bounded by the service's limit (20 minutes here).
    page.get_by_label("Interview length").fill("30")
    page.get_by_role("button", name="Create interview link").click()
    assert "from 1 to 20" in page.locator("#invite-result").inner_text()
    page.get_by_label("Interview length").fill("10")
    page.get_by_label("Language").select_option("de")
    page.get_by_label("Private note").fill("Met at the fair")
    page.get_by_role("button", name="Create interview link").click()
    link = page.locator("#invite-link")
    link.wait_for()
    url = link.get_attribute("href") or ""
    assert re.search(r"/i/[^/]+$", url)
    # A long link wraps inside its box: the 1280 px page stays 1280 px wide.
    assert _page_width(page) <= 1280
    page.get_by_role("button", name="Copy the link").click()
    page.get_by_text("Copied.").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == url
    tab.snap("admin-invite-created")

    with app.api() as client:
        items = client.get("/api/interviews").json()["items"]
        assert len(items) == 1
        interview_id = items[0]["id"]
        stored = client.get(f"/api/interviews/{interview_id}").json()
    assert stored["settings"]["max_duration_s"] == 600
    assert stored["settings"]["language"] == "de"
    assert stored["candidate"]["resume_text"].startswith("Ada Lovelace")
    assert stored["candidate"]["target_role"] == "Backend developer"

    # Shown again from the list: the same link, with the private note.
    page.get_by_role("button", name="Show the link for Ada Lovelace").click()
    shown = page.locator("#shown-link")
    page.wait_for_function("() => document.querySelector('#shown-link').textContent.length > 0")
    assert shown.inner_text() == url
    assert "Met at the fair" in page.locator("#link-note").inner_text()
    assert _page_width(page) <= 1280
    # Re-issue: a new link; the old one stops working.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Re-issue").click()
    page.get_by_text("the old one no longer works").wait_for()
    new_url = shown.inner_text()
    assert new_url != url and "/i/" in new_url
    page.locator("#copy-shown-link").click()
    page.wait_for_function("() => navigator.clipboard.readText().then((t) => t.includes('/i/'))")
    assert page.evaluate("() => navigator.clipboard.readText()") == new_url
    tab.console.allow(r"status of 410")  # the old link's page, on purpose
    page.goto(url)
    assert "replaced by a newer one" in page.locator("main").inner_text()
    page.goto(new_url)
    assert page.get_by_role("button", name="Begin the interview").is_visible()
    # A logged-in operator finds the way back to the list from the candidate's page.
    page.get_by_role("link", name="Interviews").click()
    page.wait_for_url(f"{app.url}/admin/interviews")


def test_bulk_invites_name_bad_lines_then_give_links(
    open_page: OpenPage, live_app: StartApp, tmp_path: Path
) -> None:
    app = live_app()
    tab = open_page()
    page = tab.page
    tab.console.allow(r"status of 422")  # the bad file, on purpose
    login(page, app.url)
    page.get_by_text("Invite many from a CSV file").click()
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email,field,level,role\nAda,ada@x.org,CS,Junior,Dev\nBob,,,Senior,\n")
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Create the links").click()
    page.locator("#bulk-errors li").first.wait_for()
    assert page.locator("#bulk-errors li").all_inner_texts() == ["Line 3: 'field' is empty."]
    good = tmp_path / "good.csv"
    good.write_text("name,email,field,level,role\nAda,ada@x.org,CS,Junior,Dev\nBob,b@x.org,Law,Senior,\n")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Create the links").click()
    with page.expect_download() as download:
        page.locator("#bulk-download").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows] == ["Ada", "Bob"]
    assert all("/i/" in r["link"] for r in rows)
    page.wait_for_function("() => document.querySelectorAll('#interviews-body tr').length === 2")


def _score(app: LiveApp, interview_id: str, score: int) -> None:
    from vivavoce.store.database import Database
    from vivavoce.store.models import Evaluation

    async def run() -> None:
        db = Database(app.app.state.runtime.db.url)
        try:
            async with db.session() as s:
                s.add(Evaluation(
                    interview_id=interview_id, status="done", overall_score=score,
                    result={"dimensions": [{"key": "depth", "name": "Depth", "score": 4}]},
                ))
                await s.commit()
        finally:
            await db.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=30)


def test_list_words_filters_sort_and_export(open_page: OpenPage, live_app: StartApp) -> None:
    app = live_app()
    grace = app.create_interview(name="Grace Hopper")
    alan = app.create_interview(name="Alan Turing")
    zed = app.create_interview(name="Zed Shaw")
    turns = [("interviewer", "Tell me about compilers."), ("candidate", "I wrote one.")]
    finish_interview(app, grace["id"], turns)
    finish_interview(app, alan["id"], turns)
    _score(app, grace["id"], 90)
    _score(app, alan["id"], 35)
    tab = open_page()
    page = tab.page
    login(page, app.url)
    page.wait_for_selector("main[data-state=ready]")
    row = page.locator(f"tr[data-id='{zed['id']}']")
    # Words, not codes; no start time for an interview that never started.
    assert "Not taken yet" in row.locator(".state").inner_text()
    assert row.locator(".started").inner_text() == "–"
    finished = page.locator(f"tr[data-id='{grace['id']}']")
    assert "Finished" in finished.locator(".state").inner_text()
    assert finished.locator(".started").inner_text() != "–"
    assert finished.locator(".score").inner_text() == "90"

    page.get_by_label("Sort").select_option("score_asc")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_selector("main[data-state=ready]")
    names = page.locator("#interviews-body tr td:first-child").all_inner_texts()
    assert [n.splitlines()[0] for n in names] == ["Alan Turing", "Grace Hopper", "Zed Shaw"]

    page.get_by_label("Score at least").fill("50")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("() => document.querySelectorAll('#interviews-body tr').length === 1")
    page.wait_for_selector("main[data-state=ready]")
    assert page.locator(f"tr[data-id='{grace['id']}']").count() == 1
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["candidate"], r["overall score"], r["Depth score"]) for r in rows] == [
        ("Grace Hopper", "90", "4")
    ]

    page.get_by_label("Score at least").fill("")
    page.get_by_label("Search by name").fill("zed")
    page.get_by_role("button", name="Filter").click()
    page.locator(f"tr[data-id='{zed['id']}']").wait_for()
    page.wait_for_selector("main[data-state=ready]")
    assert page.locator("#interviews-body tr").count() == 1
    page.get_by_label("Search by name").fill("")
    page.get_by_label("Status").select_option("ended")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("() => document.querySelectorAll('#interviews-body tr').length === 2")
    tab.snap("admin-interviews-filtered")


def test_the_results_page_prints_as_a_document(open_page: OpenPage, live_app: StartApp) -> None:
    app = live_app()
    grace = app.create_interview(name="Grace Hopper")
    finish_interview(app, grace["id"], [("interviewer", "Tell me about compilers."),
                                        ("candidate", "I wrote the first one.")])
    tab = open_page()
    page = tab.page
    login(page, app.url)
    page.goto(f"{app.url}/results/{grace['id']}")
    page.get_by_text("I wrote the first one.").wait_for()
    assert page.locator(".site-header nav").is_visible()
    page.emulate_media(media="print")
    # Content only: no navigation, buttons or mode banner on paper; the transcript stays.
    assert page.locator(".site-header nav").is_hidden()
    assert page.locator("#download-transcript").is_hidden()
    assert page.get_by_text("I wrote the first one.").is_visible()
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    page.pdf(path=str(tab.snap("results-print").with_suffix(".pdf")))
