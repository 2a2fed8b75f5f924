"""A link's interview that fails for a configuration cause, or for OpenAI's passing
trouble (an outage, the network to it, a session not started in time), is kept for the
same link; failures without a cause and open interviews stay final; an interview removed
by the operator ends without another store write (state machine only: plain values, the
real describer and cause catalogue)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vivavoce.diagnosis.catalogue import CAUSES
from vivavoce.interview.actions import (
    Action,
    AddUsage,
    AttemptFailed,
    CloseBrowser,
    CloseUpstream,
    EndInterview,
    Log,
    MarkLive,
    PersistTurn,
    SendJson,
    TurnRecord,
)
from vivavoce.interview.errors import CANDIDATE_MESSAGES, UpstreamProblem
from vivavoce.interview.failure_policy import (
    CONFIGURATION_CAUSES,
    RETRYABLE_CAUSES,
    TRANSIENT_CAUSES,
)
from vivavoce.interview.session import (
    REMOVED_REASON,
    SESSION_UPDATE_EVENT_ID,
    InterviewSession,
    Limits,
    Phase,
)
from vivavoce.realtime.errors import make_error_describer

T0 = 1_000_000.0
UPDATE = {"type": "session.update", "session": {"type": "realtime", "instructions": "x"}}
STORE_ACTIONS = (MarkLive, PersistTurn, AddUsage, EndInterview, AttemptFailed)


def of(actions: list[Action], kind: type) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


def sent(actions: list[Action]) -> list[dict[str, Any]]:
    return [a.message for a in actions if isinstance(a, SendJson)]


def session(*, resumable: bool, history: list[TurnRecord] | None = None) -> InterviewSession:
    s = InterviewSession(model="gpt-realtime", describe_error=make_error_describer("local"),
                         # Recovery spent: what follows a lost connection once the
                         # bounded retries are over (tests/interview/test_recovery.py).
                         limits=Limits(max_duration_s=600, idle_timeout_s=60,
                                       start_timeout_s=25, recovery_attempts=0),
                         resumable=resumable)
    s.connected(T0)
    s.browser_text(json.dumps({"type": "start_interview"}), T0)
    s.prepared("iv-1", UPDATE, T0, history=history)
    return s


def configuring(*, resumable: bool) -> InterviewSession:
    s = session(resumable=resumable)
    s.upstream_opened(T0)
    assert s.phase is Phase.CONFIGURING
    return s


def live(*, resumable: bool) -> InterviewSession:
    s = session(resumable=resumable)
    s.upstream_opened(T0)
    s.upstream_event({"type": "session.updated"}, T0)
    # The greeting is half spoken when things go wrong.
    for event in (
        {"type": "response.created", "response": {"id": "r1"}},
        {"type": "response.output_item.added", "response_id": "r1",
         "item": {"id": "a1", "type": "message", "role": "assistant"}},
        {"type": "response.output_audio_transcript.delta", "item_id": "a1",
         "delta": "Hello and welcome"},
    ):
        s.upstream_event(event, T0)
    assert s.phase is Phase.LIVE
    return s


def test_every_fatal_cause_of_the_catalogue_is_a_configuration_cause() -> None:
    # A new fatal cause must be sorted deliberately: either the operator fixes it (the
    # link is kept) or it is transient (add it to the catalogue as not fatal).
    assert CONFIGURATION_CAUSES.issubset(CAUSES)
    assert {c for c in CAUSES if CAUSES[c].fatal} == CONFIGURATION_CAUSES
    assert {"rate_limited", "network_unreachable", "openai_unavailable"}.isdisjoint(
        CONFIGURATION_CAUSES)


def test_the_retryable_causes_are_the_configuration_ones_and_the_passing_ones() -> None:
    # The one list a link's retry keys on: what the operator fixes plus what passes by
    # itself (the catalogue's not-fatal causes), so every cause the catalogue knows.
    assert {c for c in CAUSES if not CAUSES[c].fatal} == TRANSIENT_CAUSES
    assert TRANSIENT_CAUSES.isdisjoint(CONFIGURATION_CAUSES)
    assert RETRYABLE_CAUSES == CONFIGURATION_CAUSES | TRANSIENT_CAUSES == set(CAUSES)


@pytest.mark.parametrize(
    ("problem", "cause"),
    [
        (UpstreamProblem("connect", status=401, code="invalid_api_key"), "key_invalid"),
        (UpstreamProblem("connect", status=403), "no_realtime_access"),
        (UpstreamProblem("connect", code="key_missing"), "key_missing"),
    ],
)
def test_a_link_that_cannot_connect_stays_unstarted(problem: UpstreamProblem, cause: str) -> None:
    s = session(resumable=True)
    out = s.upstream_connect_failed(problem, T0)
    assert of(out, EndInterview) == []
    [attempt] = of(out, AttemptFailed)
    assert (attempt.reason, attempt.error_code) == (cause, problem.code or cause)
    error, ended = sent(out)
    assert (error["type"], error["fatal"], error["cause"]) == ("error", True, cause)
    assert error["message"] == CANDIDATE_MESSAGES["retry_later"] and "hint" not in error
    assert any(log.fields.get("hint") for log in of(out, Log))
    assert "same link" in error["message"]
    assert (ended["type"], ended["reason"], ended["retryable"]) == (
        "interview_ended", cause, True)
    assert of(out, CloseUpstream) and of(out, CloseBrowser)
    assert s.phase is Phase.ENDED


def test_a_configuration_error_while_configuring_keeps_the_link() -> None:
    s = session(resumable=True)
    s.upstream_opened(T0)
    out = s.upstream_closed(3000, "insufficient_quota.insufficient_quota", T0)
    assert of(out, EndInterview) == []
    assert [(a.reason, a.error_code) for a in of(out, AttemptFailed)] == [
        ("quota_exhausted", "insufficient_quota")]


def test_a_key_revoked_mid_interview_leaves_it_resumable_with_what_was_said() -> None:
    s = live(resumable=True)
    out = s.upstream_closed(3000, "invalid_request_error.invalid_api_key", T0 + 5)
    assert of(out, EndInterview) == []
    assert [(a.reason, a.error_code) for a in of(out, AttemptFailed)] == [
        ("key_invalid", "invalid_api_key")]
    # The half-spoken greeting is stored before the failure is recorded.
    kinds = [type(a) for a in out if isinstance(a, STORE_ACTIONS)]
    assert kinds == [PersistTurn, AttemptFailed]
    assert of(out, PersistTurn)[0].turn.text == "Hello and welcome"
    error = sent(out)[0]
    assert error["message"] == CANDIDATE_MESSAGES["retry_resume"]
    assert sent(out)[-1]["retryable"] is True


def test_a_failed_response_for_quota_mid_interview_keeps_the_link() -> None:
    s = live(resumable=True)
    out = s.upstream_event({"type": "response.done", "response": {
        "id": "r1", "status": "failed", "output": [],
        "status_details": {"type": "failed", "error": {"type": "insufficient_quota",
                                                       "code": "insufficient_quota"}}}}, T0)
    assert of(out, EndInterview) == [] and len(of(out, AttemptFailed)) == 1


def _kept(out: list[Action], cause: str, code: str, words: str) -> dict[str, Any]:
    """The link is kept: the attempt is recorded (not an end), the browser's error and
    interview_ended both say retryable, in the words given; returns the error."""
    assert of(out, EndInterview) == []
    assert [(a.reason, a.error_code) for a in of(out, AttemptFailed)] == [(cause, code)]
    error, ended = sent(out)[0], sent(out)[-1]
    assert (error["type"], error["fatal"], error["cause"], error["code"]) == (
        "error", True, cause, code)
    assert error["retryable"] is True and error["message"] == CANDIDATE_MESSAGES[words]
    # The operator still learns what happened (in the log, not on the screen).
    assert "hint" not in error and any(log.fields.get("hint") for log in of(out, Log))
    assert (ended["type"], ended["reason"], ended["retryable"]) == (
        "interview_ended", cause, True)
    assert of(out, CloseUpstream) and of(out, CloseBrowser)
    return error


@pytest.mark.parametrize(
    ("problem", "cause", "code"),
    [
        # OpenAI answers the upgrade with a server error.
        (UpstreamProblem("connect", status=503, error_type="server_error",
                         code="server_error"), "openai_unavailable", "server_error"),
        (UpstreamProblem("connect", status=502), "openai_unavailable", "openai_unavailable"),
        # Nothing answered within the connect timeout / DNS, TCP or TLS failed.
        (UpstreamProblem("connect", code="upstream_timeout"), "network_unreachable",
         "upstream_timeout"),
        (UpstreamProblem("connect", code="network_unreachable", message="OSError: refused"),
         "network_unreachable", "network_unreachable"),
        # A rate limit at the upgrade passes too.
        (UpstreamProblem("connect", status=429, code="rate_limit_exceeded"), "rate_limited",
         "rate_limit_exceeded"),
    ],
)
def test_a_link_that_cannot_reach_openai_stays_unstarted(
    problem: UpstreamProblem, cause: str, code: str,
) -> None:
    s = session(resumable=True)
    out = s.upstream_connect_failed(problem, T0)
    error = _kept(out, cause, code, "retry_soon")
    assert "same link" in error["message"] and "few minutes" in error["message"]
    assert "organiser" not in error["message"]  # nothing for anyone to fix
    assert s.phase is Phase.ENDED


def test_an_outage_close_while_configuring_keeps_the_link() -> None:
    s = configuring(resumable=True)
    out = s.upstream_closed(1011, "Internal server error", T0 + 1)
    _kept(out, "openai_unavailable", "openai_unavailable", "retry_soon")


@pytest.mark.parametrize(
    ("opened", "cause"),
    [(False, "network_unreachable"), (True, "openai_unavailable")],
    ids=["socket-never-opened", "session-never-configured"],
)
def test_a_start_that_times_out_keeps_the_link_with_its_cause(opened: bool, cause: str) -> None:
    s = configuring(resumable=True) if opened else session(resumable=True)
    assert s.tick(T0 + 24) == []
    out = s.tick(T0 + 25)
    error = _kept(out, cause, "upstream_timeout", "retry_soon")
    assert "hint" not in error
    assert any("25 s" in str(log.fields.get("hint")) for log in of(out, Log))


def test_an_outage_mid_interview_leaves_it_resumable_with_what_was_said() -> None:
    s = live(resumable=True)
    out = s.upstream_closed(1011, "Internal server error", T0 + 5)
    _kept(out, "openai_unavailable", "openai_unavailable", "retry_soon_resume")
    # The half-spoken greeting is stored before the failure is recorded.
    kinds = [type(a) for a in out if isinstance(a, STORE_ACTIONS)]
    assert kinds == [PersistTurn, AttemptFailed]
    assert of(out, PersistTurn)[0].turn.text == "Hello and welcome"
    assert "saved" in sent(out)[0]["message"]


def test_a_connection_to_openai_lost_without_a_close_frame_is_the_network() -> None:
    # The adapter reports 1006 when our keepalive went unanswered or the TCP connection
    # broke: the path to OpenAI, not an unexplained error that would burn the link.
    s = live(resumable=True)
    out = s.upstream_closed(1006, "", T0 + 5)
    _kept(out, "network_unreachable", "network_unreachable", "retry_soon_resume")


def test_a_resumed_attempt_that_cannot_connect_says_continue_later() -> None:
    history = [TurnRecord(0, "interviewer", "Hello, tell me about you.", T0, T0 + 2, 2000,
                          "item_0", "complete")]
    s = session(resumable=True, history=history)
    out = s.upstream_connect_failed(UpstreamProblem("connect", status=503), T0 + 1)
    _kept(out, "openai_unavailable", "openai_unavailable", "retry_soon_resume")


def test_open_interviews_causeless_failures_and_the_goodbye_still_end_as_failed() -> None:
    # An open interview (no link) cannot come back: a key problem ends it as before…
    s = session(resumable=False)
    out = s.upstream_connect_failed(UpstreamProblem("connect", status=401), T0)
    assert of(out, AttemptFailed) == []
    [end] = of(out, EndInterview)
    assert (end.status, end.reason) == ("failed", "key_invalid")
    assert "retryable" not in sent(out)[0] and "retryable" not in sent(out)[-1]
    # … and so does OpenAI's own trouble, with words that promise no link.
    s = session(resumable=False)
    s.upstream_opened(T0)
    s.upstream_event({"type": "session.updated"}, T0)
    out = s.upstream_closed(1011, "Internal server error", T0)
    assert of(out, AttemptFailed) == []
    assert [(e.status, e.reason) for e in of(out, EndInterview)] == [
        ("failed", "openai_unavailable")]
    assert sent(out)[0]["message"] == CANDIDATE_MESSAGES["timeout"]
    assert "retryable" not in sent(out)[0] and "retryable" not in sent(out)[-1]
    s = session(resumable=False)
    out = s.tick(T0 + 60)
    assert of(out, AttemptFailed) == []
    assert [(e.status, e.reason, e.error_code) for e in of(out, EndInterview)] == [
        ("failed", "network_unreachable", "upstream_timeout")]
    # A link whose session configuration OpenAI refused (no catalogue cause): final.
    s = configuring(resumable=True)
    out = s.upstream_event({"type": "error", "event_id": "ev_1", "error": {
        "type": "invalid_request_error", "code": "invalid_value",
        "message": "Invalid value: 'nobody'. Supported values are: 'alloy', 'marin'.",
        "param": "session.audio.output.voice", "event_id": SESSION_UPDATE_EVENT_ID}}, T0)
    assert of(out, AttemptFailed) == []
    assert [(e.status, e.reason) for e in of(out, EndInterview)] == [
        ("failed", "invalid_value")]
    assert sent(out)[0]["cause"] is None and "retryable" not in sent(out)[-1]
    # A close OpenAI does not explain (policy violation), or one of our own limits: final.
    s = live(resumable=True)
    out = s.upstream_closed(1008, "policy violation", T0)
    assert of(out, AttemptFailed) == [] and of(out, EndInterview)[0].status == "failed"
    s = live(resumable=True)
    out = s.local_failure("client_too_slow", "Your connection is too slow.", None, T0)
    assert of(out, AttemptFailed) == []
    assert of(out, EndInterview)[0].reason == "client_too_slow"
    # During the goodbye at the time limit, the interview is over either way.
    s = live(resumable=True)
    s.tick(T0 + 600)
    assert s.phase is Phase.ENDING
    out = s.upstream_event({"type": "error", "error": {
        "type": "invalid_request_error", "code": "invalid_api_key"}}, T0 + 601)
    assert of(out, AttemptFailed) == []
    assert [(e.status, e.reason) for e in of(out, EndInterview)] == [("failed", "key_invalid")]
    s = live(resumable=True)
    s.tick(T0 + 600)
    out = s.upstream_closed(1011, "Internal server error", T0 + 601)
    assert of(out, AttemptFailed) == []
    assert [(e.status, e.reason) for e in of(out, EndInterview)] == [("ended", "time_limit")]


def test_removed_ends_the_interview_without_storing_anything() -> None:
    s = live(resumable=True)
    out = s.removed(T0 + 3)
    assert [a for a in out if isinstance(a, STORE_ACTIONS)] == []
    ended = sent(out)[-1]
    assert (ended["type"], ended["reason"], ended["interview_id"]) == (
        "interview_ended", REMOVED_REASON, "iv-1")
    assert "removed" in ended["message"]
    assert of(out, CloseUpstream) and of(out, CloseBrowser)
    assert s.phase is Phase.ENDED
    [line] = s.removed(T0 + 4)  # ignored after the end: one debug line, nothing stored
    assert isinstance(line, Log) and line.fields == {"input": "removed", "phase": "ended"}
    # Nothing else comes out of it afterwards.
    assert all(isinstance(a, Log) for a in s.upstream_closed(1000, "", T0 + 5))
