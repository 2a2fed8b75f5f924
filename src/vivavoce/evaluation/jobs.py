"""Evaluation jobs in the database: enqueue, claim, finish, re-run. One transaction each.

The ``evaluations`` row is the job. ``next_attempt_at`` means "due at" while the job is
``pending`` and "lease ends at" while it is ``running``: a worker that dies mid-job (a
restart, a crash) leaves a ``running`` row whose lease runs out, and any worker then
claims it again. Claims are compare-and-set on ``(status, attempts)`` and outcomes also on
the lease end, so two instances on one PostgreSQL never run the same job at once, and a
worker whose job was taken over (or re-run) cannot overwrite the newer outcome.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.evaluation.transcript import TranscriptLine
from vivavoce.store.claims import claim_oldest_due
from vivavoce.store.database import Database
from vivavoce.store.models import Evaluation, Interview, Turn, utcnow
from vivavoce.webhooks.payloads import add_evaluation_event

__all__ = [
    "EVALUABLE_INTERVIEW_STATUSES",
    "Claim",
    "EvaluationBusy",
    "InterviewMaterial",
    "InterviewNotEvaluable",
    "Outcome",
    "claim_next",
    "enqueue_evaluation",
    "enqueue_missing",
    "finish",
    "forget_wakeup",
    "get_evaluation",
    "load_material",
    "release",
    "request_rerun",
    "wakeup_event",
]

# Outcomes reported as evaluation.completed (pending is a retry, not an outcome).
_COMPLETED = ("done", "insufficient", "failed")

# An interview that failed mid-way may still hold answers worth feedback.
EVALUABLE_INTERVIEW_STATUSES = ("ended", "failed")


class InterviewNotEvaluable(LookupError):
    """The interview does not exist, or has not ended yet (``reason`` says which)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class EvaluationBusy(RuntimeError):
    """A worker is running this evaluation right now; a re-run would race it."""


# One wake-up event per worker (and per database): enqueueing sets them, so a new job
# starts at once instead of at the next poll. Other instances find it by polling.
_wakeups: weakref.WeakKeyDictionary[Database, set[asyncio.Event]] = (
    weakref.WeakKeyDictionary()
)


def wakeup_event(db: Database) -> asyncio.Event:
    """A new event set whenever a job is enqueued on ``db`` (held by one worker)."""
    event = asyncio.Event()
    _wakeups.setdefault(db, set()).add(event)
    return event


def forget_wakeup(db: Database, event: asyncio.Event) -> None:
    """Stop setting ``event`` (its worker has stopped)."""
    _wakeups.get(db, set()).discard(event)


def _wake(db: Database) -> None:
    for event in _wakeups.get(db, ()):
        event.set()


async def get_evaluation(db: Database, *, interview_id: str) -> Evaluation | None:
    async with db.session() as s:
        row: Evaluation | None = await s.scalar(
            select(Evaluation).where(Evaluation.interview_id == interview_id)
        )
        return row


async def _evaluable_interview(s: AsyncSession, interview_id: str) -> Interview:
    """The interview, if it exists and is over; else raises InterviewNotEvaluable."""
    interview = await s.get(Interview, interview_id)
    if interview is None:
        raise InterviewNotEvaluable("not_found", f"No interview {interview_id}.")
    if interview.status not in EVALUABLE_INTERVIEW_STATUSES:
        raise InterviewNotEvaluable(
            "not_ended",
            f"The interview is {interview.status}; it can be evaluated once it has ended.",
        )
    return interview


async def enqueue_evaluation(db: Database, interview_id: str) -> Evaluation:
    """Create the interview's pending evaluation job, unless it already has one.

    Call it once the interview is marked ended (or failed). Idempotent: calling it twice
    (or from two instances) leaves one job. Raises :class:`InterviewNotEvaluable` when the
    interview does not exist (``reason="not_found"``) or has not ended
    (``reason="not_ended"``: a live interview's transcript is not complete yet).
    """
    existing = await get_evaluation(db, interview_id=interview_id)
    if existing is not None:
        return existing
    async with db.session() as s:
        await _evaluable_interview(s, interview_id)
        row = Evaluation(interview_id=interview_id, status="pending", attempts=0)
        s.add(row)
        try:
            await s.commit()
        except IntegrityError:
            # Someone else enqueued it between our read and our insert.
            await s.rollback()
            again = await get_evaluation(db, interview_id=interview_id)
            if again is None:
                raise
            return again
    _wake(db)
    return row


async def enqueue_missing(db: Database, *, since: datetime, limit: int = 20) -> int:
    """Enqueue interviews that ended after ``since`` but have no evaluation job (the
    relay stopped between ending one and enqueueing it). Returns how many were added."""
    async with db.session() as s:
        ids = list(
            await s.scalars(
                select(Interview.id)
                .outerjoin(Evaluation, Evaluation.interview_id == Interview.id)
                .where(
                    Interview.status.in_(EVALUABLE_INTERVIEW_STATUSES),
                    Interview.ended_at >= since,
                    Evaluation.id.is_(None),
                )
                .order_by(Interview.ended_at)
                .limit(limit)
            )
        )
    added = 0
    for interview_id in ids:
        try:
            await enqueue_evaluation(db, interview_id)
        except InterviewNotEvaluable:
            continue  # deleted meanwhile
        added += 1
    return added


