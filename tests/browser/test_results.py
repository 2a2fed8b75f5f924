"""The results page: "being evaluated…", then the evaluation, chart and linked quotes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.browser.conftest import BrowserPage, LiveApp, finish_interview, low_contrast

if TYPE_CHECKING:
    from playwright.sync_api import Page

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
    from vivavoce.evaluation.runner import EvaluationOptions
    from vivavoce.runtime import RuntimeOptions

    # No catch-up: the worker would otherwise find the ended interview by itself and may
    # finish it before a slow browser's first request.
    app = live_app(options=RuntimeOptions(evaluation=EvaluationOptions(catch_up_hours=0)))
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

    # The transcript is all there, and every quote links to its own line, once.
    assert page.locator("#transcript li.turn").count() == len(TURNS)
    assert_quotes_link_to_their_own_lines_once(page)
    links = page.locator("a.quote-link")
    # Beside the model: the rule-based signals, labelled as such.
    assert page.locator("#evaluation-method").inner_text().startswith("AI evaluation")
    assert page.locator("#signals").is_visible()
    assert page.locator("#signals-answers li").count() == 3
    assert page.locator("#simulated-note").is_hidden()
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


def assert_quotes_link_to_their_own_lines_once(page: Page) -> None:
    """Every quote on the page links to the candidate line it is from (its words are in
    that line), and no quote is shown twice."""
    links = page.locator("a.quote-link")
    assert links.count() >= 1
    seen = []
    for i in range(links.count()):
        target = (links.nth(i).get_attribute("href") or "").lstrip("#")
        line = page.locator(f"#{target}")
        assert line.get_attribute("data-speaker") == "candidate"
        quote = links.nth(i).locator("xpath=..").locator("blockquote").inner_text()
        shown = quote.strip("“”")
        words = shown.strip("…").strip()
        said = " ".join(line.locator(".text").inner_text().split()).lower()
        # Shortened quotes end with an ellipsis; what is shown is the line's own words.
        for piece in words.split("…"):
            assert piece.strip().lower() in said, (quote, target)
        # A quote that stops mid-sentence says so: it ends with "…" (it once stopped
        # mid-phrase with nothing to show that words were left out).
        last = words.split("…")[-1].strip().lower()
        rest = said[said.index(last) + len(last):].lstrip()
        ends_sentence = last.endswith((".", "!", "?")) or rest.startswith((".", "!", "?"))
        if rest and not ends_sentence:
            assert shown.endswith("…"), (quote, target, rest[:30])
        seen.append(words.lower())
    assert len(seen) == len(set(seen)), f"a quote repeats: {seen}"
    # Words cited a second time are a link to their line, not the words again: a line
    # whose words are quoted on the page.
    quoted_lines = {links.nth(i).get_attribute("href") for i in range(links.count())}
    refs = page.locator("a.quote-ref-link")
    for i in range(refs.count()):
        href = refs.nth(i).get_attribute("href") or ""
        assert page.locator(href).get_attribute("data-speaker") == "candidate"
        assert href in quoted_lines, href
        assert refs.nth(i).locator("xpath=..").locator("blockquote").count() == 0


# Long, specific answers (the fake model scores them high) told without a story: no STAR
# part in any, so the rule-based signals cap the model's structure score.
CAPPED_TURNS = [
    ("interviewer", "Hello Grace. Tell me about a system you know well."),
    ("candidate",
     "The compiler for the teaching language has 3 passes: a parser written in Python, a "
     "type checker and a code generator for a small stack machine with 40 instructions. "
     "The parser is a recursive descent one, the checker walks the tree twice, and the "
     "generator emits bytecode that a short interpreter runs. The whole thing is about "
     "2000 lines, with a test suite of 150 small programs and their expected outputs."),
    ("interviewer", "How is it tested?"),
    ("candidate",
     "Property-based tests generate 500 random programs a run and compare the compiled "
     "output with a reference interpreter, and the suite takes about 90 seconds on a "
     "laptop. Every bug found that way becomes a fixed example in the suite, so the list "
     "of examples grows over time, and the random generator has weights for each kind of "
     "statement so that loops and nested functions come up often enough to matter here."),
    ("interviewer", "What would change in a second version?"),
    ("candidate",
     "The intermediate representation would come first, since changing it late forced 2 "
     "rewrites of the optimiser, and code review would start in week 1 instead of week 6. "
     "The stack machine would also get a register form, because the 40 stack instructions "
     "make the generated code long, and a register form halves the instruction count for "
     "typical programs in the course, which makes the traces far easier to read too."),
]


def test_with_a_key_the_signals_cap_an_unbacked_high_score_on_the_page(
    open_page: Callable[..., BrowserPage], live_app: Callable[..., LiveApp]
) -> None:
    app = live_app()
    created = app.create_interview(name="Grace Hopper")
    finish_interview(app, created["id"], CAPPED_TURNS)
    tab = open_page()
    page = tab.page
    page.goto(f"{app.url}/results/{created['id']}?token={created['token']}")
    page.wait_for_selector("main[data-state=done]", timeout=60_000)
    with httpx.Client(base_url=app.url, timeout=10) as client:
        api = client.get(f"/api/interviews/{created['id']}/evaluation",
                         headers={"Authorization": f"Bearer {created['token']}"}).json()
    result = api["result"]
    assert api["method"] == "model" and result["cap"]["formula"].startswith("score = min(")
    applied = {a["key"]: a for a in result["cap"]["applied"]}
    # No answer had two STAR parts: the share is 0, so the cap is 3 (docs/evaluation.md).
    assert applied["structure"]["cap"] == 3 and applied["structure"]["model_score"] > 3
    assert "evidence" not in applied  # every answer had numbers: nothing to cap

    # The page shows the model's evaluation with the signals beside it and the cap.
    assert page.locator("#evaluation-method").inner_text().startswith("AI evaluation")
    assert page.locator("#signals").is_visible()
    assert page.locator("#signals-answers li").count() == 3
    cap = page.locator("#signals-cap li").all_inner_texts()
    assert cap == [
        f"Structure of answers (STAR): the model gave {applied['structure']['model_score']}, "
        "capped at 3 — the signals found its evidence in 0% of the answers."]
    dimensions = page.locator("#dimensions").inner_text()
    assert "Structure of answers (STAR) — 3/5" in dimensions
    assert "Capped at 3 (the model gave" in dimensions
    assert page.locator("#score-svg rect.bar[data-score]").nth(1).get_attribute(
        "data-score") == "3"
    # The overall score is the one computed again from the capped scores.
    assert page.locator("#overall-score").inner_text() == str(api["overall_score"])
    assert api["overall_score"] == result["overall"]["score"]
    tab.snap("results-model-capped")


SIMULATED_TURNS: list[tuple[str, ...]] = [
    ("interviewer", "Hello Ada. Tell me about a project you are proud of."),
    (
        "candidate",
        "Last spring I built a booking system for our lab in Python and PostgreSQL. My task "
        "was to stop students waiting an hour for a microscope. I designed the schema and I "
        "wrote the API. As a result, waiting fell to ten minutes for 120 students.",
    ),
    ("interviewer", "Thank you. Next", "interrupted",
     "Thank you. Next, how would you design a service that shortens links?"),
    (
        "candidate",
        "I think maybe I would use a hash, um, and kind of store it somewhere, you know, "
        "probably in a database or something like that.",
    ),
    ("interviewer", "Why do you want this internship?"),
    (
        "candidate",
        "I want to learn how real systems run in production, and I enjoy working on tools "
        "that other developers use every day.",
    ),
]


def test_a_simulated_interview_gets_offline_feedback_that_says_what_it_is(
    open_page: Callable[..., BrowserPage], live_app: Callable[..., LiveApp]
) -> None:
    app = live_app(VIVAVOCE_SIMULATOR="true")
    created = app.create_interview()
    finish_interview(app, created["id"], SIMULATED_TURNS, simulated=True)
    tab = open_page()
    page = tab.page
    page.goto(f"{app.url}/results/{created['id']}?token={created['token']}")
    page.wait_for_selector("main[data-state=done]", timeout=60_000)

    # Honest about what it is: rule-based, and the candidate lines are examples.
    assert page.locator("#evaluation-method").inner_text() == (
        "Offline evaluation — rule-based, no AI")
    note = page.locator("#simulated-note")
    assert note.is_visible() and "not transcribed" in note.inner_text()
    assert "examples" in note.inner_text() and "cost nothing" in note.inner_text()

    # Real feedback that cites the signals, not placeholders.
    strengths = page.locator("#strengths").inner_text()
    improvements = page.locator("#improvements").inner_text()
    assert "from 6 answers" not in strengths + improvements
    assert "STAR" in strengths and "Python" in strengths
    assert "hedges and fillers" in improvements and "“i think”" in improvements
    assert "STAR parts" in page.locator("#dimensions").inner_text()
    assert page.locator("#signals").is_hidden()  # its points already cite the signals
    # Every strength, improvement and practice-plan step cites the candidate's words
    # (quoted, or a link to the line where they are quoted), and so does every dimension.
    assert_every_point_cites_the_candidate(page)
    hedges = page.locator("#practice-plan li", has_text="replace every “I think”")
    assert hedges.locator("a.quote-link, a.quote-ref-link").count() == 1
    # The step's words are the hedged answer's (line 4): quoted here, or linked to.
    assert hedges.locator("a[data-line]").get_attribute("data-line") == "4"

    # Whole questions; the one the candidate cut into is marked.
    headings = page.locator("#per-question h4").all_inner_texts()
    assert headings[1].startswith(
        "Thank you. Next, how would you design a service that shortens links?")
    assert "interrupted" in headings[1] and "interrupted" not in headings[0]
    assert page.locator("#transcript .turn").nth(2).locator(".interrupted-mark").count() == 1
    assert_quotes_link_to_their_own_lines_once(page)
    # The strengths quote the candidate too, each with its own link.
    assert page.locator("#strengths a.quote-link").count() >= 1
    tab.snap("results-offline-simulated")
    assert low_contrast(page) == []


def assert_every_point_cites_the_candidate(page: Page) -> None:
    """Each strength, improvement and plan step, and each dimension, quotes the candidate
    or links to the line where its words are quoted."""
    steps = page.locator("#practice-plan ol > li")
    assert steps.count() >= 3
    for item in page.locator("#strengths > li, #improvements > li").all() + steps.all():
        assert item.locator("a.quote-link, a.quote-ref-link").count() >= 1, item.inner_text()
    dts = page.locator("#dimensions dt")
    assert dts.count() == 5
    for i in range(dts.count()):
        dd = dts.nth(i).locator("xpath=following-sibling::dd[1]")
        assert dd.locator("a.quote-link, a.quote-ref-link").count() >= 1, dts.nth(i).inner_text()


GERMAN_TURNS = [
    ("interviewer", "Hallo Ada. Erzählen Sie von einem Projekt, auf das Sie stolz sind?"),
    ("candidate",
     "Ich habe eine App mit Python und PostgreSQL für 300 Studierende gebaut. Vielleicht "
     "war das mein bestes Projekt, und die Wartezeit sank von 60 auf 10 Minuten."),
    ("interviewer", "Warum möchten Sie dieses Praktikum machen?"),
    ("candidate",
     "Ich möchte lernen, wie große Systeme im Betrieb laufen, und ich arbeite gern an "
     "Werkzeugen, die andere Entwickler jeden Tag benutzen."),
]


def test_an_interview_in_another_language_says_which_signals_were_used(
    open_page: Callable[..., BrowserPage], live_app: Callable[..., LiveApp]
) -> None:
    app = live_app(VIVAVOCE_SIMULATOR="true")
    created = app.create_interview(settings={"language": "de"})
    finish_interview(app, created["id"], GERMAN_TURNS, simulated=True)
    tab = open_page()
    page = tab.page
    page.goto(f"{app.url}/results/{created['id']}?token={created['token']}")
    page.wait_for_selector("main[data-state=done]", timeout=60_000)
    note = page.locator("#evaluation-note").inner_text()
    assert "not in English" in note and "only language-neutral signals" in note
    # Nothing rests on English words: no STAR, no hedges ("Vielleicht" is not counted).
    feedback = page.locator("#strengths").inner_text() + page.locator("#improvements").inner_text()
    assert "STAR" not in feedback and "hedges" not in feedback
    assert "not applied to this language" in page.locator("#dimensions").inner_text()
    assert "Python" in page.locator("#dimensions").inner_text()  # the neutral ones are
    # Dimensions without a signal in this language still cite the answer they were
    # judged from, and every plan step the words that show why it is suggested.
    assert "Beyond that, the rules found no evidence of" in page.locator("#dimensions").inner_text()
    assert_every_point_cites_the_candidate(page)
    assert_quotes_link_to_their_own_lines_once(page)


SHORT_TURNS = [
    ("interviewer", "Hello Ada. Tell me about a project you are proud of."),
    ("candidate", "I built a small compiler for class last year."),
    ("interviewer", "How did you test it?"),
    ("candidate", "I wrote many small test programs and compared outputs."),
]


@pytest.mark.parametrize("open_interviews", ["false", "true"])
def test_too_short_states_the_thresholds_and_only_offers_what_the_reader_can_do(
    open_page: Callable[..., BrowserPage], live_app: Callable[..., LiveApp], open_interviews: str
) -> None:
    app = live_app(VIVAVOCE_OPEN_INTERVIEWS=open_interviews)
    created = app.create_interview()
    finish_interview(app, created["id"], SHORT_TURNS)
    tab = open_page()
    page = tab.page
    page.goto(f"{app.url}/results/{created['id']}?token={created['token']}")
    page.wait_for_selector("main[data-state=insufficient]", timeout=60_000)
    text = page.locator("#results-error").inner_text()
    # Two answers of 8+ words were heard (enough); the word total was not: only that is said.
    assert "we heard 18 words from you in all, and feedback needs at least 40" in text
    assert "of at least 8 words" not in text
    with httpx.Client(base_url=app.url, timeout=10) as client:
        api = client.get(f"/api/interviews/{created['id']}/evaluation",
                         headers={"Authorization": f"Bearer {created['token']}"}).json()
    assert api["message"] == text  # the page says what the API says
    assert api["result"]["candidate_words"] == 18
    assert api["result"]["thresholds"]["min_candidate_words"] == 40
    if open_interviews == "false":
        # An invited candidate cannot start an interview: never told to.
        assert "new interview" not in text.lower() and "organiser" in text
    else:
        assert "start a new interview" in text


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


PRINT_STUB = "window.__printed = 0; window.print = () => { window.__printed += 1; };"
# What the print stylesheet must leave out: every control and the site's navigation.
CONTROLS = "button, a.button, nav, .mode-banner, .skip-link, form"


def _visible(page: Page, selector: str) -> list[str]:
    return page.eval_on_selector_all(
        selector, "els => els.filter(e => e.checkVisibility()).map(e => e.outerHTML.slice(0, 80))")


def test_the_print_button_prints_the_report_alone(
    open_page: Callable[..., BrowserPage], live_app: Callable[..., LiveApp]
) -> None:
    from tests.browser.conftest import login
    from vivavoce.evaluation.runner import EvaluationOptions
    from vivavoce.runtime import RuntimeOptions

    app = live_app(options=RuntimeOptions(evaluation=EvaluationOptions(catch_up_hours=0)))
    created = app.create_interview()
    finish_interview(app, created["id"], TURNS)
    candidate = open_page()
    operator = open_page()
    login(operator.page, app.url)
    for tab, url in ((candidate, f"/results/{created['id']}?token={created['token']}"),
                     (operator, f"/results/{created['id']}")):
        page = tab.page
        page.add_init_script(PRINT_STUB)  # records the call instead of opening the dialog
        page.goto(app.url + url)
        page.wait_for_selector("main[data-state=done]", timeout=60_000)
        button = page.get_by_role("button", name="Print or save as PDF")
        assert button.is_visible()
        assert page.evaluate("window.__printed") == 0
        button.click()
        assert page.evaluate("window.__printed") == 1
        assert _visible(page, CONTROLS)  # on screen: the buttons, the links, the menu

        page.emulate_media(media="print")
        assert _visible(page, CONTROLS) == []
        for report in ("#evaluation", "#score-svg", "#per-question", "#transcript"):
            assert page.locator(report).is_visible(), report
        assert page.locator("#transcript li.turn").count() == len(TURNS)
        tab.snap("results-print-operator" if tab is operator else "results-print")
        page.emulate_media(media="screen")
        assert button.is_visible()
