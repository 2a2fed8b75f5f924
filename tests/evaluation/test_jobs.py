"""The job table: enqueue, claim with leases, finish, re-run — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.evaluation.helpers import GOOD_TRANSCRIPT, make_interview
from vivavoce.evaluation.jobs import (
    EvaluationBusy,
    InterviewNotEvaluable,
    Outcome,
    claim_next,
    enqueue_evaluation,
    finish,
    get_evaluation,
    load_material,
    release,
    request_rerun,
)
from vivavoce.store.database import Database
from vivavoce.store.models import utcnow

LEASE = timedelta(minutes=5)


async def test_enqueue_is_idempotent(db: Database) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    first = await enqueue_evaluation(db, interview_id)
    second = await enqueue_evaluation(db, interview_id)
    assert first.id == second.id
    assert first.status == "pending" and first.attempts == 0


async def test_enqueue_for_an_unknown_interview_is_refused(db: Database) -> None:
    with pytest.raises(InterviewNotEvaluable):
        await enqueue_evaluation(db, "00000000-0000-0000-0000-000000000000")


async def test_a_job_is_claimed_once(db: Database) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    claim = await claim_next(db, lease=LEASE)
    assert claim is not None and claim.interview_id == interview_id and claim.attempts == 1
    assert await claim_next(db, lease=LEASE) is None  # held by the lease
    row = await get_evaluation(db, interview_id=interview_id)
    assert row is not None and row.status == "running" and row.next_attempt_at == claim.lease_until


async def test_an_expired_lease_is_claimed_again_and_the_old_holder_cannot_finish(db: Database) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    old = await claim_next(db, lease=LEASE)
    assert old is not None
    # A worker that died leaves the row running; after the lease it is due again.
    new = await claim_next(db, lease=LEASE, now=utcnow() + LEASE + timedelta(seconds=1))
    assert new is not None and new.attempts == 2
    assert not await finish(db, claim=old, outcome=Outcome("done", overall_score=1))
    assert await finish(db, claim=new, outcome=Outcome("done", overall_score=80, model="m"))
    row = await get_evaluation(db, interview_id=interview_id)
    assert row is not None and row.overall_score == 80 and row.next_attempt_at is None


async def test_a_retry_is_not_claimed_before_it_is_due(db: Database) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    claim = await claim_next(db, lease=LEASE)
    assert claim is not None
    due = utcnow() + timedelta(minutes=1)
    await finish(db, claim=claim, outcome=Outcome(
        "pending", error="429", retry_at=due, input_tokens=10, output_tokens=2, cost_usd=0.5,
    ))
    assert await claim_next(db, lease=LEASE) is None
    again = await claim_next(db, lease=LEASE, now=due)
    assert again is not None and again.attempts == 2
    await finish(db, claim=again, outcome=Outcome(
        "done", input_tokens=5, output_tokens=1, cost_usd=0.25,
    ))
    row = await get_evaluation(db, interview_id=interview_id)
    assert row is not None
    # Spend adds up over attempts.
    assert (row.input_tokens, row.output_tokens, row.cost_usd) == (15, 3, 0.75)


async def test_release_hands_the_job_back_without_counting_the_attempt(db: Database) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    claim = await claim_next(db, lease=LEASE)
    assert claim is not None
    assert await release(db, claim=claim)
    row = await get_evaluation(db, interview_id=interview_id)
    assert row is not None and (row.status, row.attempts) == ("pending", 0)
    assert await claim_next(db, lease=LEASE) is not None


async def test_rerun_resets_the_outcome_but_keeps_the_spend(db: Database) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    claim = await claim_next(db, lease=LEASE)
    assert claim is not None
    with pytest.raises(EvaluationBusy):
        await request_rerun(db, interview_id=interview_id)
    await finish(db, claim=claim, outcome=Outcome("failed", error="quota", cost_usd=0.1))
    row = await request_rerun(db, interview_id=interview_id)
    assert (row.status, row.attempts, row.error, row.cost_usd) == ("pending", 0, None, 0.1)


async def test_rerun_needs_an_ended_interview(db: Database) -> None:
    live = await make_interview(db, GOOD_TRANSCRIPT, status="live")
    with pytest.raises(InterviewNotEvaluable) as caught:
        await request_rerun(db, interview_id=live)
    assert caught.value.reason == "not_ended"
    with pytest.raises(InterviewNotEvaluable) as unknown:
        await request_rerun(db, interview_id="00000000-0000-0000-0000-000000000000")
    assert unknown.value.reason == "not_found"
    failed = await make_interview(db, GOOD_TRANSCRIPT, status="failed")
    assert (await request_rerun(db, interview_id=failed)).status == "pending"


async def test_material_is_the_transcript_in_order(db: Database) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    material = await load_material(db, interview_id=interview_id)
    assert material is not None
    assert [(line.speaker, line.text) for line in material.lines] == GOOD_TRANSCRIPT
    assert material.candidate["name"] == "Ada"
    assert await load_material(db, interview_id="00000000-0000-0000-0000-000000000000") is None


async def test_a_claim_from_before_a_rerun_cannot_finish(db: Database) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    stale = await claim_next(db, lease=LEASE)
    assert stale is not None
    later = utcnow() + LEASE + timedelta(seconds=1)  # its lease ran out; the operator re-ran
    await request_rerun(db, interview_id=interview_id, now=later)
    fresh = await claim_next(db, lease=LEASE, now=later)
    assert fresh is not None and fresh.attempts == stale.attempts == 1
    assert not await finish(db, claim=stale, outcome=Outcome("failed", error="old"))
    assert not await release(db, claim=stale)
    assert await finish(db, claim=fresh, outcome=Outcome("done", overall_score=70))
