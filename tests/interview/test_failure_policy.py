"""The failure policy, verdict by verdict: what the browser is told, what is logged,
and whether a link's interview is kept for the same link (plain values, no session)."""

from __future__ import annotations

import pytest

from vivavoce.diagnosis.catalogue import CAUSES
from vivavoce.interview.actions import Log, SendJson, UpstreamError
from vivavoce.interview.errors import CANDIDATE_MESSAGES, ErrorVerdict, UpstreamProblem
from vivavoce.interview.failure_policy import (
    CONFIGURATION_CAUSES,
    TRANSIENT_CAUSES,
    FailurePolicy,
    OrderlyEnd,
    close_outcome,
    closed_verdict,
    error_event,
    failed_response,
    recoverable,
    refused_configuration,
    start_timeout,
    upstream_error,
)
from vivavoce.interview.phase import Phase

KEY = ErrorVerdict("invalid_api_key", "key_invalid", True, "words", "fix the key")
OUTAGE = ErrorVerdict("server_error", "openai_unavailable", True, "words", "wait")
UNKNOWN = ErrorVerdict("weird", None, True, "words", None)
PROBLEM = UpstreamProblem("session", code="invalid_api_key", close_code=3000)


def test_transient_causes_are_the_catalogue_s_not_fatal_ones() -> None:
    assert {c for c, cause in CAUSES.items() if not cause.fatal} == TRANSIENT_CAUSES
    assert TRANSIENT_CAUSES and TRANSIENT_CAUSES.isdisjoint(CONFIGURATION_CAUSES)


@pytest.mark.parametrize(("resumable", "verdict", "phase", "retry"), [
    (True, KEY, Phase.CONNECTING, True),
    (True, KEY, Phase.CONFIGURING, True),
    (True, OUTAGE, Phase.LIVE, True),
    (True, KEY, Phase.ENDING, False),  # the goodbye at the time limit is a real end
    (True, UNKNOWN, Phase.LIVE, False),  # no catalogue cause: final
    (False, KEY, Phase.LIVE, False),  # an open interview has no link to come back with
])
def test_whether_a_link_may_retry(resumable: bool, verdict: ErrorVerdict, phase: Phase,
                                  retry: bool) -> None:
    assert FailurePolicy(resumable=resumable).may_retry(verdict, phase) is retry
    assert FailurePolicy(resumable=resumable).fail(verdict, PROBLEM, phase).retryable is retry


def test_a_drop_keeps_a_link_s_interview_unless_it_was_saying_goodbye() -> None:
    link, open_ = FailurePolicy(resumable=True), FailurePolicy(resumable=False)
    assert link.keeps_on_drop(Phase.LIVE) and link.keeps_on_drop(Phase.CONNECTING)
    assert not link.keeps_on_drop(Phase.ENDING)
    assert not open_.keeps_on_drop(Phase.LIVE)


@pytest.mark.parametrize(("verdict", "phase", "resumed", "words", "link"), [
    (KEY, Phase.CONNECTING, False, "retry_later", "kept, can start once the configuration "
     "is fixed"),
    (KEY, Phase.LIVE, False, "retry_resume", "kept, resumable once the configuration is "
     "fixed"),
    (OUTAGE, Phase.CONFIGURING, False, "retry_soon", "kept, can start on a later try"),
    (OUTAGE, Phase.CONFIGURING, True, "retry_soon_resume", "kept, resumable on a later try"),
])
def test_a_kept_link_is_told_when_and_how_to_come_back(
    verdict: ErrorVerdict, phase: Phase, resumed: bool, words: str, link: str,
) -> None:
    policy = FailurePolicy(resumable=True)
    policy.resumed = resumed
    failure = policy.fail(verdict, PROBLEM, phase)
    assert failure.error["message"] == CANDIDATE_MESSAGES[words]
    assert failure.error["retryable"] is True and failure.error["fatal"] is True
    assert (failure.error["code"], failure.error["cause"]) == (verdict.code, verdict.cause)
    assert failure.reason == verdict.cause and "link stays valid" in failure.message
    assert failure.log.level == "error" and failure.log.fields["link"] == link


