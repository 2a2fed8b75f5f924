"""The interview's phases, which transitions between them are legal, and which input
each phase accepts: the one table the core consults.

``idle`` (socket open, waiting for ``start_interview``) → ``connecting`` (interview
being prepared, Realtime socket opening) → ``configuring`` (``session.update`` sent) →
``live`` → ``ending`` (spoken wrap-up at the time limit) → ``ended``. ``live`` →
``recovering`` (the Realtime connection was lost without a fatal cause; a new one is
being opened and configured, see :mod:`~vivavoce.interview.recovery`) → ``live``. A start the
service refused without ending (a bad candidate context) goes back to ``idle``; any
phase may end.

A transition outside :data:`TRANSITIONS` is a bug in the core, so it raises
:class:`IllegalTransition` (tests see it; it never depends on what a peer sends). An
input outside :data:`ACCEPTS` is a peer's timing (an event after the end, a late
``prepared``): the core answers it with one ``Log`` line and changes nothing.
"""

from __future__ import annotations

import enum

__all__ = ["ACCEPTS", "TRANSITIONS", "IllegalTransition", "Phase", "check_transition"]


class Phase(enum.StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONFIGURING = "configuring"
    LIVE = "live"
    RECOVERING = "recovering"
    ENDING = "ending"
    ENDED = "ended"


_P = Phase

TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    _P.IDLE: frozenset({_P.CONNECTING, _P.ENDED}),
    _P.CONNECTING: frozenset({_P.IDLE, _P.CONFIGURING, _P.ENDED}),
    # Back to connecting: the WebRTC media did not connect, the relay takes over.
    _P.CONFIGURING: frozenset({_P.CONNECTING, _P.LIVE, _P.ENDED}),
    _P.LIVE: frozenset({_P.RECOVERING, _P.ENDING, _P.ENDED}),
    _P.RECOVERING: frozenset({_P.LIVE, _P.ENDED}),
    _P.ENDING: frozenset({_P.ENDED}),
    _P.ENDED: frozenset(),
}

_NOT_ENDED = frozenset(Phase) - {_P.ENDED}
_STARTED = frozenset({_P.CONNECTING, _P.CONFIGURING, _P.LIVE, _P.RECOVERING, _P.ENDING})

# Input name (the core's method, or an upstream event group) → phases it acts in.
ACCEPTS: dict[str, frozenset[Phase]] = {
    "browser_text": _NOT_ENDED,
    # Before the start, or during the goodbye, candidate audio has no listener.
    # While recovering it is kept (bounded) for the new session.
    "browser_audio": frozenset({_P.CONNECTING, _P.CONFIGURING, _P.LIVE, _P.RECOVERING}),
    "browser_closed": _NOT_ENDED,
    "local_failure": _NOT_ENDED,
    "removed": _NOT_ENDED,
    "server_shutdown": _NOT_ENDED,
    "prepared": frozenset({_P.CONNECTING}),
    "prepare_failed": frozenset({_P.CONNECTING}),
    "call_created": frozenset({_P.CONNECTING}),
    "call_failed": frozenset({_P.CONNECTING}),
    "upstream_opened": frozenset({_P.CONNECTING, _P.RECOVERING}),
    "upstream_connect_failed": frozenset({_P.CONNECTING, _P.RECOVERING}),
    "upstream_closed": _NOT_ENDED,
    "upstream_event": _STARTED,
    "session.updated": frozenset({_P.CONFIGURING, _P.RECOVERING}),
    "input_audio_buffer.speech_started": frozenset({_P.LIVE}),
}


class IllegalTransition(RuntimeError):
    """The core tried a transition the table does not allow: a bug, never a peer's doing."""


def check_transition(current: Phase, target: Phase) -> Phase:
    """``target`` when the table allows ``current`` → ``target``; raises otherwise."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"{current} → {target}")
    return target
