"""Whether a link's interview may run now, computed once from its stored row.

``/voice?token=…`` reads the interview's row and asks :func:`decide`: refuse it (gone,
already over, too little time left), start it (never went live) or resume it (it went
live and the candidate dropped; the clock kept running). The sweeper asks
:func:`abandoned` which ``live`` rows no browser will come back to. Both read the same
arithmetic (:func:`~vivavoce.interview.time_limits.time_left`).

A link's interview paused at the spend limit (``paused_at`` set, see
:mod:`~vivavoce.interview.time_limits`) keeps its clock stopped: it resumes with the time
it had left when it paused, however much later, and the sweeper leaves it for its link.

The row is read into :class:`StoredInterview` (plain values) so the rules need no
database and no ORM; a later owner/lease column (an interview served by one instance at
a time, taken over by another) becomes another field here and another
:data:`ResumeDecision` variant, decided by the same function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vivavoce.interview.time_limits import BUDGET_REASON, time_left

__all__ = [
    "ABANDONED_AFTER_S",
    "MIN_RESUME_S",
    "NOT_FOUND",
    "Abandon",
    "Refuse",
    "Resume",
    "ResumeDecision",
    "Start",
    "StoredInterview",
    "abandoned",
    "decide",
]

# A dropped interview with less time than this left is not resumed: it is over.
MIN_RESUME_S = 30.0
# Interviews still "live" this long after their time ran out lost their browser for good
# (no instance can be serving them: every relay enforces the limit).
ABANDONED_AFTER_S = 180.0


@dataclass(frozen=True, slots=True)
class StoredInterview:
    """What the rules read of an interview's row. Times are Unix seconds."""

    id: str
    status: str  # created | live | ended | failed
    started_at: float | None  # when it first went live
    limit_s: float  # its own duration limit (stored settings)
    # Why its last attempt failed, when it did for a retryable cause (the store records
    # this without ending the interview): (reason, error code).
    last_failure: tuple[str, str] | None = None
    # Its clock: stopped at ``paused_at`` while paused at the spend limit, after standing
    # still ``paused_s`` seconds in earlier pauses.
    paused_at: float | None = None
    paused_s: float = 0.0

    @property
    def clock_start(self) -> float | None:
        """When it would have gone live had it never paused: ``started_at`` plus the
        pauses, the start :func:`time_left` counts from."""
        return None if self.started_at is None else self.started_at + self.paused_s


@dataclass(frozen=True, slots=True)
class Refuse:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Start:
    """It never went live: a fresh start with its whole duration."""

    limit_s: float


@dataclass(frozen=True, slots=True)
class Resume:
    """It went live and dropped: continue after its stored turns, with what is left
    of its time (counted from ``started_at``). ``paused_s``: it was paused at the spend
    limit, and its clock runs again: the store keeps this new total of its pauses."""

    limit_s: float
    started_at: float | None
    paused_s: float | None = None


ResumeDecision = Refuse | Start | Resume

NOT_FOUND = Refuse("interview_not_found", "This interview no longer exists.")
_OVER = Refuse("interview_not_available",
               "This interview has already taken place. Ask for a new link.")


def decide(row: StoredInterview | None, now: float) -> ResumeDecision:
    """What a link may do with its interview at ``now``."""
    if row is None:
        return NOT_FOUND
    if row.status == "created":
        return Start(row.limit_s)
    if row.status == "live":
        start = now if row.clock_start is None else row.clock_start
        if row.paused_at is not None:
            # Its clock stopped at the pause: what it had left then, it has now.
            if time_left(start, row.limit_s, row.paused_at) > MIN_RESUME_S:
                pause = max(0.0, now - row.paused_at)
                return Resume(row.limit_s, start + pause, paused_s=row.paused_s + pause)
        elif time_left(start, row.limit_s, now) > MIN_RESUME_S:
            return Resume(row.limit_s, row.clock_start)
    return _OVER


@dataclass(frozen=True, slots=True)
class Abandon:
    """How the sweeper ends an interview no browser is coming back to."""

    status: Literal["ended", "failed"]
    reason: str
    error_code: str | None


def abandoned(row: StoredInterview, now: float) -> Abandon | None:
    """A ``live`` interview whose time ran out well ago: no browser is coming back. It
    ends as ``failed`` for its recorded cause when its last attempt failed (the
    configuration, OpenAI's outage…), else ``ended`` (``browser_disconnected``). One
    paused at the spend limit waits for its link, unless it had too little time left to
    resume: it ended then (``budget_exhausted``)."""
    if row.status != "live":
        return None
    start = now if row.clock_start is None else row.clock_start
    if row.paused_at is not None:
        if time_left(start, row.limit_s, row.paused_at) > MIN_RESUME_S:
            return None
        return Abandon("ended", BUDGET_REASON, None)
    if time_left(start, row.limit_s, now) > -ABANDONED_AFTER_S:
        return None
    if row.last_failure is not None:
        return Abandon("failed", *row.last_failure)
    return Abandon("ended", "browser_disconnected", None)
