"""The start page and the operator's pages in real Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.browser.conftest import BrowserPage, LiveApp, add_usage, login, low_contrast

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]

RESUME = b"""Ada Lovelace
ada@example.com
Education: BSc Computer Science, final year
Skills: Python, SQL, Algorithms
Experience: Intern at Analytical Engines Ltd
"""


def test_start_page_checks_the_microphone_prefills_from_a_resume_and_opens_the_room(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app()
    tab = open_page()
    page = tab.page
    page.goto(app.url + "/")
    assert page.title().startswith("Start your interview")
    tab.snap("start")

    # The fake microphone plays a loud burst every few seconds: the meter must move.
    page.get_by_role("button", name="Test my microphone").click()
    page.wait_for_function("() => document.getElementById('mic-level').value > 0.05")
    page.get_by_text("Your microphone works.").wait_for()
    page.get_by_role("button", name="Stop the test").click()

    page.get_by_label("Résumé file").set_input_files(
        {"name": "resume.txt", "mimeType": "text/plain", "buffer": RESUME}
    )
    page.get_by_text("We read your résumé").wait_for()
    assert page.get_by_label("Your name").input_value() == "Ada Lovelace"
    assert "Python" in page.get_by_label("Skills").input_value()

    # Required fields are checked in the page, with the reason said in words.
    page.get_by_label("Field of study or work").fill("")
    page.get_by_label("Level (required)").fill("")
    page.get_by_role("button", name="Start interview").click()
    assert page.get_by_role("alert").inner_text().startswith("Please fill in")
    assert page.get_by_label("Level (required)").get_attribute("aria-invalid") == "true"

    page.get_by_label("Field of study or work").fill("Computer Science")
    page.get_by_label("Level (required)").fill("Final-year student")
    page.get_by_role("button", name="Start interview").click()
    page.wait_for_url(re.compile(r"/interview/[^/?]+\?token="))
    assert page.get_by_role("button", name="Begin the interview").is_visible()
    page.get_by_text("Welcome, Ada Lovelace.").wait_for()
    assert page.locator("main").get_attribute("data-phase") == "ready"
    tab.snap("room-ready")


def test_a_pdf_resume_fills_field_level_experience_and_education(
    open_page: OpenPage, live_app: StartApp
) -> None:
    from tests.api.resume_files import text_pdf

    pdf = text_pdf([
        "Alex Chen",
        "alex.chen@example.org",
        "EDUCATION",
        "B.S. Computer Science - State University, final year",
        "EXPERIENCE",
        "Software Engineering Intern, Acme Corp, Jun 2025 - Aug 2025",
        "Built an internal dashboard used by 40 engineers.",
    ])
    app = live_app()
    tab = open_page()
    page = tab.page
    page.goto(app.url + "/")
    # Trying to start first: the message names what is missing...
    page.get_by_role("button", name="Start interview").click()
    alert = page.locator("#form-error")
    assert alert.inner_text() == "Please fill in your name, your field and your level."
    page.get_by_label("Your name").fill("Alex Chen")
    assert alert.inner_text() == "Please fill in your field and your level."
    assert page.get_by_label("Your name").get_attribute("aria-invalid") == "false"

    # ...and the résumé fills the rest, in the form's own words, so it goes away.
    page.get_by_label("Résumé file").set_input_files(
        {"name": "cv.pdf", "mimeType": "application/pdf", "buffer": pdf})
    page.get_by_text("We read your résumé").wait_for()
    assert page.get_by_label("Field of study or work").input_value() == "Computer Science"
    level = page.get_by_label("Level (required)").input_value()
    assert level == "Final-year student"
    options = page.locator("#level-options option").evaluate_all(
        "(all) => all.map((o) => o.value)")
    assert level in options
    assert "Software Engineering Intern" in page.get_by_label("Experience").input_value()
    assert "B.S. Computer Science" in page.get_by_label("Education").input_value()
    assert alert.is_hidden()
    assert page.get_by_label("Level (required)").get_attribute("aria-invalid") == "false"
    # The candidate typed their name first: the résumé did not overwrite it.
    assert page.get_by_label("Your name").input_value() == "Alex Chen"
    tab.snap("start-resume-filled")


def test_a_docx_resume_fills_the_form_in_its_own_words(
    open_page: OpenPage, live_app: StartApp
) -> None:
    from tests.api.resume_files import SENIOR_FINANCE, docx_resume

    app = live_app()
    tab = open_page()
    page = tab.page
    page.goto(app.url + "/")
    page.get_by_label("Résumé file").set_input_files({
        "name": "cv.docx", "buffer": docx_resume(SENIOR_FINANCE),
        "mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"})
    page.get_by_text("We read your résumé").wait_for()
    assert page.get_by_label("Your name").input_value() == "Maria Garcia"
    assert page.get_by_label("Field of study or work").input_value() == "Finance"
    # Twelve years of work: the form's own words for the level, never a bank code.
    assert page.get_by_label("Level (required)").input_value() == "Senior (6+ years)"
    experience = page.get_by_label("Experience").input_value()
    assert "Financial Analyst, Northbank" in experience and "Education" not in experience
    assert "Bachelor of Science in Finance" in page.get_by_label("Education").input_value()
    # Everything required is there: starting goes straight to the room.
    page.get_by_role("button", name="Start interview").click()
    page.wait_for_url(lambda url: "/interview/" in url)


def test_a_bad_resume_gets_a_clear_message(open_page: OpenPage, live_app: StartApp) -> None:
    app = live_app()
    tab = open_page()
    tab.console.allow(r"status of 4\d\d")  # the upload is refused on purpose
    tab.page.goto(app.url + "/")
    tab.page.get_by_label("Résumé file").set_input_files(
        {"name": "resume.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x00\x01"}
    )
    status = tab.page.locator("#resume-status")
    status.and_(tab.page.locator("[data-kind=error]")).wait_for()
    assert "fill in the form by hand" in status.inner_text()


def test_pages_fit_a_phone_and_their_text_has_enough_contrast(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app()
    created = app.create_interview()
    tab = open_page(viewport=(375, 740))
    page = tab.page
    page.goto(app.url + "/admin/login")
    page.wait_for_load_state("networkidle")
    assert low_contrast(page) == [], "login"
    login(page, app.url)
    pages = {
        "start": "/",
        "room": f"/i/{created['token']}",
        "results": f"/results/{created['id']}?token={created['token']}",
        "admin-interviews": "/admin/interviews",
        "admin-setup": "/admin/setup",
    }
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for name, path in pages.items():
            page.goto(app.url + path)
            page.wait_for_load_state("networkidle")
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if scheme == "light":
                tab.snap(f"{name}-phone")
            assert overflow <= 0, name
            # WCAG AA: 4.5:1 for text, 3:1 for large text, in both colour schemes.
            assert low_contrast(page) == [], f"{name} ({scheme})"


def test_invalid_key_setup_page_names_the_cause_and_the_fix(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app(scenario="invalid")
    tab = open_page()
    page = tab.page
    login(page, app.url, "/admin/setup")
    page.wait_for_selector("main[data-state=problem]")
    assert page.get_by_role("heading", name="Mode: real OpenAI").is_visible()
    cause = page.locator("[data-cause=key_invalid]")
    assert "invalid_api_key" in cause.inner_text()
    assert cause.locator("ol.fix li").count() >= 2
    masked = page.locator("#key-masked").inner_text()
    assert masked.startswith("sk-test") and masked.endswith(app.key[-4:])
    assert app.key not in page.content()
    tab.snap("setup-invalid-key")

    page.get_by_role("button", name="Run checks again").click()
    page.wait_for_selector("main[data-state=problem]")
    assert page.locator("[data-cause=key_invalid]").count() == 1


def test_operator_lists_filters_and_deletes_interviews(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app()
    first = app.create_interview(name="Grace Hopper")
    second = app.create_interview(name="Alan Turing")
    add_usage(app, second["id"], input_audio=1200, output_audio=3400, output_text=400, cost_usd=0.1234)
    tab = open_page()
    page = tab.page
    login(page, app.url)
    page.wait_for_selector("main[data-state=ready]")
    rows = page.locator("#interviews-body tr")
    assert rows.count() == 2
    assert page.locator("#total-count").inner_text() == "2"
    # Usage and cost per interview, and in total.
    turing = page.locator(f"tr[data-id='{second['id']}']")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#interviews-body .tokens')]"
        ".every((c) => !c.textContent.includes('…'))"
    )
    assert turing.locator(".tokens").inner_text().replace(",", "") == "5000"
    assert "0.1234" in turing.inner_text()
    assert page.locator("#total-tokens").inner_text().replace(",", "") == "5000"
    assert "0.1234" in page.locator("#total-cost").inner_text()
    # Open goes to that interview's results.
    turing.get_by_role("link", name="Open").click()
    page.wait_for_url(f"{app.url}/results/{second['id']}")
    page.go_back()
    page.wait_for_selector("main[data-state=ready]")
    tab.snap("admin-interviews")

    page.get_by_label("Status").select_option("ended")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_selector("#empty-list:not([hidden])")
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_function("() => document.querySelectorAll('#interviews-body tr').length === 2")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete the interview with Grace Hopper").click()
    page.wait_for_function("() => document.querySelectorAll('#interviews-body tr').length === 1")
    assert page.locator(f"tr[data-id='{first['id']}']").count() == 0
    with app.api() as client:
        assert client.get(f"/api/interviews/{first['id']}").status_code == 404


def test_operator_invites_a_candidate(open_page: OpenPage, live_app: StartApp) -> None:
    app = live_app()
    tab = open_page()
    page = tab.page
    login(page, app.url)
    page.get_by_text("Invite a candidate").click()
    page.get_by_label("Name (required)").fill("Katherine Johnson")
    page.get_by_label("Field (required)").fill("Mathematics")
    page.get_by_label("Level (required)").fill("Graduate")
    page.get_by_role("button", name="Create interview link").click()
    link = page.locator("#invite-link")
    link.wait_for()
    href = link.get_attribute("href") or ""
    assert re.search(r"/i/[^/]+$", href)
    page.goto(href)
    assert page.get_by_role("button", name="Begin the interview").is_visible()


def test_a_wrong_admin_token_is_refused_on_the_login_page(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app()
    tab = open_page()
    tab.console.allow(r"status of 401")  # the refused form post
    page = tab.page
    page.goto(app.url + "/admin/setup")
    page.wait_for_url(re.compile(r"/admin/login\?next="))
    tab.snap("admin-login")
    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    assert "not the admin token" in page.get_by_role("alert").inner_text()
    assert page.context.cookies() == []
    tab.snap("admin-login-refused")


def test_without_open_interviews_the_start_page_asks_for_the_invitation_link(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app(VIVAVOCE_OPEN_INTERVIEWS="false")
    tab = open_page()
    tab.console.allow(r"status of 401")  # the refused POST /api/interviews
    page = tab.page
    page.goto(app.url + "/")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Field of study or work").fill("Computer Science")
    page.get_by_label("Level (required)").fill("Final-year student")
    page.get_by_role("button", name="Start interview").click()
    page.locator("#form-error:not([hidden])").wait_for()
    assert "invitation link" in page.locator("#form-error").inner_text()
    assert page.get_by_role("button", name="Start interview").is_enabled()
