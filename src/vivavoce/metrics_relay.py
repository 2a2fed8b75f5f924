"""The relay's metrics, recorded one way: the relay calls its :class:`RelayMeter`.

One meter per ``/voice`` connection. The relay calls it where things happen: the
connection opened (interviews started, the live gauge), the interview went live (time
from the candidate's ``start_interview`` to ``interview_started``), an upstream error,
audio frames (counted in plain integers on the hot path and published at most once a
tick, since a Prometheus label lookup per frame would cost more than the frame), and
the end (interviews ended by reason, the live gauge, tokens and estimated cost by model
from the session's running totals).

Why direct calls and not an observer list: the relay already had to call metrics
directly for frames and errors, a process-wide list of callbacks installed at app start
was a second mechanism with global state, and direct calls are typed and can be read at
the call site. A metric must never break an interview, so every call is guarded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vivavoce import metrics

if TYPE_CHECKING:
    from vivavoce.interview.session import InterviewSession

__all__ = ["RelayMeter"]

log = logging.getLogger("vivavoce.relay")


def _guarded(record: Callable[..., None], *args: Any) -> None:
    try:
        record(*args)
    except Exception:  # metrics must never break an interview
        log.exception("recording a metric failed")


class RelayMeter:
    """The metrics of one relayed connection."""

    def __init__(self) -> None:
        self.connected_at: float | None = None
        # Audio frames since the last flush (incremented by the relay per frame).
        self.frames_to_openai = 0
        self.frames_to_browser = 0

    def connected(self, now: float) -> None:
        self.connected_at = now
        _guarded(metrics.interview_started)

    def live(self, session: InterviewSession, now: float) -> None:
        begun = (session.start_requested_at if session.start_requested_at is not None
                 else self.connected_at)
        live_at = session.live_at if session.live_at is not None else now
        if begun is not None:
            _guarded(metrics.time_to_start, max(0.0, live_at - begun))

    def upstream_error(self, code: str | None) -> None:
        _guarded(metrics.upstream_error, code)

    def flush(self) -> None:
        """Publish the frames counted since the last flush."""
        if self.frames_to_openai:
            _guarded(metrics.frames_relayed, "to_openai", self.frames_to_openai)
            self.frames_to_openai = 0
        if self.frames_to_browser:
            _guarded(metrics.frames_relayed, "to_browser", self.frames_to_browser)
            self.frames_to_browser = 0

    def ended(self, session: InterviewSession) -> None:
        self.flush()
        if self.connected_at is None:
            return  # never counted as started: nothing to balance
        _guarded(metrics.interview_ended, session.end_reason or "disconnected")
        usage = session.spend.usage

        def record() -> None:
            metrics.usage_recorded(
                session.model, input_text=usage.input_text, input_audio=usage.input_audio,
                input_cached=usage.input_cached, output_text=usage.output_text,
                output_audio=usage.output_audio, cost_usd=session.spend.cost_usd or 0.0)

        _guarded(record)
