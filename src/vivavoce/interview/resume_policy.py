"""Whether a link's interview may run now, computed once from its stored row.

``/voice?token=…`` reads the interview's row and its lease and asks :func:`decide`:
refuse it (gone, already over, too little time left, still driven elsewhere), start it
(never went live), resume it (it went live and the candidate dropped; the clock kept
running), or first have the instance that drives it hand it over (:class:`HandOver`: a
link opened on another instance while it is live there). The sweeper asks
:func:`abandoned` which ``live`` rows no browser will come back to. Both read the same
arithmetic (:func:`~vivavoce.interview.time_limits.time_left`).

A link's interview paused at the spend limit (``paused_at`` set, see
:mod:`~vivavoce.interview.time_limits`) keeps its clock stopped: it resumes with the time
it had left when it paused, however much later, and the sweeper leaves it for its link.

The row is read into :class:`StoredInterview` (plain values, the lease as a
:class:`LeaseView`) so the rules need no database and no ORM.

The lease (store/leases.py): an interview driven by another live instance is not simply
taken from it. That instance may still be storing its last turns, and the new session
must be seeded with them. So the first decision is :class:`HandOver`: ask it to stop and
wait until it has released the interview, or until its lease expired (a crashed
instance never answers: it waits for the lease to run out, at most the TTL), then decide
again with ``handover_asked``. An owner that still holds it then (alive, but it did not
stop in time) gets the link a retryable refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vivavoce.interview.time_limits import BUDGET_REASON, time_left

__all__ = [
    "ABANDONED_AFTER_S",
    "MIN_RESUME_S",
    "NOT_FOUND",
    "FREE",
    "HANDOVER_MARGIN_S",
    "Abandon",
    "HandOver",
    "IN_PROGRESS_ELSEWHERE",
    "LeaseView",
    "Refuse",
    "Resume",
    "ResumeDecision",
    "Start",
    "StoredInterview",
    "abandoned",
    "decide",
]

# How much longer than the owner's lease a handover is waited for: about one heartbeat,
# so a lease about to expire is seen expired.
HANDOVER_MARGIN_S = 3.0
# When an owner that is alive did not hand over in time, the link tries again this soon.
RETRY_HANDOVER_S = 5

# A dropped interview with less time than this left is not resumed: it is over.
MIN_RESUME_S = 30.0
# Interviews still "live" this long after their time ran out lost their browser for good
# (no instance can be serving them: every relay enforces the limit).
ABANDONED_AFTER_S = 180.0


@dataclass(frozen=True, slots=True)
class LeaseView:
    """Who drives the interview now (its lease, store/leases.py), seen from this instance.

    ``holder``: ``nobody`` (free, or released), ``this_instance`` (a relay of this
    process: the adapter replaces it itself), ``another_instance``. ``expires_in_s``:
    for another instance, how long its lease holds without a new heartbeat (≤ 0: it
    expired — the instance stopped beating, it crashed)."""

    holder: Literal["nobody", "this_instance", "another_instance"] = "nobody"
    expires_in_s: float = 0.0

    @property
    def held_elsewhere(self) -> bool:
        return self.holder == "another_instance" and self.expires_in_s > 0


FREE = LeaseView()


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
    lease: LeaseView = FREE
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
    """``retry_after_s``: a retryable refusal (the same link works in that many seconds)."""

    code: str
    message: str
    retry_after_s: int | None = None


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


@dataclass(frozen=True, slots=True)
class HandOver:
    """Another live instance drives it: ask it to hand over, wait until it released the
    interview or its lease expired (at most ``wait_s``), then :func:`decide` again with
    ``handover_asked``."""

    wait_s: float


ResumeDecision = Refuse | Start | Resume | HandOver

NOT_FOUND = Refuse("interview_not_found", "This interview no longer exists.")
_OVER = Refuse("interview_not_available",
               "This interview has already taken place. Ask for a new link.")
IN_PROGRESS_ELSEWHERE = Refuse("interview_in_progress",
                    "This interview is still open in another window or tab. It continues "
                    "here in a few seconds.", retry_after_s=RETRY_HANDOVER_S)


def decide(row: StoredInterview | None, now: float, *,
           handover_asked: bool = False) -> ResumeDecision:
    """What a link may do with its interview at ``now``. ``handover_asked``: this
    connection already asked the lease's holder to hand it over and waited."""
    if row is None:
        return NOT_FOUND
    if row.status == "created":
        allowed: ResumeDecision = Start(row.limit_s)
    elif row.status == "live":
        start = now if row.clock_start is None else row.clock_start
        if row.paused_at is not None:
            # Its clock stopped at the pause: what it had left then, it has now.
            if time_left(start, row.limit_s, row.paused_at) <= MIN_RESUME_S:
                return _OVER
            pause = max(0.0, now - row.paused_at)
            allowed = Resume(row.limit_s, start + pause, paused_s=row.paused_s + pause)
        elif time_left(start, row.limit_s, now) > MIN_RESUME_S:
            allowed = Resume(row.limit_s, row.clock_start)
        else:
            return _OVER
    else:
        return _OVER
    if not row.lease.held_elsewhere:
        return allowed  # free, released, expired, or ours (replaced on this instance)
    if not handover_asked:
        return HandOver(row.lease.expires_in_s + HANDOVER_MARGIN_S)
    return IN_PROGRESS_ELSEWHERE


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
