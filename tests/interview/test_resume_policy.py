"""Whether a link's interview may run, from its stored row (plain values): refuse,
start, or resume with what is left of its time; and which rows the sweeper ends."""

from __future__ import annotations

import pytest

from vivavoce.interview.resume_policy import (
    ABANDONED_AFTER_S,
    MIN_RESUME_S,
    Abandon,
    Refuse,
    Resume,
    Start,
    StoredInterview,
    abandoned,
    decide,
)

T0 = 1_000_000.0


def row(status: str, started_at: float | None = None, limit_s: float = 600,
        last_failure: tuple[str, str] | None = None) -> StoredInterview:
    return StoredInterview("iv", status, started_at, limit_s, last_failure)


def test_gone_or_over_is_refused() -> None:
    assert decide(None, T0) == Refuse("interview_not_found", "This interview no longer exists.")
    for status in ("ended", "failed"):
        refusal = decide(row(status, T0 - 10), T0)
        assert isinstance(refusal, Refuse) and refusal.code == "interview_not_available"


def test_a_created_interview_starts_with_its_whole_duration() -> None:
    assert decide(row("created"), T0) == Start(600)


def test_a_live_interview_resumes_while_enough_time_is_left() -> None:
    started = T0 - 600 + MIN_RESUME_S + 1  # 31 s left
    assert decide(row("live", started), T0) == Resume(600, started)
    refusal = decide(row("live", T0 - 600 + MIN_RESUME_S), T0)  # exactly 30 s left
    assert isinstance(refusal, Refuse) and refusal.code == "interview_not_available"
    # No recorded start: its clock starts now.
    assert decide(row("live", None), T0) == Resume(600, None)


@pytest.mark.parametrize(("status", "started", "failure", "expected"), [
    ("live", T0 - 600 - ABANDONED_AFTER_S, None,
     Abandon("ended", "browser_disconnected", None)),
    ("live", T0 - 600 - ABANDONED_AFTER_S, ("key_invalid", "invalid_api_key"),
     Abandon("failed", "key_invalid", "invalid_api_key")),
    ("live", T0 - 600 - ABANDONED_AFTER_S + 1, None, None),  # not long enough past
    ("created", T0 - 100_000, None, None),
    ("ended", T0 - 100_000, None, None),
])
def test_the_sweeper_s_rule(status: str, started: float, failure: tuple[str, str] | None,
                            expected: Abandon | None) -> None:
    assert abandoned(row(status, started, last_failure=failure), T0) == expected
