"""The spend limit reached while an interview is live (issue 16): the same spoken wrap-up
as the time limit, once nothing is being said, then the end ``budget_exhausted`` — a
link's interview paused (its clock stopped, resumable), an open one ended."""

from __future__ import annotations

from tests.interview.test_session import T0, Harness, ended, of, sent_json, upstream
from vivavoce.interview.actions import AttemptFailed, EndInterview
from vivavoce.interview.phase import Phase
from vivavoce.interview.session import Limits
from vivavoce.interview.time_limits import BUDGET_REASON, WRAP_UP_EVENT_ID

LIMITS = Limits(max_duration_s=600, idle_timeout_s=1000, wrap_up_grace_s=30)


def _goodbye(h: Harness, now: float) -> None:
    h.reply("bye", "r-wrap", "Thank you, we will continue later. Goodbye.", 1000, now)


def test_the_reply_in_progress_completes_before_the_goodbye_then_a_link_pauses() -> None:
    h = Harness(limits=LIMITS, resumable=True)
    h.go_live(T0)
    h.reply("a1", "r1", "Tell me about", 2000, T0 + 10, done=False)
    assert h.s.budget_exhausted(T0 + 10) == []  # the interviewer is still speaking
    assert h.s.tick(T0 + 11) == []
    h.finish_reply("a1", "r1", "Tell me about your last project.", T0 + 11)
    out = h.s.tick(T0 + 12)
    events = upstream(out)
    # Nothing cancelled: the reply was complete; the goodbye says the link continues.
    assert [e["type"] for e in events] == ["input_audio_buffer.clear", "response.create"]
    assert events[-1]["event_id"] == WRAP_UP_EVENT_ID
    assert "continue it later with the same link" in events[-1]["response"]["instructions"]
    assert h.s.phase is Phase.ENDING
    _goodbye(h, T0 + 13)
    assert h.s.tick(T0 + 13.2) == []  # still playing the goodbye
    out = h.s.tick(T0 + 15)
    # Not ended in the store: paused, its clock stopped at the end.
    assert of(out, EndInterview) == []
    assert of(out, AttemptFailed) == [AttemptFailed(BUDGET_REASON, BUDGET_REASON, T0 + 15,
                                                    pauses=True)]
    message = next(m for m in sent_json(out) if m["type"] == "interview_ended")
    assert (message["reason"], message["retryable"]) == (BUDGET_REASON, True)
    assert "open it again later" in message["message"]


def test_the_candidate_s_answer_is_not_cut() -> None:
    h = Harness(limits=LIMITS, resumable=True)
    h.go_live(T0)
    h.reply("a1", "r1", "Question one?", 500, T0)
    h.user_turn("u1", T0 + 5)  # speaking from T0+5, stopped at T0+6
    assert h.s.budget_exhausted(T0 + 5.5) == []
    assert h.s.tick(T0 + 7) == []  # the answer is in; its reply is not
    h.reply("a2", "r2", "Thank you.", 500, T0 + 8)
    assert [e["type"] for e in upstream(h.s.tick(T0 + 9))][-1] == "response.create"


def test_an_open_interview_ends_and_the_time_limit_keeps_its_words() -> None:
    h = Harness(limits=LIMITS)
    h.go_live(T0)
    h.s.budget_exhausted(T0 + 1)
    assert h.s.phase is Phase.ENDING
    _goodbye(h, T0 + 2)
    end = ended(h.s.tick(T0 + 10))
    assert (end.status, end.reason, end.error_code) == ("ended", BUDGET_REASON, None)
    # A goodbye that never comes: the hard deadline ends it the same way.
    h = Harness(limits=LIMITS, resumable=True)
    h.go_live(T0)
    h.s.budget_exhausted(T0 + 1)
    out = h.s.tick(T0 + 31)
    assert of(out, AttemptFailed)[0].pauses and of(out, EndInterview) == []


def test_told_while_starting_it_wraps_up_once_live_and_not_after_the_end() -> None:
    h = Harness(limits=LIMITS, resumable=True)
    h.text({"type": "start_interview"}, T0)
    assert h.s.budget_exhausted(T0) == []
    h.s.prepared("iv-1", {"type": "session.update", "session": {"type": "realtime"}}, T0)
    h.s.upstream_opened(T0)
    h.ev("session.updated", T0)
    # The opening response is being generated: it completes first.
    h.ev("response.created", T0, response={"id": "r0"})
    assert h.s.tick(T0 + 1) == []
    h.finish_reply("a0", "r0", "Hello.", T0 + 1)
    assert upstream(h.s.tick(T0 + 2))[-1]["event_id"] == WRAP_UP_EVENT_ID
    # OpenAI closing the session during the goodbye pauses it all the same.
    out = h.s.upstream_closed(1000, None, T0 + 3)
    assert of(out, AttemptFailed)[0].reason == BUDGET_REASON
    assert h.s.budget_exhausted(T0 + 4) == []


def test_the_time_limit_s_goodbye_is_unchanged() -> None:
    h = Harness(limits=Limits(max_duration_s=100, idle_timeout_s=1000), resumable=True)
    h.go_live(T0)
    events = upstream(h.s.tick(T0 + 100))
    assert "time for this interview is up" in events[-1]["response"]["instructions"]
    out = h.s.tick(T0 + 200)
    assert (ended(out).reason, of(out, AttemptFailed)) == ("time_limit", [])


def test_a_link_that_drops_during_the_goodbye_stays_paused() -> None:
    h = Harness(limits=LIMITS, resumable=True)
    h.go_live(T0)
    h.s.budget_exhausted(T0 + 1)
    out = h.s.browser_closed(T0 + 2)
    assert of(out, EndInterview) == [] and of(out, AttemptFailed)[0].pauses
    # The time limit's goodbye is an end: a drop then ends it, as before.
    h = Harness(limits=Limits(max_duration_s=100, idle_timeout_s=1000), resumable=True)
    h.go_live(T0)
    h.s.tick(T0 + 100)
    assert ended(h.s.browser_closed(T0 + 101)).reason == "browser_disconnected"
