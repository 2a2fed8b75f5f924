"""The results page: "being evaluated…", then the evaluation, chart and linked quotes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.browser.conftest import BrowserPage, LiveApp, finish_interview, low_contrast

pytestmark = pytest.mark.browser

TURNS = [
    ("interviewer", "Hello Ada. Tell me about a project you are proud of."),
    (
        "candidate",
        "I built a small compiler for a teaching language in Python, with a parser, a type "
        "checker and a code generator that targets a stack machine we designed in class.",
    ),
    ("interviewer", "How did you test it?"),
    (
        "candidate",
        "I wrote property-based tests that generate random programs and compare the output "
        "of the compiled code with a reference interpreter, which found several real bugs.",
    ),
    ("interviewer", "What would you do differently?"),
    (
        "candidate",
        "I would design the intermediate representation first, because changing it late "
        "meant rewriting the optimiser twice, and I would ask for code review much earlier.",
    ),
]


def test_results_show_progress_then_the_evaluation_linked_to_the_transcript(
    open_page: Callable[..., BrowserPage], live_app: Callable[..., LiveApp]
) -> None:
    app = live_app()
    created = app.create_interview()
    finish_interview(app, created["id"], TURNS)
    tab = open_page()
    page = tab.page
    page.goto(f"{app.url}/results/{created['id']}?token={created['token']}")

    # The first answer is always "pending": the page's own request enqueues the job.
    page.wait_for_selector("main[data-state=pending]")
    assert page.get_by_role("heading", name="Your interview is being evaluated…").is_visible()
    tab.snap("results-pending")

    page.wait_for_selector("main[data-state=done]", timeout=60_000)
    # Six turns 20 s apart (finish_interview): a real length, never "0:00".
    assert "Ada Lovelace · Mathematics · 2:" in page.locator("#results-summary").inner_text()
    # Feedback speaks to the candidate, without repeating its own label.
    answers = page.locator("#per-question p").filter(has_text="Your answer:").all_inner_texts()
    assert answers and not any("Your answer: You answered" in a for a in answers)
    score = page.locator("#overall-score").inner_text()
    assert 0 <= int(score) <= 100
    bars = page.locator("#score-svg rect.bar")
    assert bars.count() >= 3
    label = page.locator("#score-svg").get_attribute("aria-label") or ""
    assert label.count("of 5") == bars.count()
    assert page.locator("#strengths li").count() == 3
    assert page.locator("#improvements li").count() == 3

    # The transcript is all there, and every quote links to a line that exists.
    assert page.locator("#transcript li.turn").count() == len(TURNS)
    links = page.locator("a.quote-link")
    assert links.count() >= 1
    for i in range(links.count()):
        target = (links.nth(i).get_attribute("href") or "").lstrip("#")
        line = page.locator(f"#{target}")
        assert line.get_attribute("data-speaker") == "candidate"
        quote = links.nth(i).locator("xpath=..").locator("blockquote").inner_text().strip("“”")
        assert quote.lower()[:20] in line.inner_text().lower()
    links.first.click()
    assert page.locator(".turn.highlight").count() == 1
    tab.snap("results-done")
    assert low_contrast(page) == []
    page.emulate_media(color_scheme="dark")
    assert low_contrast(page) == []

    href = page.locator("#download-transcript").get_attribute("href") or ""
    assert "format=markdown" in href and "token=" in href
    download = httpx.get(app.url + href, timeout=10)
    assert download.status_code == 200
    assert "compiler for a teaching language" in download.text


def test_results_before_the_interview_took_place_say_so(
    open_page: Callable[..., BrowserPage], live_app: Callable[..., LiveApp]
) -> None:
    app = live_app()
    created = app.create_interview()
    tab = open_page()
    tab.page.goto(f"{app.url}/results/{created['id']}?token={created['token']}")
    tab.page.wait_for_selector("main[data-state=interview-created]")
    assert "has not taken place yet" in tab.page.locator("#pending-text").inner_text()


def test_the_operator_sees_why_an_evaluation_failed_and_runs_it_again(
    open_page: Callable[..., BrowserPage], live_app: Callable[..., LiveApp]
) -> None:
    from vivavoce.evaluation.runner import EvaluationOptions
    from vivavoce.runtime import RuntimeOptions
    from vivavoce.testing.fake_responses import responses_behaviour

    options = EvaluationOptions(max_attempts=1, backoff_base_s=0.1, poll_interval_s=0.2)
    app = live_app(options=RuntimeOptions(evaluation=options))
    behaviour = responses_behaviour(app.fake.fake)
    behaviour.fault = "server_error"
    created = app.create_interview()
    finish_interview(app, created["id"], TURNS)

    # The candidate sees a plain sentence and no operator panel.
    candidate = open_page()
    candidate.page.goto(f"{app.url}/results/{created['id']}?token={created['token']}")
    candidate.page.wait_for_selector("main[data-state=failed]", timeout=60_000)
    assert "could not evaluate" in candidate.page.locator("#results-error").inner_text()
    assert candidate.page.locator("#operator-panel").count() == 0

    tab = open_page()
    page = tab.page
    from tests.browser.conftest import login

    login(page, app.url)
    page.goto(f"{app.url}/results/{created['id']}")
    page.wait_for_selector("main[data-state=failed]")
    detail = page.locator("#operator-detail").inner_text()
    assert "Evaluation: failed" in detail and "Error:" in detail
    # The operator is the organiser: no "the organiser can see why" for them.
    assert "organiser" not in page.locator("#results-error").inner_text()
    tab.snap("results-failed-operator")

    behaviour.fault = None
    page.get_by_role("button", name="Run the evaluation again").click()
    page.wait_for_selector("main[data-state=done]", timeout=60_000)
    assert page.locator("#results-error").is_hidden()
    assert page.locator("#score-svg rect.bar").count() >= 3
    # Worded for the operator, who is not the candidate.
    feedback = page.locator("#per-question").inner_text()
    assert "The candidate's answer:" in feedback and "Your answer" not in feedback
    tab.snap("results-done-operator")
