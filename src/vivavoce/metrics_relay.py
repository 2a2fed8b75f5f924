"""Interview metrics from the relay's observer events, without touching the relay's code.

The relay (:mod:`vivavoce.realtime.relay`) publishes ``connected``, ``live`` and ``ended``
for every ``/voice`` connection to the functions in its ``observers`` list;
:func:`install` adds :func:`observe` there. From those three moments come: interviews
started and ended (by the session's end reason), the live-interviews gauge, the time from
the candidate's ``start_interview`` to ``interview_started``, and the interview's tokens
and estimated cost by model (counted when it ends, from the session's running totals).

Frames and upstream errors are counted by the relay itself, where they happen
(``metrics.frames_relayed`` / ``metrics.upstream_error``); evaluations by the evaluation
runner (``metrics.evaluation_finished``, ``metrics.tokens_used``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from vivavoce import metrics

if TYPE_CHECKING:
    from vivavoce.realtime.relay import VoiceRelay

__all__ = ["install", "observe", "uninstall"]

# id(relay) -> when it connected (relay clock). VoiceRelay is an unhashable dataclass,
# so its id is the key; "ended" always follows "connected" (the relay's run() sends it
# in a finally), which removes the entry.
_connected_at: dict[int, float] = {}
_lock = threading.Lock()


def observe(event: str, relay: VoiceRelay) -> None:
    """The relay observer. Never raises for an unknown event (newer relays may add some)."""
    key = id(relay)
    if event == "connected":
        with _lock:
            _connected_at[key] = relay.clock()
        metrics.interview_started()
    elif event == "live":
        session = relay.session
        with _lock:
            connected = _connected_at.get(key)
        begun = session.start_requested_at if session.start_requested_at is not None else connected
        live_at = session.live_at if session.live_at is not None else relay.clock()
        if begun is not None:
            metrics.time_to_start(max(0.0, live_at - begun))
    elif event == "ended":
        with _lock:
            seen = _connected_at.pop(key, None)
        if seen is None:
            return  # connected before the observer was installed: not counted as started
        session = relay.session
        metrics.interview_ended(session.end_reason or "disconnected")
        usage = session.usage
        metrics.usage_recorded(
            session.model,
            input_text=usage.input_text,
            input_audio=usage.input_audio,
            input_cached=usage.input_cached,
            output_text=usage.output_text,
            output_audio=usage.output_audio,
            cost_usd=session.cost_usd or 0.0,
        )


def install() -> None:
    """Subscribe to the relay's events (idempotent)."""
    from vivavoce.realtime import relay

    if observe not in relay.observers:
        relay.observers.append(observe)


def uninstall() -> None:
    """Stop observing (tests)."""
    from vivavoce.realtime import relay

    while observe in relay.observers:
        relay.observers.remove(observe)
