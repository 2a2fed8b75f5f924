"""What the room tells the candidate when the server reports an error with a cause: the
words follow the cause (protocol.md `cause`), not OpenAI's code or the server's generic
sentence, and never the operator's hint."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import BrowserPage, LiveApp, end_interview, low_contrast

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]


def record_server_errors(page: Any) -> list[dict[str, Any]]:
    """The `error` messages the page receives on /voice, as sent."""
    errors: list[dict[str, Any]] = []

    def on_socket(ws: Any) -> None:
        def on_frame(payload: str | bytes) -> None:
            if isinstance(payload, str) and '"error"' in payload:
                message = json.loads(payload)
                if message.get("type") == "error":
                    errors.append(message)

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return errors


def test_openai_trouble_is_not_worded_as_a_lost_connection_and_keeps_the_link(
    open_page: OpenPage, live_app: StartApp
) -> None:
    # OpenAI accepts the socket and closes it at once (1011): code and message are the
    # generic ones, the cause says it was OpenAI's trouble, and the link is kept for a
    # later try (`retryable`), so the server's words say when to come back.
    app = live_app(scenario="outage")
    created = app.create_interview()
    tab = open_page()
    page = tab.page
    sent = record_server_errors(page)
    page.goto(created["candidate_url"])
    page.get_by_role("button", name="Begin the interview").click()
    page.wait_for_selector("main[data-phase=retry]")
    assert len(sent) == 1
    error = sent[0]
    assert error["cause"] == "openai_unavailable" and error["fatal"] is True
    assert error["retryable"] is True
    assert "hint" not in error  # the operator's words go to the log, never the browser

    panel = page.locator("#room-error")
    assert panel.get_attribute("data-cause") == "openai_unavailable"
    assert panel.get_attribute("data-code") == error["code"]
    text = page.locator("#room-error-text").inner_text()
    assert text == error["message"]
    assert "not your internet connection" in text
    assert "same link" in text and "few minutes" in text
    reference = page.locator("#room-error-ref").inner_text()
    assert reference == "Reference for the organiser: openai_unavailable"
    content = page.content()
    assert app.key not in content
    assert page.get_by_role("button", name="Try again").is_visible()
    assert page.locator("#results-link").is_hidden()
    assert low_contrast(page) == []
    tab.snap("room-openai-trouble")


def test_a_passing_rate_limit_says_to_carry_on_and_the_interview_stays_live(
    open_page: OpenPage, live_app: StartApp
) -> None:
    # Every reply is refused with rate_limit_exceeded: an error the interview survives.
    app = live_app(scenario="ratelimited")
    created = app.create_interview()
    tab = open_page()
    page = tab.page
    sent = record_server_errors(page)
    page.goto(created["candidate_url"])
    page.get_by_role("button", name="Begin the interview").click()
    page.get_by_role("button", name="Mute microphone").click()
    page.wait_for_selector("#room-error[data-cause=rate_limited]")
    assert sent and (sent[0]["code"], sent[0]["fatal"]) == ("rate_limit_exceeded", False)
    text = page.locator("#room-error-text").inner_text()
    # The code alone would read "very busy… try again" as if the interview had stopped.
    assert "carry on" in text and "try again" not in text.lower()
    assert page.locator("#room-error").get_attribute("class") == "error-panel transient"
    assert page.locator("main").get_attribute("data-phase") == "live"
    assert page.get_by_role("button", name="End interview").is_enabled()
    assert "hint" not in sent[0]
    tab.snap("room-rate-limited")
    end_interview(page)
    page.wait_for_selector("main[data-phase=ended]")


WORDS = """
async (cases) => {
  const m = await import("/static/js/candidate-errors.js");
  return cases.map((error) => ({
    words: m.serverErrorMessage(error),
    byCode: m.candidateMessage(error.code),
    cause: m.causeOf(error),
  }));
}
"""


def test_the_words_choose_cause_then_code_then_the_servers_sentence(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app()
    tab = open_page()
    tab.page.goto(app.url + "/")
    hint = "OPERATOR: set OPENAI_API_KEY in Railway"
    said = "The server's own sentence."
    cases: list[dict[str, Any]] = [
        # 0: a cause the room words itself beats the code and the server's sentence
        {"code": "server_error", "cause": "openai_unavailable", "message": said, "hint": hint},
        # 1: the same cause as the first vivavoce servers sent it
        {"code": "server_error", "details": {"cause": "openai_unavailable"}, "message": said},
        # 2: a cause the server words itself (it knows what becomes of the link)
        {"code": "invalid_api_key", "cause": "key_invalid", "message": said, "hint": hint},
        # 3: ... and without a sentence, the code's words
        {"code": "invalid_api_key", "cause": "key_invalid", "hint": hint},
        # 4: no cause: the code's words
        {"code": "invalid_api_key", "cause": None, "message": said, "hint": hint},
        # 5, 6: a code's words while the interview goes on say to carry on
        {"code": "rate_limit_exceeded", "fatal": False, "message": said},
        {"code": "rate_limit_exceeded", "fatal": True, "message": said},
        # 7: an unknown code: the server's sentence; 8: nothing at all: generic words
        {"code": "bad_audio", "fatal": False, "message": said, "hint": None},
        {"code": "mystery", "hint": hint},
        # 9: a cause that is no key of ours is no cause to word
        {"code": "mystery", "cause": "constructor", "message": said},
        # 10: a link kept for later: the server's sentence (it says when to come back),
        # not the room's "had to stop" for the cause; 11: without one, a retry sentence
        {"code": "server_error", "cause": "openai_unavailable", "message": said,
         "retryable": True},
        {"code": "server_error", "cause": "openai_unavailable", "retryable": True},
    ]
    got = tab.page.evaluate(WORDS, cases)
    words = [g["words"] for g in got]
    assert [g["cause"] for g in got[:4]] == ["openai_unavailable"] * 2 + ["key_invalid"] * 2
    assert words[0] == words[1] and "having trouble" in words[0] and words[0] != said
    assert words[0] != got[0]["byCode"]
    assert words[2] == said
    assert words[3] == got[3]["byCode"] == words[4] != said
    assert "carry on" in words[5] and words[5] != got[5]["byCode"]
    assert words[6] == got[6]["byCode"] and "carry on" not in words[6]
    assert words[7] == said
    assert words[8] == got[8]["byCode"] and words[8]
    assert words[9] == said
    assert words[10] == said
    assert "same link" in words[11] and words[11] != words[0]
    assert not any(hint in w for w in words)
