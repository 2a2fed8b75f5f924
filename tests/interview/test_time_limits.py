"""The interview's clocks, event by event: start deadline, idle limit, and the spoken
wrap-up at the duration limit (plain values, no session)."""

from __future__ import annotations

from vivavoce.interview.phase import Phase
from vivavoce.interview.time_limits import (
    WRAP_UP_EVENT_ID,
    WRAP_UP_INSTRUCTIONS,
    Due,
    Limits,
    TimeLimits,
    time_left,
)

T0 = 1_000_000.0


def live(limits: Limits) -> TimeLimits:
    t = TimeLimits(limits)
    t.start_requested(T0)
    t.went_live(T0)
    return t


def test_time_left_counts_from_the_first_start() -> None:
    assert time_left(T0, 600, T0 + 100) == 500
    assert time_left(T0, 600, T0 + 700) == -100


def test_start_deadline_in_both_starting_phases() -> None:
    t = TimeLimits(Limits(start_timeout_s=20))
    t.start_requested(T0)
    for phase in (Phase.CONNECTING, Phase.CONFIGURING):
        assert t.due(phase, T0 + 19.9, ai_playing=False) is None
        assert t.due(phase, T0 + 20, ai_playing=False) is Due.START_TIMEOUT
    assert t.due(Phase.IDLE, T0 + 1000, ai_playing=False) is None
    t.start_withdrawn()  # refused without ending: the clock starts again with a new start
    assert t.due(Phase.CONNECTING, T0 + 1000, ai_playing=False) is None


def test_the_interview_s_own_limit_and_what_is_left_of_a_resumed_one() -> None:
    t = TimeLimits(Limits(max_duration_s=1800))
    t.allow(600, started_at=None, now=T0)
    assert t.limits.max_duration_s == 600
    t = TimeLimits(Limits(max_duration_s=300))
    t.allow(600, started_at=None, now=T0)
    assert t.limits.max_duration_s == 300  # never above the service's
    t = TimeLimits(Limits(max_duration_s=1800))
    t.allow(600, started_at=T0 - 450, now=T0)  # resumed: 150 s of its 600 are left
    assert t.limits.max_duration_s == 150


def test_idle_limit_and_what_counts_as_activity() -> None:
    t = live(Limits(max_duration_s=1000, idle_timeout_s=60))
    assert t.due(Phase.LIVE, T0 + 59, ai_playing=False) is None
    assert t.due(Phase.LIVE, T0 + 60, ai_playing=False) is Due.IDLE
    # The interviewer speaking (or the browser playing it) is not idleness…
    assert t.due(Phase.LIVE, T0 + 60, ai_playing=True) is None
    assert t.due(Phase.LIVE, T0 + 119, ai_playing=False) is None
    # …and neither is the candidate.
    t.activity(T0 + 150)
    assert t.due(Phase.LIVE, T0 + 209, ai_playing=False) is None
    assert t.due(Phase.LIVE, T0 + 210, ai_playing=False) is Due.IDLE


def test_duration_asks_for_a_goodbye_then_ends_once_it_was_played() -> None:
    t = live(Limits(max_duration_s=100, idle_timeout_s=1000, wrap_up_grace_s=30))
    assert t.due(Phase.LIVE, T0 + 99, ai_playing=True) is None
    assert t.due(Phase.LIVE, T0 + 100, ai_playing=True) is Due.WRAP_UP
    events = t.wrap_up(T0 + 100, responding=True)
    assert [e["type"] for e in events] == [
        "response.cancel", "input_audio_buffer.clear", "response.create"]
    assert events[-1] == {"type": "response.create", "event_id": WRAP_UP_EVENT_ID,
                          "response": {"instructions": WRAP_UP_INSTRUCTIONS}}
    # The first response created after the request is the goodbye; later ones are not.
    t.response_created("r-goodbye")
    t.response_created("r-other")
    assert t.is_goodbye("r-goodbye") and not t.is_goodbye("r-other") and not t.is_goodbye(None)
    assert t.due(Phase.ENDING, T0 + 101, ai_playing=False) is None
    # Generated at +101 with 2 s still to play: the end comes after it (and half a second).
    t.goodbye_generated(T0 + 101, unplayed_ms=2000)
    assert t.due(Phase.ENDING, T0 + 103.4, ai_playing=False) is None
    assert t.due(Phase.ENDING, T0 + 103.5, ai_playing=False) is Due.TIME_UP


def test_wrap_up_without_a_response_in_progress_cancels_nothing() -> None:
    t = live(Limits(max_duration_s=100))
    assert [e["type"] for e in t.wrap_up(T0 + 100, responding=False)] == [
        "input_audio_buffer.clear", "response.create"]


def test_a_response_before_the_wrap_up_is_not_the_goodbye() -> None:
    t = live(Limits(max_duration_s=100))
    t.response_created("r-early")
    assert not t.is_goodbye("r-early")


def test_the_goodbye_has_a_hard_deadline() -> None:
    t = live(Limits(max_duration_s=100, idle_timeout_s=1000, wrap_up_grace_s=30))
    t.wrap_up(T0 + 100, responding=False)
    assert t.due(Phase.ENDING, T0 + 129.9, ai_playing=True) is None
    assert t.due(Phase.ENDING, T0 + 130, ai_playing=True) is Due.TIME_UP
