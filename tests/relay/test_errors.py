"""Realtime problems → browser verdicts, through the doctor's real cause catalogue."""

from __future__ import annotations

import pytest

from vivavoce.interview.errors import CANDIDATE_MESSAGES, UpstreamProblem
from vivavoce.realtime.errors import describe_upstream_problem


@pytest.mark.parametrize(
    ("problem", "code", "cause", "fatal"),
    [
        (UpstreamProblem("session", error_type="invalid_request_error", code="invalid_api_key",
                         message="Incorrect API key provided: sk-test-****abcd."),
         "invalid_api_key", "key_invalid", True),
        (UpstreamProblem("connect", status=403), "no_realtime_access", "no_realtime_access",
         True),
        (UpstreamProblem("configure", close_code=3000,
                         close_reason="insufficient_quota.insufficient_quota",
                         error_type="insufficient_quota", code="insufficient_quota"),
         "insufficient_quota", "quota_exhausted", True),
        (UpstreamProblem("session", error_type="tokens", code="rate_limit_exceeded",
                         message="Rate limit reached"), "rate_limit_exceeded", "rate_limited",
         False),
        (UpstreamProblem("session", error_type="server_error", code="server_error"),
         "server_error", "openai_unavailable", False),
        (UpstreamProblem("session", close_code=1011, close_reason="Internal server error"),
         "openai_unavailable", "openai_unavailable", True),
        (UpstreamProblem("session", error_type="invalid_request_error", code="invalid_value"),
         "invalid_value", None, False),
        (UpstreamProblem("connect", code="upstream_timeout"), "upstream_timeout",
         "network_unreachable", True),
        (UpstreamProblem("connect", code="network_unreachable", message="refused"),
         "network_unreachable", "network_unreachable", True),
        (UpstreamProblem("connect", code="key_missing"), "key_missing", "key_missing", True),
    ],
)
def test_verdicts(problem: UpstreamProblem, code: str, cause: str | None, fatal: bool) -> None:
    verdict = describe_upstream_problem(problem, "railway")
    assert (verdict.code, verdict.cause, verdict.fatal) == (code, cause, fatal)
    assert verdict.hint
    assert "sk-" not in verdict.message


def test_candidate_words_fit_the_situation() -> None:
    def words(problem: UpstreamProblem) -> str:
        return describe_upstream_problem(problem, "local").message

    assert words(UpstreamProblem("session", code="rate_limit_exceeded")) == (
        CANDIDATE_MESSAGES["busy"])
    assert words(UpstreamProblem("connect", code="upstream_timeout")) == (
        CANDIDATE_MESSAGES["timeout"])
    assert words(UpstreamProblem("session", code="invalid_api_key")) == (
        CANDIDATE_MESSAGES["service_unavailable"])
    railway = describe_upstream_problem(UpstreamProblem("session", code="invalid_api_key"),
                                        "railway")
    assert "Railway" in str(railway.hint)