async def request_rerun(db: Database, *, interview_id: str, now: datetime | None = None) -> Evaluation:
    """Start the evaluation again from scratch (the operator's re-run).

    Tokens and cost so far are kept (they were spent). Raises
    :class:`InterviewNotEvaluable` when the interview is unknown or not over, and
    :class:`EvaluationBusy` when a live worker holds the job.
    """
    now = now or utcnow()
    async with db.session() as s:
        await _evaluable_interview(s, interview_id)
        row = await s.scalar(select(Evaluation).where(Evaluation.interview_id == interview_id))
        if row is None:
            row = Evaluation(interview_id=interview_id)
            s.add(row)
        elif row.status == "running" and row.next_attempt_at is not None and row.next_attempt_at > now:
            raise EvaluationBusy("The evaluation is running now; re-run it once it has finished.")
        row.status = "pending"
        row.attempts = 0
        row.next_attempt_at = None
        row.result = None
        row.overall_score = None
        row.low_confidence = False
        row.invented_quotes = 0
        row.error = None
        row.updated_at = now
        try:
            await s.commit()
        except IntegrityError:
            await s.rollback()
            raise EvaluationBusy("The evaluation was just created elsewhere; try again.") from None
    _wake(db)
    return row


@dataclass(frozen=True)
class Claim:
    """A job this worker holds until ``lease_until`` (``attempts`` includes this one)."""

    evaluation_id: int
    interview_id: str
    attempts: int
    lease_until: datetime


async def claim_next(
    db: Database, *, now: datetime | None = None, lease: timedelta, max_tries: int = 5
) -> Claim | None:
    """Take the oldest due job: pending and due, or running with an expired lease."""
    claimed = await claim_oldest_due(db, Evaluation, held="running",
                                     columns=(Evaluation.interview_id,), now=now or utcnow(),
                                     lease=lease, max_tries=max_tries)
    if claimed is None:
        return None
    row, lease_until = claimed
    return Claim(row.id, row.interview_id, row.attempts + 1, lease_until)


@dataclass(frozen=True)
class Outcome:
    """How a claimed job ends (or is put back for later)."""

    status: str  # done | failed | insufficient | pending (= retry at ``retry_at``)
    overall_score: int | None = None
    result: dict[str, Any] | None = None
    low_confidence: bool = False
    invented_quotes: int = 0
    model: str | None = None
    error: str | None = None
    retry_at: datetime | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


async def finish(db: Database, *, claim: Claim, outcome: Outcome, now: datetime | None = None) -> bool:
    """Record ``outcome`` if this worker still holds the job; False when it lost it.

    Tokens and cost are added to what earlier attempts spent.
    """
    now = now or utcnow()
    values: dict[str, Any] = {
        "status": outcome.status,
        "overall_score": outcome.overall_score,
        "result": outcome.result,
        "low_confidence": outcome.low_confidence,
        "invented_quotes": outcome.invented_quotes,
        "error": outcome.error,
        "next_attempt_at": outcome.retry_at if outcome.status == "pending" else None,
        "input_tokens": Evaluation.input_tokens + outcome.input_tokens,
        "output_tokens": Evaluation.output_tokens + outcome.output_tokens,
        "cost_usd": Evaluation.cost_usd + outcome.cost_usd,
        "updated_at": now,
    }
    if outcome.model is not None:
        values["model"] = outcome.model
    async with db.session() as s:
        result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
            update(Evaluation)
            .where(*_still_ours(claim))
            .values(**values)
        )
        if result.rowcount == 1 and outcome.status in _COMPLETED:
            # The webhook outbox, in the transaction that records the outcome.
            await add_evaluation_event(s, claim.interview_id, outcome.status,
                                       outcome.overall_score, outcome.result, at=now)
        await s.commit()
        return bool(result.rowcount == 1)


@dataclass(frozen=True)
class InterviewMaterial:
    """What the evaluation reads of an interview."""

    status: str
    candidate: dict[str, Any]
    settings: dict[str, Any]
    lines: list[TranscriptLine]
    simulated: bool = False
    """It ran against the built-in simulator: its candidate lines are examples."""


async def load_material(db: Database, *, interview_id: str) -> InterviewMaterial | None:
    """The interview's candidate, settings and non-empty turns (None if it is gone)."""
    async with db.session() as s:
        interview = await s.get(Interview, interview_id)
        if interview is None:
            return None
        turns = await s.scalars(
            select(Turn).where(Turn.interview_id == interview_id).order_by(Turn.sequence)
        )
        lines = [
            TranscriptLine(
                t.sequence,
                "candidate" if t.speaker == "candidate" else "interviewer",
                t.text,
                t.state,
                t.audio_ms,
                t.full_text,
            )
            for t in turns
            if t.text and t.text.strip()
        ]
        return InterviewMaterial(
            interview.status, dict(interview.candidate or {}), dict(interview.settings or {}),
            lines, bool(interview.simulated),
        )


def _still_ours(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    """The conditions under which the job row still belongs to ``claim``."""
    return (
        Evaluation.id == claim.evaluation_id,
        Evaluation.status == "running",
        Evaluation.attempts == claim.attempts,
        # The lease end tells this claim from a later one with the same attempt number
        # (after an operator's re-run reset the count).
        Evaluation.next_attempt_at == claim.lease_until,
    )


async def release(db: Database, *, claim: Claim) -> bool:
    """Hand a job back untouched (the worker is shutting down mid-job): it becomes due at
    once and the interrupted attempt does not count. False when the job was not ours."""
    async with db.session() as s:
        result: CursorResult[Any] = await s.execute(  # type: ignore[assignment]
            update(Evaluation)
            .where(*_still_ours(claim))
            .values(status="pending", attempts=claim.attempts - 1, next_attempt_at=None)
        )
        await s.commit()
        return bool(result.rowcount == 1)
