"""The phase table: legal transitions, and the explicit no-op for an input that arrives
in a phase that does not take it (one debug Log, nothing changed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vivavoce.interview.actions import Action, Log
from vivavoce.interview.errors import UpstreamProblem
from vivavoce.interview.phase import (
    ACCEPTS,
    TRANSITIONS,
    IllegalTransition,
    Phase,
    check_transition,
)
from vivavoce.interview.session import InterviewSession
from vivavoce.realtime.errors import make_error_describer

T0 = 1_000_000.0
UPDATE: Any = {"type": "session.update", "session": {"type": "realtime"}}


def test_the_table_allows_exactly_the_interview_s_path() -> None:
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert allowed == {
        (Phase.IDLE, Phase.CONNECTING), (Phase.IDLE, Phase.ENDED),
        (Phase.CONNECTING, Phase.IDLE), (Phase.CONNECTING, Phase.CONFIGURING),
        (Phase.CONNECTING, Phase.ENDED),
        (Phase.CONFIGURING, Phase.LIVE), (Phase.CONFIGURING, Phase.ENDED),
        (Phase.CONFIGURING, Phase.CONNECTING),  # WebRTC media failed: the relay takes over
        (Phase.LIVE, Phase.ENDING), (Phase.LIVE, Phase.ENDED),
        (Phase.LIVE, Phase.RECOVERING),
        (Phase.RECOVERING, Phase.LIVE), (Phase.RECOVERING, Phase.ENDED),
        (Phase.ENDING, Phase.ENDED),
    }
    for a, b in allowed:
        assert check_transition(a, b) is b


@pytest.mark.parametrize(("current", "target"), [
    (Phase.IDLE, Phase.LIVE), (Phase.CONFIGURING, Phase.IDLE),
    (Phase.LIVE, Phase.CONFIGURING), (Phase.ENDING, Phase.LIVE),
    (Phase.ENDED, Phase.ENDED), (Phase.ENDED, Phase.IDLE),
    (Phase.RECOVERING, Phase.CONFIGURING), (Phase.ENDING, Phase.RECOVERING),
    (Phase.CONFIGURING, Phase.RECOVERING),
])
def test_an_illegal_transition_raises(current: Phase, target: Phase) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, target)


def session_in(phase: Phase) -> InterviewSession:
    s = InterviewSession(model="gpt-realtime", describe_error=make_error_describer("local"))
    s.connected(T0)
    steps = [
        lambda: s.browser_text(json.dumps({"type": "start_interview"}), T0),
        lambda: s.prepared("iv-1", UPDATE, T0),
        lambda: s.upstream_opened(T0),
        lambda: s.upstream_event({"type": "session.updated"}, T0),
        lambda: s.tick(T0 + 10_000),  # past the duration: the wrap-up
        lambda: s.tick(T0 + 20_000),  # past its deadline: the end
    ]
    order = [Phase.IDLE, Phase.CONNECTING, Phase.CONNECTING, Phase.CONFIGURING, Phase.LIVE,
             Phase.ENDING, Phase.ENDED]
    for step, reached in zip(steps, order[1:], strict=True):
        if s.phase is phase:
            break
        step()
        assert s.phase is reached
    assert s.phase is phase
    return s


def only_log(actions: list[Action], name: str, phase: Phase) -> bool:
    return (len(actions) == 1 and isinstance(actions[0], Log) and actions[0].level == "debug"
            and actions[0].fields == {"input": name, "phase": phase.value})


WRONG_PHASE = [
    (Phase.IDLE, "prepared", lambda s: s.prepared("iv-2", UPDATE, T0)),
    (Phase.IDLE, "upstream_opened", lambda s: s.upstream_opened(T0)),
    (Phase.IDLE, "upstream_event", lambda s: s.upstream_event({"type": "session.updated"}, T0)),
    (Phase.IDLE, "browser_audio", lambda s: s.browser_audio(bytes(96), T0)),
    (Phase.LIVE, "prepared", lambda s: s.prepared("iv-2", UPDATE, T0)),
    (Phase.LIVE, "prepare_failed", lambda s: s.prepare_failed("x", "y", T0, fatal=True)),
    (Phase.LIVE, "upstream_opened", lambda s: s.upstream_opened(T0)),
    (Phase.LIVE, "upstream_connect_failed", lambda s: s.upstream_connect_failed(
        UpstreamProblem("connect", status=401), T0)),
    (Phase.LIVE, "session.updated", lambda s: s.upstream_event({"type": "session.updated"}, T0)),
    (Phase.CONFIGURING, "input_audio_buffer.speech_started", lambda s: s.upstream_event(
        {"type": "input_audio_buffer.speech_started", "item_id": "u1"}, T0)),
    (Phase.ENDING, "browser_audio", lambda s: s.browser_audio(bytes(96), T0)),
    (Phase.ENDED, "browser_text", lambda s: s.browser_text('{"type": "ping"}', T0)),
    (Phase.ENDED, "browser_closed", lambda s: s.browser_closed(T0)),
    (Phase.ENDED, "local_failure", lambda s: s.local_failure("x", "y", None, T0)),
    (Phase.ENDED, "removed", lambda s: s.removed(T0)),
    (Phase.ENDED, "upstream_closed", lambda s: s.upstream_closed(1006, "", T0)),
    (Phase.ENDED, "upstream_event", lambda s: s.upstream_event(
        {"type": "response.output_audio.delta", "item_id": "a", "delta": "AAAA"}, T0)),
]


@pytest.mark.parametrize(("phase", "name", "feed"), WRONG_PHASE,
                         ids=[f"{p.value}-{n}" for p, n, _ in WRONG_PHASE])
def test_an_input_in_the_wrong_phase_is_a_logged_no_op(phase: Phase, name: str,
                                                        feed: Any) -> None:
    s = session_in(phase)
    assert phase not in ACCEPTS[name]
    assert only_log(feed(s), name, phase)
    assert s.phase is phase  # nothing changed
    assert s.interview_id in (None, "iv-1")