def test_a_final_failure_keeps_the_verdict_s_words() -> None:
    failure = FailurePolicy(resumable=False).fail(UNKNOWN, PROBLEM, Phase.LIVE)
    assert failure.error["message"] == "words" and "retryable" not in failure.error
    assert failure.reason == "weird" and failure.log.fields["link"] is None
    assert failure.log.fields["close_code"] == 3000


def test_upstream_error_prefers_openai_s_code() -> None:
    assert upstream_error(PROBLEM, KEY) == UpstreamError("invalid_api_key", "key_invalid", True)
    assert upstream_error(UpstreamProblem("connect", status=403), KEY).code == "invalid_api_key"


@pytest.mark.parametrize(("code", "reason", "expected"), [
    (1000, "", OrderlyEnd("upstream_closed", "The interviewer ended the session. Thank you!")),
    (1001, "Your session hit the maximum duration of 60 minutes.",
     OrderlyEnd("upstream_session_limit",
                "The interview reached its maximum length. Thank you!")),
    (3000, "invalid_request_error.invalid_api_key",
     UpstreamProblem("session", close_code=3000,
                     close_reason="invalid_request_error.invalid_api_key",
                     error_type="invalid_request_error", code="invalid_api_key")),
    # Not "<type>.<code>": the catalogue's parser reads nothing out of it.
    (3000, "something went wrong.", UpstreamProblem(
        "session", close_code=3000, close_reason="something went wrong.")),
    (1006, "", UpstreamProblem("session", close_code=1006, close_reason="")),
    (1001, "going away", UpstreamProblem("session", close_code=1001, close_reason="going away")),
])
def test_what_an_upstream_close_means(code: int, reason: str,
                                      expected: OrderlyEnd | UpstreamProblem) -> None:
    assert close_outcome(code, reason, "session") == expected


def test_a_close_is_always_the_end() -> None:
    busy = ErrorVerdict("rate_limit_exceeded", "rate_limited", False, "busy", "hint")
    assert closed_verdict(busy) == ErrorVerdict(
        "rate_limit_exceeded", "rate_limited", True, CANDIDATE_MESSAGES["connection_lost"],
        "hint")
    assert closed_verdict(KEY) is KEY


def test_a_refused_session_update_ends_the_start() -> None:
    odd = ErrorVerdict("invalid_value", None, False, "hiccup", None)
    refused = refused_configuration(odd)
    assert refused.fatal and refused.message == CANDIDATE_MESSAGES["service_unavailable"]
    assert refused.hint and "session configuration" in refused.hint
    assert refused_configuration(KEY) is KEY


def test_the_start_deadline_is_named_by_where_it_stopped() -> None:
    problem, verdict = start_timeout(True, 25)
    assert (problem.phase, verdict.cause, verdict.code) == (
        "connect", "network_unreachable", "upstream_timeout")
    problem, verdict = start_timeout(False, 25)
    assert (problem.phase, verdict.cause) == ("configure", "openai_unavailable")
    assert verdict.fatal and "25 s" in (verdict.hint or "")


def test_reported_problems_and_the_recoverable_answer() -> None:
    reported = error_event({"type": "error", "event_id": "ev_1", "error": {
        "type": "invalid_request_error", "code": "bad", "message": "no",
        "event_id": "ours"}}, "session")
    assert reported.problem == UpstreamProblem(
        "session", error_type="invalid_request_error", code="bad", message="no",
        event_id="ev_1")
    assert reported.client_event_id == "ours"
    hiccup = ErrorVerdict("bad", None, False, "hiccup", None)
    metric, told, line = recoverable(reported, hiccup)
    assert metric == UpstreamError("bad", None, False)
    assert isinstance(told, SendJson) and told.message["fatal"] is False
    assert isinstance(line, Log) and line.level == "warning"
    assert line.fields["client_event_id"] == "ours"
    assert failed_response({"status": "failed"}) is None
    quota = failed_response({"status_details": {"error": {"code": "insufficient_quota"}}})
    assert quota is not None and quota.problem.code == "insufficient_quota"
