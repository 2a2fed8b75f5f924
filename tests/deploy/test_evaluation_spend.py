"""What evaluations spend reaches the metrics and the usage report: real evaluations
through a real socket to the fake OpenAI, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import openai
import pytest

from tests.evaluation.helpers import GOOD_TRANSCRIPT, make_interview
from tests.fixtures.fake_openai import RunningFake
from vivavoce import metrics
from vivavoce.evaluation.jobs import enqueue_evaluation, get_evaluation
from vivavoce.evaluation.rubric import load_rubric
from vivavoce.evaluation.runner import EvaluationOptions
from vivavoce.evaluation.worker import EvaluationWorker
from vivavoce.store.database import Database
from vivavoce.store.models import Evaluation
from vivavoce.testing.fake_responses import responses_behaviour
from vivavoce.testing.scenarios import scenario_key
from vivavoce.web.ops import usage_report

MODEL = "gpt-5-mini"
# Quick retries; a request timeout a busy machine cannot hit.
OPTIONS = EvaluationOptions(
    request_timeout_s=10.0, max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.02,
    poll_interval_s=0.05,
)


def value(name: str, **labels: str) -> float:
    found = metrics.REGISTRY.get_sample_value(name, labels)
    return 0.0 if found is None else found


def _worker(db: Database, fake: RunningFake) -> EvaluationWorker:
    async def client() -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=scenario_key("ok"), base_url=fake.base_url, max_retries=0, timeout=10.0
        )

    return EvaluationWorker(
        db, rubric=load_rubric(), model=MODEL, client_factory=client, options=OPTIONS
    )


async def _evaluate(db: Database, fake: RunningFake) -> Evaluation:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    worker = _worker(db, fake)
    for _ in range(200):
        row = await get_evaluation(db, interview_id=interview_id)
        assert row is not None
        if row.status in ("done", "failed", "insufficient"):
            return row
        if not await worker.run_once():
            await asyncio.sleep(0.01)  # a retry is backing off
    raise AssertionError(f"evaluation did not settle: {row.status} {row.error}")


async def test_a_finished_evaluation_is_counted_and_reported(
    db: Database, fake_openai: RunningFake
) -> None:
    finished = value("vivavoce_evaluations_total", outcome="ok")
    timed = value("vivavoce_evaluation_duration_seconds_count", outcome="ok")
    tokens_in = value("vivavoce_tokens_total", model=MODEL, kind="input_text")
    tokens_out = value("vivavoce_tokens_total", model=MODEL, kind="output_text")
    cost = value("vivavoce_cost_usd_total", model=MODEL)

    row = await _evaluate(db, fake_openai)
    assert row.status == "done", row.error
    assert row.input_tokens > 0 and row.output_tokens > 0 and row.cost_usd > 0

    assert value("vivavoce_evaluations_total", outcome="ok") == finished + 1
    assert value("vivavoce_evaluation_duration_seconds_count", outcome="ok") == timed + 1
    assert value("vivavoce_tokens_total", model=MODEL, kind="input_text") == tokens_in + row.input_tokens
    assert value("vivavoce_tokens_total", model=MODEL, kind="output_text") == tokens_out + row.output_tokens
    assert value("vivavoce_cost_usd_total", model=MODEL) == pytest.approx(cost + row.cost_usd)

    async with db.session() as s:
        report = await usage_report(s)
    by_model = {m["model"]: m for m in report["models"]}
    assert set(by_model) == {"gpt-realtime", MODEL}  # the interview and its evaluation
    spent = by_model[MODEL]
    assert (spent["interviews"], spent["evaluations"]) == (0, 1)
    assert spent["input_text_tokens"] == row.input_tokens
    assert spent["output_text_tokens"] == row.output_tokens
    assert spent["total_tokens"] == row.input_tokens + row.output_tokens
    assert spent["cost_usd"] == pytest.approx(row.cost_usd)
    assert report["totals"]["evaluation_cost_usd"] == pytest.approx(row.cost_usd)
    assert report["totals"]["cost_usd"] == pytest.approx(row.cost_usd)  # the interview cost 0


async def test_a_failed_evaluation_still_reports_what_its_attempts_spent(
    db: Database, fake_openai: RunningFake
) -> None:
    # Every answer is malformed: each attempt is paid for, then the job fails.
    responses_behaviour(fake_openai.fake).fault = "malformed"
    failed = value("vivavoce_evaluations_total", outcome="failed")
    row = await _evaluate(db, fake_openai)
    assert row.status == "failed"
    assert row.attempts == OPTIONS.max_attempts
    assert row.input_tokens > 0 and row.cost_usd > 0
    assert value("vivavoce_evaluations_total", outcome="failed") == failed + 1

    async with db.session() as s:
        report = await usage_report(s)
    (day,) = [d for d in report["days"] if d["model"] == MODEL]
    assert day["evaluations"] == 1
    assert day["input_text_tokens"] == row.input_tokens
    assert day["evaluation_cost_usd"] == pytest.approx(row.cost_usd)
