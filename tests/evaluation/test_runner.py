"""Whole evaluations through a real socket to the fake, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from tests.evaluation.conftest import FAST, MakeWorker, settle
from tests.evaluation.helpers import GOOD_TRANSCRIPT, SHORT_TRANSCRIPT, make_interview
from tests.fixtures.fake_openai import RunningFake
from vivavoce import metrics
from vivavoce.evaluation.jobs import enqueue_evaluation, get_evaluation
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.runner import EvaluationOptions, backoff_delay
from vivavoce.evaluation.scoring import overall_score
from vivavoce.store.database import Database
from vivavoce.store.models import utcnow
from vivavoce.testing.fake_responses import ResponsesBehaviour
from vivavoce.testing.scenarios import scenario_key

CANDIDATE_WORDS = " ".join(text for speaker, text in GOOD_TRANSCRIPT if speaker == "candidate")


async def test_success_is_scored_by_our_formula_with_real_quotes(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour, rubric: Rubric
) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(make_worker(db), db, interview_id)

    assert row.status == "done", row.error
    assert row.result is not None
    scores = {d["key"]: d["score"] for d in row.result["dimensions"]}
    assert row.overall_score == overall_score(scores, rubric) == row.result["overall"]["score"]
    assert [q["question_turn"] for q in row.result["questions"]] == [1, 3, 5]
    quotes = [q for question in row.result["questions"] for q in question["quotes"]]
    # Verbatim, with an ellipsis only where a quote was cut out of a sentence.
    assert quotes and all(piece.strip() in CANDIDATE_WORDS
                          for q in quotes for piece in q["text"].split("…"))
    assert {q["turn"] for q in quotes} == {2, 4, 6}
    assert len(row.result["strengths"]) == len(row.result["improvements"]) == 3
    assert 3 <= len(row.result["practice_plan"]) <= 6
    feedback = [*row.result["strengths"], *row.result["improvements"], *row.result["practice_plan"]]
    assert all(text.strip() for text in feedback)
    assert [d["key"] for d in row.result["dimensions"]] == [d.key for d in rubric.dimensions]
    assert all(d["justification"].strip() for d in row.result["dimensions"])
    for question in row.result["questions"]:
        assert all(question[k].strip() for k in ("question", "answer_summary", "strong", "improve"))
    assert row.result["level"] == "undergraduate_late"  # "3rd year"
    assert (row.low_confidence, row.invented_quotes, row.attempts) == (False, 0, 1)
    assert row.model == "gpt-5-mini"
    assert row.input_tokens > 0 and row.output_tokens > 0 and row.cost_usd > 0
    assert 'vivavoce_evaluations_total{outcome="ok"}' in metrics.render().decode()
    # What the model was sent: the rubric for the level and the transcript lines.
    sent = behaviour.requests[-1]
    assert "[2] Candidate: Last spring I led a team" in sent["input"]
    assert "A third- or final-year university student" in sent["instructions"]


async def test_too_short_is_insufficient_without_calling_the_model(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour
) -> None:
    interview_id = await make_interview(db, SHORT_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(make_worker(db), db, interview_id)
    assert row.status == "insufficient"
    assert row.result is not None and "too short" in row.result["explanation"]
    assert row.overall_score is None and row.cost_usd == 0
    assert behaviour.requests == []


async def test_invented_quotes_twice_is_low_confidence(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour
) -> None:
    behaviour.faults.extend(["invented_quotes", "invented_quotes"])
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(make_worker(db), db, interview_id)
    assert row.status == "done"
    assert len(behaviour.requests) == 2  # asked again once, not more
    assert row.low_confidence is True
    assert row.invented_quotes == 6  # two per question, all dropped
    assert row.result is not None
    assert all(q["quotes"] == [] for q in row.result["questions"])
    assert row.result["evidence"]["asked_again"] is True
    assert "tripled the company's revenue" in row.result["evidence"]["invented_examples"][0]


async def test_invented_quotes_once_then_a_clean_answer_is_trusted(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour
) -> None:
    behaviour.faults.append("invented_quotes")
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(make_worker(db), db, interview_id)
    assert (row.status, row.low_confidence, row.invented_quotes) == ("done", False, 0)
    assert len(behaviour.requests) == 2
    assert row.attempts == 1  # the re-ask is part of the same attempt


async def test_a_few_invented_quotes_are_dropped_without_asking_again(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour
) -> None:
    behaviour.faults.append("invented_quotes")
    behaviour.invented_share = 0.01  # one quote of each question's two
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    # 3 of 6 invented is over the shipped 25%; allow half for this test.
    worker = make_worker(db)
    worker.rubric = worker.rubric.model_copy(
        update={"evidence": worker.rubric.evidence.model_copy(update={"max_invented_share": 0.5})}
    )
    row = await settle(worker, db, interview_id)
    assert len(behaviour.requests) == 1
    assert (row.status, row.low_confidence, row.invented_quotes) == ("done", False, 3)
    assert row.result is not None
    assert [len(q["quotes"]) for q in row.result["questions"]] == [1, 1, 1]


async def test_refusal_fails_with_the_reason(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour
) -> None:
    behaviour.fault = "refusal"
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(make_worker(db), db, interview_id)
    assert row.status == "failed"
    assert row.error is not None and "declined to evaluate" in row.error
    assert row.attempts == 1 and len(behaviour.requests) == 1
    assert row.cost_usd > 0  # a refusal is still billed


async def test_malformed_output_is_retried_then_succeeds(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour
) -> None:
    behaviour.faults.extend(["malformed", "incomplete", "schema_violation"])
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    worker = make_worker(db, options=replace(FAST, max_attempts=4))
    assert await worker.run_once()
    first = await get_evaluation(db, interview_id=interview_id)
    assert first is not None and first.status == "pending" and first.attempts == 1
    assert first.error is not None and "Attempt 1 of 4 failed (malformed)" in first.error
    assert first.next_attempt_at is not None
    row = await settle(worker, db, interview_id)
    assert (row.status, row.attempts, row.error) == ("done", 4, None)
    assert len(behaviour.requests) == 4
    # Every attempt was paid for and is counted: the same prompt four times.
    clean = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, clean)
    once = await settle(worker, db, clean)
    assert once.input_tokens > 0 and row.input_tokens == 4 * once.input_tokens
    assert row.cost_usd > 3 * once.cost_usd


async def test_malformed_output_every_time_gives_up(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour
) -> None:
    behaviour.fault = "malformed"
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(make_worker(db), db, interview_id)
    assert (row.status, row.attempts) == ("failed", FAST.max_attempts)
    assert row.error is not None and row.error.startswith("Gave up after 3 attempts")
    assert "does not match the schema" in row.error


async def test_timeouts_are_retried(
    db: Database, make_worker: MakeWorker, behaviour: ResponsesBehaviour
) -> None:
    behaviour.faults.append("timeout")
    behaviour.timeout_delay_s = 2.5
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    worker = make_worker(db, options=replace(FAST, request_timeout_s=1.5))
    assert await worker.run_once()
    first = await get_evaluation(db, interview_id=interview_id)
    assert first is not None and first.status == "pending"
    assert first.error is not None and "(timeout)" in first.error
    row = await settle(worker, db, interview_id)
    assert (row.status, row.attempts) == ("done", 2)


async def test_no_quota_fails_at_once_with_the_fix(db: Database, make_worker: MakeWorker) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(make_worker(db, scenario="noquota"), db, interview_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.error is not None and "insufficient_quota" in row.error and "billing" in row.error
    assert scenario_key("noquota") not in row.error


async def test_an_unknown_model_fails_at_once_naming_the_setting(
    db: Database, make_worker: MakeWorker
) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    worker = make_worker(db)
    worker.model = "gpt-0-imaginary"
    row = await settle(worker, db, interview_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.error is not None
    assert "'gpt-0-imaginary'" in row.error and "VIVAVOCE_EVALUATION_MODEL" in row.error


async def test_rate_limits_back_off_then_give_up(db: Database, make_worker: MakeWorker) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(make_worker(db, scenario="ratelimited"), db, interview_id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error is not None and "rate_limited" in row.error


async def test_a_bad_key_fails_without_leaking_it(
    db: Database, make_worker: MakeWorker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(make_worker(db, scenario="invalid"), db, interview_id)
    assert "invalid_api_key" in caplog.text
    assert scenario_key("invalid") not in caplog.text
    assert row.status == "failed" and row.error is not None
    assert "invalid_api_key" in row.error and "vivavoce doctor" in row.error
    assert scenario_key("invalid") not in row.error


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    options = EvaluationOptions(backoff_base_s=10.0, backoff_max_s=100.0)
    for attempts, base in [(1, 10.0), (2, 20.0), (3, 40.0), (4, 80.0), (5, 100.0), (9, 100.0)]:
        delays = {backoff_delay(attempts, options, None) for _ in range(50)}
        assert all(0.8 * base <= d <= 1.2 * base for d in delays), (attempts, delays)
        assert len(delays) > 1  # jittered, so jobs failed together do not retry together


def test_backoff_is_never_sooner_than_retry_after() -> None:
    options = EvaluationOptions(backoff_base_s=1.0, backoff_max_s=5.0)
    assert all(backoff_delay(1, options, 60.0) == 60.0 for _ in range(20))
    assert 0.8 <= backoff_delay(1, options, 0.0) <= 1.2


async def test_openais_retry_after_delays_the_next_attempt(
    db: Database, make_worker: MakeWorker, fake_openai: RunningFake
) -> None:
    fake_openai.fake.config.retry_after = "30"
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    worker = make_worker(db, scenario="ratelimited")
    before = utcnow()
    assert await worker.run_once()
    row = await get_evaluation(db, interview_id=interview_id)
    assert row is not None and (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at is not None
    assert (row.next_attempt_at - before).total_seconds() >= 30  # FAST alone: 0.05 s
    assert not await worker.run_once()  # not due yet
