"""Per-interview tokens and the secret-key check."""

from __future__ import annotations

import pytest

from vivavoce.tokens import (
    InvalidInterviewToken,
    issue_interview_token,
    secret_key_problem,
    token_expiry,
    verify_interview_token,
)

KEY = "k" * 40


def test_round_trip() -> None:
    token = issue_interview_token(KEY, "abc-123", now=1000.0, max_age_s=60)
    assert verify_interview_token(KEY, token, now=1059.0) == "abc-123"
    assert token_expiry(KEY, token) == 1060


def test_expired() -> None:
    token = issue_interview_token(KEY, "abc", now=1000.0, max_age_s=60)
    with pytest.raises(InvalidInterviewToken, match="expired") as info:
        verify_interview_token(KEY, token, now=1060.0)
    assert info.value.reason == "expired"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "eyJpIjoiYWJjIn0.bad"])
def test_garbage_is_invalid(token: str) -> None:
    with pytest.raises(InvalidInterviewToken) as info:
        verify_interview_token(KEY, token)
    assert info.value.reason == "invalid"


def test_other_key_or_tampered_payload_is_invalid() -> None:
    token = issue_interview_token(KEY, "abc")
    with pytest.raises(InvalidInterviewToken):
        verify_interview_token("z" * 40, token)
    payload, _, sig = token.rpartition(".")
    with pytest.raises(InvalidInterviewToken):
        verify_interview_token(KEY, payload[:-2] + "xx." + sig)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        issue_interview_token("", "abc")
    with pytest.raises(ValueError):
        issue_interview_token(KEY, "abc", max_age_s=0)


def test_secret_key_problem(make_settings) -> None:  # type: ignore[no-untyped-def]
    assert secret_key_problem(make_settings()) is None  # development generates one
    missing = secret_key_problem(make_settings(VIVAVOCE_ENV="production"))
    assert missing is not None and "VIVAVOCE_SECRET_KEY is not set" in missing
    short = secret_key_problem(make_settings(VIVAVOCE_ENV="production", VIVAVOCE_SECRET_KEY="abc"))
    assert short is not None and "too short" in short
    assert secret_key_problem(make_settings(VIVAVOCE_ENV="production", VIVAVOCE_SECRET_KEY=KEY)) is None
