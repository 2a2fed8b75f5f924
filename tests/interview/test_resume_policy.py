"""Whether a link's interview may run, from its stored row (plain values): refuse,
start, or resume with what is left of its time; and which rows the sweeper ends."""

from __future__ import annotations

import pytest

from vivavoce.interview.resume_policy import (
    ABANDONED_AFTER_S,
    FREE,
    HANDOVER_MARGIN_S,
    IN_PROGRESS_ELSEWHERE,
    MIN_RESUME_S,
    Abandon,
    HandOver,
    LeaseView,
    Refuse,
    Resume,
    Start,
    StoredInterview,
    abandoned,
    decide,
)
from vivavoce.interview.time_limits import BUDGET_REASON

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


# --- the lease (who drives the interview now), event by event -----------------------

ELSEWHERE = LeaseView("another_instance", expires_in_s=12.0)


def leased(status: str, lease: LeaseView, started_at: float | None = None) -> StoredInterview:
    return StoredInterview("iv", status, started_at, 600, lease=lease)


def test_a_free_released_or_own_lease_does_not_change_the_decision() -> None:
    for lease in (FREE, LeaseView("nobody"), LeaseView("this_instance")):
        assert decide(leased("created", lease), T0) == Start(600)
        assert decide(leased("live", lease, T0 - 10), T0) == Resume(600, T0 - 10)


def test_another_live_instance_is_asked_to_hand_over_first() -> None:
    # Live elsewhere: not taken from under it, asked, and waited for up to its lease's
    # remaining time and a beat (a crashed holder's lease runs out within that).
    assert decide(leased("live", ELSEWHERE, T0 - 10), T0) == HandOver(12.0 + HANDOVER_MARGIN_S)
    assert decide(leased("created", ELSEWHERE), T0) == HandOver(12.0 + HANDOVER_MARGIN_S)


def test_after_the_handover_the_free_lease_resumes() -> None:
    # The holder released it (its relay stopped and stored its last turns).
    assert decide(leased("live", FREE, T0 - 10), T0, handover_asked=True) == Resume(600, T0 - 10)


def test_a_crashed_holder_s_expired_lease_resumes_without_asking() -> None:
    for expired in (0.0, -30.0):
        lease = LeaseView("another_instance", expires_in_s=expired)
        assert decide(leased("live", lease, T0 - 10), T0) == Resume(600, T0 - 10)


def test_a_holder_that_did_not_hand_over_gets_the_link_a_retryable_refusal() -> None:
    refusal = decide(leased("live", ELSEWHERE, T0 - 10), T0, handover_asked=True)
    assert refusal == IN_PROGRESS_ELSEWHERE
    assert isinstance(refusal, Refuse) and refusal.retry_after_s is not None
    assert refusal.code == "interview_in_progress"


def test_an_interview_that_is_over_is_refused_whoever_holds_it() -> None:
    for status in ("ended", "failed"):
        refusal = decide(leased(status, ELSEWHERE, T0 - 10), T0)
        assert isinstance(refusal, Refuse) and refusal.code == "interview_not_available"
    refusal = decide(leased("live", ELSEWHERE, T0 - 600), T0)  # its time is up
    assert isinstance(refusal, Refuse) and refusal.code == "interview_not_available"


def paused(started: float, paused_at: float, paused_s: float = 0.0) -> StoredInterview:
    return StoredInterview("iv", "live", started, 600, (BUDGET_REASON, BUDGET_REASON),
                           paused_at=paused_at, paused_s=paused_s)


def test_an_interview_paused_at_the_spend_limit_resumes_with_the_time_it_had_left() -> None:
    # Paused 200 s in (400 s left), continued a day later: 400 s left, the pause counted.
    day = 86_400.0
    decision = decide(paused(T0, T0 + 200), T0 + 200 + day)
    assert decision == Resume(600, T0 + day, paused_s=day)
    # An earlier pause of 50 s: the clock starts 50 s later, and the pauses add up.
    decision = decide(paused(T0, T0 + 250, paused_s=50), T0 + 250 + day)
    assert decision == Resume(600, T0 + 50 + day, paused_s=50 + day)
    # A pause with too little time left cannot be resumed.
    assert isinstance(decide(paused(T0, T0 + 600 - MIN_RESUME_S), T0 + day), Refuse)
    # Running again after a pause (paused_s, no paused_at): a drop counts from the
    # shifted start.
    again = StoredInterview("iv", "live", T0, 600, paused_s=1000)
    assert decide(again, T0 + 1000 + 500) == Resume(600, T0 + 1000)
    assert isinstance(decide(again, T0 + 1000 + 600 - MIN_RESUME_S), Refuse)


def test_the_sweeper_leaves_a_paused_interview_to_its_link() -> None:
    a_month = 31 * 86_400.0
    assert abandoned(paused(T0, T0 + 200), T0 + a_month) is None
    # Unless it had too little left to resume: it ended then.
    assert abandoned(paused(T0, T0 + 590), T0 + a_month) == Abandon("ended", BUDGET_REASON, None)
    # After it ran again, a long silence is abandoned as usual, counted from the shift.
    again = StoredInterview("iv", "live", T0, 600, paused_s=a_month)
    assert abandoned(again, T0 + a_month + 600 + ABANDONED_AFTER_S - 1) is None
    assert abandoned(again, T0 + a_month + 600 + ABANDONED_AFTER_S) == Abandon(
        "ended", "browser_disconnected", None)
