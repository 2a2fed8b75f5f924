"""A server restart in the core, event by event (interview/shutdown.py through
``InterviewSession.server_shutdown``): a link's interview is kept with a retryable
ending, an open one ends ``server_shutdown``; what was said, a reply cut mid-word
included, is released to the store either way."""

from __future__ import annotations

import json

from tests.interview.test_recovery import (
    T0,
    UPDATE,
    answered_greeting,
    half_spoken_reply,
    live,
    of,
    sent,
    turns,
)
from vivavoce.interview.actions import AttemptFailed, CloseBrowser, CloseUpstream, EndInterview
from vivavoce.interview.session import InterviewSession, Limits, Phase
from vivavoce.realtime.errors import make_error_describer


def test_a_link_interview_is_kept_with_a_retryable_ending() -> None:
    s = live(resumable=True)
    answered_greeting(s)
    half_spoken_reply(s, T0 + 7)
    out = s.server_shutdown(T0 + 8)
    error, ended = sent(out)
    assert (error["type"], error["code"], error["fatal"], error["retryable"]) == (
        "error",
        "server_restarting",
        True,
        True,
    )
    assert "restarting" in error["message"] and "same link" in error["message"]
    assert (ended["type"], ended["reason"], ended["retryable"]) == (
        "interview_ended",
        "server_shutdown",
        True,
    )
    # Kept for the link: this attempt's reason is recorded, the interview is not ended.
    assert of(out, EndInterview) == []
    assert [(a.reason, a.error_code) for a in of(out, AttemptFailed)] == [("server_shutdown", None)]
    # The reply cut by the restart is stored with the words so far.
    assert [(t.speaker, t.text, t.state) for t in turns(out)] == [
        ("interviewer", "What did you build last", "partial")
    ]
    assert of(out, CloseUpstream) and of(out, CloseBrowser)
    assert s.phase is Phase.ENDED and s.end_reason == "server_shutdown"
    # Whatever arrives afterwards changes nothing.
    assert not of(s.server_shutdown(T0 + 9), CloseBrowser)


def test_an_open_interview_ends_server_shutdown() -> None:
    s = live(resumable=False)
    answered_greeting(s)
    half_spoken_reply(s, T0 + 7)
    out = s.server_shutdown(T0 + 8)
    (ended,) = sent(out)
    assert (ended["type"], ended["reason"]) == ("interview_ended", "server_shutdown")
    assert "retryable" not in ended
    assert [(a.status, a.reason) for a in of(out, EndInterview)] == [("ended", "server_shutdown")]
    assert of(out, AttemptFailed) == []
    assert [t.text for t in turns(out)] == ["What did you build last"]


def test_a_link_saying_goodbye_ends() -> None:
    s = InterviewSession(
        model="gpt-realtime",
        describe_error=make_error_describer("local"),
        limits=Limits(max_duration_s=600, idle_timeout_s=60),
        resumable=True,
    )
    s.connected(T0)
    s.browser_text(json.dumps({"type": "start_interview"}), T0)
    s.prepared("iv-1", UPDATE, T0)
    s.upstream_opened(T0)
    s.upstream_event({"type": "session.updated"}, T0)
    s.tick(T0 + 601)  # the time limit: the interviewer is saying goodbye
    assert s.phase is Phase.ENDING
    out = s.server_shutdown(T0 + 602)
    assert [(a.status, a.reason) for a in of(out, EndInterview)] == [("ended", "server_shutdown")]
    assert [m["type"] for m in sent(out)] == ["interview_ended"]


def test_a_link_not_started_yet_is_told_to_come_back() -> None:
    s = InterviewSession(
        model="gpt-realtime", describe_error=make_error_describer("local"), resumable=True
    )
    s.connected(T0)
    out = s.server_shutdown(T0)
    assert [m.get("code") or m["reason"] for m in sent(out)] == [
        "server_restarting",
        "server_shutdown",
    ]
    assert of(out, AttemptFailed) == [] and of(out, EndInterview) == []
