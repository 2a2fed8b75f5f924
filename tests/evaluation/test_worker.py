"""The background worker: wakes on enqueue, runs jobs side by side, stops cleanly."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import openai
import pytest
from sqlalchemy import update

from tests.evaluation.conftest import FAST, MakeWorker, settle
from tests.evaluation.helpers import GOOD_TRANSCRIPT, make_interview
from vivavoce.evaluation.jobs import InterviewNotEvaluable, enqueue_evaluation, get_evaluation
from vivavoce.evaluation.model_call import CallFailure
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.worker import EvaluationWorker
from vivavoce.store.database import Database
from vivavoce.store.models import Evaluation, Interview, utcnow
from vivavoce.testing.fake_responses import ResponsesBehaviour


async def _wait_for(db: Database, interview_id: str, statuses: tuple[str, ...]) -> Evaluation:
    for _ in range(400):
        row = await get_evaluation(db, interview_id=interview_id)
        if row is not None and row.status in statuses:
            return row
        await asyncio.sleep(0.025)
    raise AssertionError(f"no evaluation of {interview_id} reached {statuses}")


async def test_enqueued_jobs_run_without_waiting_for_the_poll(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour
) -> None:
    # A poll interval far longer than the test: only the wake-up can start the jobs.
    worker = make_worker(db, options=replace(FAST, poll_interval_s=3600, concurrency=2))
    worker.start()
    try:
        await asyncio.sleep(0)  # let the loops find the queue empty and go to sleep
        ids = [await make_interview(db, GOOD_TRANSCRIPT) for _ in range(3)]
        for interview_id in ids:
            await enqueue_evaluation(db, interview_id)
        rows = [await _wait_for(db, i, ("done",)) for i in ids]
    finally:
        await worker.stop()
    assert [row.attempts for row in rows] == [1, 1, 1]
    assert len(behaviour.requests) == 3
    assert not worker.running


async def test_stopping_mid_job_hands_it_back(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour
) -> None:
    behaviour.fault = "timeout"
    behaviour.timeout_delay_s = 1.5
    worker = make_worker(db, options=replace(FAST, request_timeout_s=5))
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    worker.start()
    await _wait_for(db, interview_id, ("running",))
    while not behaviour.requests:  # the call is in flight
        await asyncio.sleep(0.01)
    await worker.stop()
    row = await get_evaluation(db, interview_id=interview_id)
    assert row is not None
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, None)


async def test_an_unexpected_error_is_an_attempt_not_a_dead_worker(
    db: Database, rubric: Rubric
) -> None:
    async def broken() -> openai.AsyncOpenAI:
        raise RuntimeError("bug in the client factory")

    worker = EvaluationWorker(db, rubric=rubric, model="gpt-5-mini", client_factory=broken,
                              options=FAST)
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(worker, db, interview_id)
    assert (row.status, row.attempts) == ("failed", FAST.max_attempts)
    assert row.error is not None and "bug in the client factory" in row.error


async def test_catch_up_enqueues_recently_ended_interviews_only(
    db: Database, make_worker: MakeWorker
) -> None:
    recent = await make_interview(db, GOOD_TRANSCRIPT)
    old = await make_interview(db, GOOD_TRANSCRIPT)
    live = await make_interview(db, GOOD_TRANSCRIPT, status="live")
    async with db.session() as s:
        await s.execute(update(Interview).where(Interview.id == old)
                        .values(ended_at=utcnow() - timedelta(days=2)))
        await s.commit()
    worker = make_worker(db)
    assert await worker.catch_up() == 1
    assert await worker.catch_up() == 0  # it has a job now
    assert (await get_evaluation(db, interview_id=recent)) is not None
    assert await get_evaluation(db, interview_id=old) is None
    assert await get_evaluation(db, interview_id=live) is None
    assert await make_worker(db, options=replace(FAST, catch_up_hours=0)).catch_up() == 0


async def test_a_live_interview_is_not_enqueued(db: Database) -> None:
    live = await make_interview(db, GOOD_TRANSCRIPT, status="live")
    with pytest.raises(InterviewNotEvaluable) as caught:
        await enqueue_evaluation(db, live)
    assert caught.value.reason == "not_ended"
    assert await get_evaluation(db, interview_id=live) is None


async def test_no_key_fails_and_an_unreachable_endpoint_is_retried(
    db: Database, rubric: Rubric
) -> None:
    async def no_key() -> openai.AsyncOpenAI:
        raise CallFailure("auth", "No OpenAI key is configured.", transient=False)

    async def not_up() -> openai.AsyncOpenAI:
        raise CallFailure("connection", "The simulator is not running.", transient=True)

    first = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, first)
    row = await settle(EvaluationWorker(db, rubric=rubric, model="m", client_factory=no_key,
                                        options=FAST), db, first)
    assert (row.status, row.attempts, row.error) == ("failed", 1, "No OpenAI key is configured.")

    second = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, second)
    row = await settle(EvaluationWorker(db, rubric=rubric, model="m", client_factory=not_up,
                                        options=FAST), db, second)
    assert (row.status, row.attempts) == ("failed", FAST.max_attempts)
    assert row.error is not None and row.error.startswith("Gave up after 3 attempts")


async def test_stop_returns_when_a_wake_up_races_the_cancellation(
    db: Database, make_worker: MakeWorker
) -> None:
    # The loop sleeps on its wake-up event; a job is enqueued (the event is set) and, in the
    # same turn of the event loop, the app stops the worker. On Python 3.11 a wait_for()
    # cancelled just as its event was set returned normally, the loop went on and stop()
    # never returned.
    options = replace(FAST, poll_interval_s=3600, catch_up_hours=0, concurrency=2)
    worker = make_worker(db, options=options)
    worker.start()
    tasks = [task for task, _ in worker._tasks]
    stopping: asyncio.Task[None] | None = None
    try:
        for _ in range(400):
            if worker.idle_loops == options.concurrency:
                break
            await asyncio.sleep(0.01)
        assert worker.idle_loops == options.concurrency, "the loops never went to sleep"
        interview_id = await make_interview(db, GOOD_TRANSCRIPT)
        await enqueue_evaluation(db, interview_id)  # sets the event, returns without yielding
        # stop() in a task of its own, so a hang is seen without cancelling the test itself.
        stopping = asyncio.create_task(worker.stop())
        done, _ = await asyncio.wait([stopping], timeout=1)
        assert stopping in done, "stop() hung: the cancellation was swallowed"
        assert all(task.done() for task in tasks)
    finally:
        for task in tasks:  # after a failure, do not leave the loops running
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if stopping is not None:
            await stopping
