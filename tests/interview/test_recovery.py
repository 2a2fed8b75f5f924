"""Transparent upstream recovery in the core, event by event: a connection to OpenAI
lost without a fatal cause takes the interview from ``live`` to ``recovering`` and back,
with what the drop cut short stored once, the new session seeded with every turn so
far, the candidate's audio kept meanwhile, a bounded budget, and fatal causes never
retried (interview/recovery.py, interview/session.py; plain values, the real describer).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from vivavoce.interview.actions import (
    Action,
    AppendAudio,
    AttemptFailed,
    CloseBrowser,
    ConnectUpstream,
    EndInterview,
    MarkLive,
    PersistTurn,
    ReconnectUpstream,
    SendJson,
    SendUpstream,
    TurnRecord,
)
from vivavoce.interview.errors import UpstreamProblem
from vivavoce.interview.phase import ACCEPTS
from vivavoce.interview.recovery import RecoveryBudget, recoverable_close, recovery_instructions
from vivavoce.interview.session import InterviewSession, Limits, Phase
from vivavoce.realtime.errors import make_error_describer

T0 = 1_000_000.0
UPDATE: Any = {"type": "session.update", "session": {"type": "realtime", "instructions": "x"}}
PCM = bytes(4800)  # 100 ms of silence


def of(actions: list[Action], kind: type) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


def sent(actions: list[Action]) -> list[dict[str, Any]]:
    return [a.message for a in actions if isinstance(a, SendJson)]


def turns(actions: list[Action]) -> list[TurnRecord]:
    return [a.turn for a in actions if isinstance(a, PersistTurn)]


def live(*, resumable: bool = True, attempts: int = 3) -> InterviewSession:
    s = InterviewSession(model="gpt-realtime", describe_error=make_error_describer("local"),
                         limits=Limits(max_duration_s=600, idle_timeout_s=60,
                                       recovery_attempts=attempts),
                         resumable=resumable)
    s.connected(T0)
    s.browser_text(json.dumps({"type": "start_interview"}), T0)
    s.prepared("iv-1", UPDATE, T0)
    s.upstream_opened(T0)
    s.upstream_event({"type": "session.updated"}, T0)
    assert s.phase is Phase.LIVE
    return s


def ev(s: InterviewSession, kind: str, now: float = T0, **fields: Any) -> list[Action]:
    return s.upstream_event({"type": kind, **fields}, now)


def answered_greeting(s: InterviewSession) -> list[Action]:
    """A full greeting, then a complete candidate answer."""
    out = ev(s, "response.created", response={"id": "r1"})
    out += ev(s, "response.output_item.added", response_id="r1",
              item={"id": "a1", "type": "message", "role": "assistant"})
    out += ev(s, "response.output_audio_transcript.done", item_id="a1",
              transcript="Hello, tell me about you.")
    out += ev(s, "response.done", response={"id": "r1", "status": "completed", "output": [
        {"id": "a1", "type": "message", "role": "assistant"}]})
    out += ev(s, "input_audio_buffer.committed", T0 + 5, item_id="u1",
              previous_item_id="a1")
    out += ev(s, "conversation.item.input_audio_transcription.completed", T0 + 6,
              item_id="u1", transcript="I build voice systems.")
    return out


def half_spoken_reply(s: InterviewSession, now: float) -> list[Action]:
    out = ev(s, "response.created", now, response={"id": "r2"})
    out += ev(s, "response.output_item.added", now, response_id="r2",
              item={"id": "a2", "type": "message", "role": "assistant"})
    out += ev(s, "response.output_audio.delta", now, item_id="a2",
              delta=base64.b64encode(bytes(4800)).decode())
    out += ev(s, "response.output_audio_transcript.delta", now, item_id="a2",
              delta="What did you build last")
    return out


def reconfigure(s: InterviewSession, now: float) -> list[Action]:
    out = s.upstream_opened(now)
    out += ev(s, "session.updated", now)
    return out


def test_a_dropped_reply_is_stored_interrupted_and_the_new_session_repeats_it() -> None:
    s = live()
    stored = turns(answered_greeting(s))
    assert [t.sequence for t in stored] == [0, 1]
    half_spoken_reply(s, T0 + 7)
    out = s.upstream_closed(1006, "", T0 + 8)
    assert s.phase is Phase.RECOVERING
    [cut] = turns(out)
    assert (cut.sequence, cut.speaker, cut.state, cut.text) == (
        2, "interviewer", "interrupted", "What did you build last")
    assert of(out, ReconnectUpstream) == [ReconnectUpstream(0.5)]
    assert not of(out, EndInterview) and not of(out, AttemptFailed)
    assert not of(out, CloseBrowser) and sent(out) == []  # the browser stays
    # The new socket is configured with the same session.update.
    out = s.upstream_opened(T0 + 9)
    assert s.phase is Phase.RECOVERING
    assert [a.event for a in of(out, SendUpstream)][0]["type"] == "session.update"
    assert [a.event["session"] for a in of(out, SendUpstream)] == [UPDATE["session"]]
    out = ev(s, "session.updated", T0 + 9)
    assert s.phase is Phase.LIVE
    events = [a.event for a in of(out, SendUpstream)]
    seeded = [e["item"]["content"][0]["text"] for e in events
              if e["type"] == "conversation.item.create"]
    assert seeded == ["Hello, tell me about you.", "I build voice systems.",
                      "What did you build last"]
    assert events[-1]["type"] == "response.create"
    assert events[-1]["response"]["instructions"] == recovery_instructions("reply")
    [resumed] = sent(out)
    assert (resumed["type"], resumed["interview_id"], resumed["attempt"]) == (
        "interview_resumed", "iv-1", 1)
    assert not of(out, MarkLive)  # it went live once; the store keeps that time
    # The echoes of the seeded items are no new turns; the next turn numbers on.
    for i, e in enumerate(events[:-1]):
        ev(s, "conversation.item.added", T0 + 9, item=e["item"],
           previous_item_id=events[i - 1]["item"]["id"] if i else None)
    ev(s, "input_audio_buffer.committed", T0 + 12, item_id="u9", previous_item_id=None)
    out = ev(s, "conversation.item.input_audio_transcription.completed", T0 + 13,
             item_id="u9", transcript="A relay.")
    assert [(t.sequence, t.text) for t in turns(out)] == [(3, "A relay.")]


def test_a_dropped_answer_is_stored_with_what_was_transcribed_and_asked_to_finish() -> None:
    s = live()
    answered_greeting(s)
    ev(s, "input_audio_buffer.speech_started", T0 + 10, item_id="u2")
    ev(s, "input_audio_buffer.committed", T0 + 11, item_id="u2", previous_item_id="u1")
    ev(s, "conversation.item.input_audio_transcription.delta", T0 + 11, item_id="u2",
       delta="Mostly in Python and")
    out = s.upstream_closed(1011, "keepalive ping timeout", T0 + 12)
    [cut] = turns(out)
    assert (cut.sequence, cut.speaker, cut.state, cut.text) == (
        2, "candidate", "partial", "Mostly in Python and")
    out = reconfigure(s, T0 + 13)
    last = [a.event for a in of(out, SendUpstream)][-1]
    assert last["response"]["instructions"] == recovery_instructions("answer")  # type: ignore[typeddict-item]


def test_candidate_audio_meanwhile_is_kept_and_sent_after_the_seed() -> None:
    s = live()
    answered_greeting(s)
    s.upstream_closed(1006, "", T0 + 8)
    assert "browser_audio" in ACCEPTS and Phase.RECOVERING in ACCEPTS["browser_audio"]
    assert s.browser_audio(PCM, T0 + 8.5) == []  # kept, not forwarded to a dead socket
    out = reconfigure(s, T0 + 9)
    kinds = [type(a) for a in out if isinstance(a, SendUpstream | AppendAudio)]
    assert kinds[-1] is AppendAudio
    assert of(out, AppendAudio) == [AppendAudio(base64.b64encode(PCM).decode())]
    assert s.browser_audio(PCM, T0 + 10) == [AppendAudio(base64.b64encode(PCM).decode())]


def test_the_sixty_minute_limit_is_recovered_from() -> None:
    s = live()
    out = s.upstream_closed(1001, "Your session hit the maximum duration of 60 minutes.", T0)
    assert of(out, ReconnectUpstream) and s.phase is Phase.RECOVERING


def test_retries_are_bounded_then_the_link_s_retryable_ending() -> None:
    s = live()
    answered_greeting(s)
    delays = []
    for i in range(3):
        out = s.upstream_closed(1006, "", T0 + 10 + i)
        delays += [a.delay_s for a in of(out, ReconnectUpstream)]
        assert s.phase is Phase.RECOVERING
        assert turns(out) == [] or i == 0
    assert delays == [0.5, 1.0, 2.0]
    out = s.upstream_closed(1006, "", T0 + 14)
    assert s.phase is Phase.ENDED and not of(out, ReconnectUpstream)
    [failed] = of(out, AttemptFailed)
    assert failed.reason == "network_unreachable"
    assert sent(out)[-1]["retryable"] is True
    assert not turns(out)  # what was said was stored once, at the first drop


def test_an_open_interview_ends_after_the_bound() -> None:
    s = live(resumable=False, attempts=1)
    s.upstream_closed(1006, "", T0)
    out = s.upstream_closed(1006, "", T0 + 1)
    [end] = of(out, EndInterview)
    assert (end.status, end.reason) == ("failed", "network_unreachable")


def test_a_network_error_while_reconnecting_is_retried_a_bad_key_is_not() -> None:
    s = live()
    s.upstream_closed(1006, "", T0)
    out = s.upstream_connect_failed(UpstreamProblem("connect", code="network_unreachable"),
                                    T0 + 1)
    assert of(out, ReconnectUpstream) == [ReconnectUpstream(1.0)]
    out = s.upstream_connect_failed(UpstreamProblem("connect", status=401), T0 + 2)
    assert not of(out, ReconnectUpstream) and s.phase is Phase.ENDED
    assert of(out, AttemptFailed)[0].reason == "key_invalid"


@pytest.mark.parametrize(("code", "reason"), [
    (3000, "invalid_request_error.invalid_api_key"),
    (1008, "policy violation"),
])
def test_fatal_or_unexplained_closes_never_loop(code: int, reason: str) -> None:
    s = live()
    out = s.upstream_closed(code, reason, T0)
    assert not of(out, ReconnectUpstream) and s.phase is Phase.ENDED


def test_an_orderly_close_still_ends() -> None:
    s = live()
    out = s.upstream_closed(1000, "", T0)
    assert not of(out, ReconnectUpstream)
    assert of(out, EndInterview)[0].reason == "upstream_closed"


def test_a_new_session_that_never_configures_counts_as_another_attempt() -> None:
    s = live()
    s.upstream_closed(1006, "", T0)
    s.upstream_opened(T0 + 1)
    assert s.tick(T0 + 20) == []
    out = s.tick(T0 + 25)
    assert of(out, ReconnectUpstream) == [ReconnectUpstream(1.0)]


def test_the_browser_leaving_while_recovering_keeps_a_link() -> None:
    s = live()
    s.upstream_closed(1006, "", T0)
    out = s.browser_closed(T0 + 1)
    assert s.phase is Phase.ENDED
    assert not of(out, EndInterview) and not of(out, ConnectUpstream)


def test_speech_events_wait_for_live() -> None:
    assert Phase.RECOVERING not in ACCEPTS["input_audio_buffer.speech_started"]


def test_the_budget_forgets_attempts_outside_its_window() -> None:
    budget = RecoveryBudget(max_attempts=2, window_s=60.0, backoff_s=(0.5, 1.0))
    assert budget.next_delay(0.0) == 0.5
    assert budget.next_delay(1.0) == 1.0
    assert budget.next_delay(2.0) is None
    assert budget.next_delay(60.5) == 1.0  # the first fell out of the window
    assert [recoverable_close(c) for c in (1000, 1001, 1006, 1008, 1011, 3000, None)] == [
        False, True, True, False, True, False, True]
