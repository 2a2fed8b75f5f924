"""The interview's clocks, in one place: the start deadline, the idle limit, and the
spoken wrap-up at the duration limit (ask for a goodbye, end once it has been played,
or at a hard deadline if it never comes).

:class:`TimeLimits` is told what happens (a start, going live, activity, the goodbye
response's id and end) and answers :meth:`TimeLimits.due` with what, if anything, is
due now. It never reads a clock: every call takes ``now`` (Unix seconds). The core
turns what is due into actions; nothing here knows about sockets or the browser.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from openai.types.realtime import RealtimeClientEventParam

from vivavoce.interview.phase import Phase
from vivavoce.interview.playback import BYTES_PER_MS

__all__ = ["WRAP_UP_EVENT_ID", "WRAP_UP_INSTRUCTIONS", "Due", "Limits", "TimeLimits", "time_left"]

WRAP_UP_EVENT_ID = "vivavoce_wrap_up"

WRAP_UP_INSTRUCTIONS = (
    "The time for this interview is up. In two or three short sentences, thank the "
    "candidate warmly by name if you know it, tell them the interview is now over and "
    "that they will receive feedback, and say goodbye. Do not ask another question."
)


@dataclass(frozen=True)
class Limits:
    """Bounds on one interview. Times in seconds."""

    max_duration_s: float = 1800.0
    idle_timeout_s: float = 300.0
    # From start_interview to session.updated (the upstream connect alone has 10 s).
    start_timeout_s: float = 25.0
    # After the wrap-up is asked for, end at the latest this much later.
    wrap_up_grace_s: float = 45.0
    # Candidate audio kept while the session is being configured (5 s).
    start_buffer_bytes: int = 5000 * BYTES_PER_MS
    # One browser audio frame: 2 s is far above the 4,096 samples the original sent.
    max_frame_bytes: int = 2000 * BYTES_PER_MS
    # Upstream recovery (interview/recovery.py): at most this many new Realtime sessions
    # within the window after lost connections, the n-th after backoff_s[n-1].
    recovery_attempts: int = 3
    recovery_window_s: float = 60.0
    recovery_backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0)


def time_left(started_at: float, limit_s: float, now: float) -> float:
    """Seconds an interview that first went live at ``started_at`` with a ``limit_s``
    duration still has at ``now`` (negative once over). The clock keeps running across
    drops and resumptions: this is the one place that says so."""
    return started_at + limit_s - now


class Due(enum.Enum):
    START_TIMEOUT = "start_timeout"  # no session.updated within the start deadline
    WRAP_UP = "wrap_up"  # the duration is over: ask the interviewer for a goodbye
    IDLE = "idle"  # nobody spoke (nor was spoken to) for the idle limit
    TIME_UP = "time_up"  # the goodbye was played (or its deadline passed): end


class TimeLimits:
    """The start deadline, the idle limit and the wrap-up of one interview."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.start_requested_at: float | None = None
        self.live_at: float | None = None
        self.last_activity = 0.0
        self._wrap_requested_at: float | None = None
        self._wrap_response: str | None = None
        self._end_at: float | None = None

    # ----------------------------------------------------------------- what happened
    def start_requested(self, now: float) -> None:
        self.start_requested_at = now

    def start_withdrawn(self) -> None:
        """The start was refused without ending (a corrected one may follow)."""
        self.start_requested_at = None

    def allow(self, limit_s: float, *, started_at: float | None, now: float) -> None:
        """The interview's own duration (from its stored settings), never above the
        service's; a resumed interview (``started_at``: when it first went live) only
        has what is left of it."""
        duration = min(self.limits.max_duration_s, limit_s)
        if started_at is not None:
            duration = min(duration, time_left(started_at, limit_s, now))
        self.limits = replace(self.limits, max_duration_s=duration)

    def went_live(self, now: float) -> None:
        self.live_at = now
        self.last_activity = now

    def activity(self, now: float) -> None:
        self.last_activity = now

    def wrap_up(self, now: float, *, responding: bool) -> list[RealtimeClientEventParam]:
        """The duration is over: the events that ask the interviewer for its goodbye
        (a response in progress is cancelled first, the candidate's pending audio too)."""
        self._wrap_requested_at = now
        events: list[RealtimeClientEventParam] = []
        if responding:
            events.append({"type": "response.cancel"})
        events += [{"type": "input_audio_buffer.clear"},
                   {"type": "response.create", "event_id": WRAP_UP_EVENT_ID,
                    "response": {"instructions": WRAP_UP_INSTRUCTIONS}}]
        return events

    def response_created(self, response_id: str | None) -> None:
        # The first response after the wrap-up was asked for is the goodbye.
        if self._wrap_requested_at is not None and self._wrap_response is None:
            self._wrap_response = response_id

    def is_goodbye(self, response_id: str | None) -> bool:
        return response_id is not None and response_id == self._wrap_response

    def goodbye_generated(self, now: float, unplayed_ms: float) -> None:
        """The goodbye response is complete: end once the browser has played it (plus
        half a second so its last word is not clipped)."""
        self._end_at = now + unplayed_ms / 1000 + 0.5

    def played_out(self, now: float) -> None:
        """On WebRTC: the browser stopped hearing the interviewer; a goodbye already
        generated has been played, so the end is now (plus the half second)."""
        if self._end_at is not None:
            self._end_at = min(self._end_at, now + 0.5)

    # ------------------------------------------------------------------ what is due
    def due(self, phase: Phase, now: float, *, ai_playing: bool) -> Due | None:
        """What the clock asks for at ``now`` (None: nothing). ``ai_playing``: the
        interviewer is generating or the browser is still playing it (that is not
        idleness); only read while live."""
        if phase in (Phase.CONNECTING, Phase.CONFIGURING):
            started = self.start_requested_at or now
            return Due.START_TIMEOUT if now - started >= self.limits.start_timeout_s else None
        if phase is Phase.LIVE and self.live_at is not None:
            if now - self.live_at >= self.limits.max_duration_s:
                return Due.WRAP_UP
            if ai_playing:
                self.last_activity = now
            elif now - self.last_activity >= self.limits.idle_timeout_s:
                return Due.IDLE
            return None
        if phase is Phase.ENDING:
            deadline = (self._wrap_requested_at or now) + self.limits.wrap_up_grace_s
            if (self._end_at is not None and now >= self._end_at) or now >= deadline:
                return Due.TIME_UP
        return None
