"""The interview's clocks, in one place: the start deadline, the idle limit, and the
spoken wrap-up at the duration limit (ask for a goodbye, end once it has been played,
or at a hard deadline if it never comes).

The same wrap-up ends a live interview when the service's spend limit is reached
(:meth:`TimeLimits.budget_exhausted`, told by the adapter): it waits until the
interviewer's reply in progress is complete and the candidate is not speaking (nothing
said is cut), and the interview then ends ``budget_exhausted`` — a link's interview is
not used up but paused (:func:`wrap_up_end`), and continues later with what was said.

:class:`TimeLimits` is told what happens (a start, going live, activity, the goodbye
response's id and end) and answers :meth:`TimeLimits.due` with what, if anything, is
due now. It never reads a clock: every call takes ``now`` (Unix seconds). The core
turns what is due into actions; nothing here knows about sockets or the browser.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Literal

from openai.types.realtime import RealtimeClientEventParam

from vivavoce.interview.phase import Phase
from vivavoce.interview.playback import BYTES_PER_MS

__all__ = [
    "BUDGET_REASON",
    "BUDGET_WRAP_UP_INSTRUCTIONS",
    "WRAP_UP_EVENT_ID",
    "WRAP_UP_INSTRUCTIONS",
    "Due",
    "Limits",
    "TimeLimits",
    "WrapUpEnd",
    "time_left",
    "wrap_up_end",
]

WRAP_UP_EVENT_ID = "vivavoce_wrap_up"

WRAP_UP_INSTRUCTIONS = (
    "The time for this interview is up. In two or three short sentences, thank the "
    "candidate warmly by name if you know it, tell them the interview is now over and "
    "that they will receive feedback, and say goodbye. Do not ask another question."
)
BUDGET_WRAP_UP_INSTRUCTIONS = (
    "The interview has to pause now for a technical reason on our side. In two or three "
    "short sentences, thank the candidate warmly by name if you know it for their answers "
    "so far, tell them the interview is paused and that they can continue it later with "
    "the same link, and say goodbye. Do not ask another question."
)
# The end reason (and error code) of an interview wrapped up at the spend limit.
BUDGET_REASON = "budget_exhausted"
WrapReason = Literal["time_limit", "budget_exhausted"]


@dataclass(frozen=True, slots=True)
class WrapUpEnd:
    """How an interview ends once its goodbye was played. ``pauses``: a link's interview
    is kept (resumable, its clock stopped) instead of ended."""

    status: Literal["ended", "failed"]
    reason: str
    error_code: str | None
    message: str
    pauses: bool


_TIME_UP = WrapUpEnd("ended", "time_limit", None, "The interview time is up. Thank you!", False)
_BUDGET_PAUSE = WrapUpEnd(
    "failed", BUDGET_REASON, BUDGET_REASON,
    "The interview service has reached its spending limit, so this interview is paused. "
    "Your link still works: open it again later to continue where you left off.", True)
_BUDGET_END = WrapUpEnd(
    "ended", BUDGET_REASON, None,
    "The interview service has reached its spending limit, so this interview has ended. "
    "Thank you!", False)


def wrap_up_end(reason: WrapReason, *, resumable: bool) -> WrapUpEnd:
    """The end after a wrap-up: the time limit ends the interview; the spend limit
    pauses a link's interview (continued by the same link once the budget allows) and
    ends an open one (it has nothing to come back with)."""
    if reason == "time_limit":
        return _TIME_UP
    return _BUDGET_PAUSE if resumable else _BUDGET_END


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
        # Why the wrap-up is (or will be) asked for; the spend limit's waits for a pause.
        self.wrap_reason: WrapReason = "time_limit"
        self._budget_exhausted = False
        self._candidate_speaking = False

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

    def answer_started(self, now: float) -> None:
        """The candidate started speaking: their turn is open until the interviewer's
        reply to it is complete (a spend limit's wrap-up waits for that)."""
        self.last_activity = now
        self._candidate_speaking = True

    def reply_done(self, now: float) -> None:
        """A response is complete: the candidate's answer has had its reply."""
        self.last_activity = now
        self._candidate_speaking = False

    def budget_exhausted(self) -> None:
        """The service's spend limit is reached: wrap up at the next pause in the talk."""
        self._budget_exhausted = True

    def wrap_up(self, now: float, *, responding: bool) -> list[RealtimeClientEventParam]:
        """The duration is over: the events that ask the interviewer for its goodbye
        (a response in progress is cancelled first, the candidate's pending audio too)."""
        self._wrap_requested_at = now
        events: list[RealtimeClientEventParam] = []
        if responding:
            events.append({"type": "response.cancel"})
        instructions = (WRAP_UP_INSTRUCTIONS if self.wrap_reason == "time_limit"
                        else BUDGET_WRAP_UP_INSTRUCTIONS)
        events += [{"type": "input_audio_buffer.clear"},
                   {"type": "response.create", "event_id": WRAP_UP_EVENT_ID,
                    "response": {"instructions": instructions}}]
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
    def due(self, phase: Phase, now: float, *, ai_playing: bool,
            responding: bool = False) -> Due | None:
        """What the clock asks for at ``now`` (None: nothing). ``ai_playing``: the
        interviewer is generating or the browser is still playing it (that is not
        idleness); ``responding``: a reply is being generated (the spend limit's wrap-up
        lets it complete). Only read while live."""
        if phase in (Phase.CONNECTING, Phase.CONFIGURING):
            started = self.start_requested_at or now
            return Due.START_TIMEOUT if now - started >= self.limits.start_timeout_s else None
        if phase is Phase.LIVE and self.live_at is not None:
            if now - self.live_at >= self.limits.max_duration_s:
                self.wrap_reason = "time_limit"
                return Due.WRAP_UP
            if self._budget_exhausted and not responding and not self._candidate_speaking:
                self.wrap_reason = "budget_exhausted"
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
