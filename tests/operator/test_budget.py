"""Spend limits from the database, on SQLite and PostgreSQL: today's and this month's
spend (UTC) priced from the tables, unknown models at the dearest of their kind, the 80 %
warning (log and one webhook per period), and evaluations held while a limit is spent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.evaluation.helpers import GOOD_TRANSCRIPT, make_interview
from tests.fixtures.database import ApiClient
from vivavoce.budget import budget_status, check_budget, dearest_realtime
from vivavoce.config import Settings
from vivavoce.evaluation.jobs import enqueue_evaluation, get_evaluation
from vivavoce.evaluation.rubric import TextModelPrice, TextPriceTable
from vivavoce.pricing import default_price_table
from vivavoce.store import interviews as store
from vivavoce.store.database import Database
from vivavoce.store.models import Evaluation, Interview, WebhookEvent

PRICES = default_price_table()
TEXT = TextPriceTable(models={
    "gpt-5-mini": TextModelPrice(input=0.25, cached_input=0.025, output=2.0),
    "gpt-5": TextModelPrice(input=1.25, cached_input=0.125, output=10.0),
})
NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)


async def _interview(db: Database, *, model: str, started: datetime, audio_out: int,
                     simulated: bool = False) -> str:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT, status="live")
    async with db.session() as s:
        await s.execute(update(Interview).where(Interview.id == interview_id)
                        .values(model=model, started_at=started, simulated=simulated))
        await s.commit()
        await store.add_usage(s, interview_id, output_audio=audio_out)
    return interview_id


def _settings(make_settings: Any, **env: str) -> Settings:
    settings: Settings = make_settings(**env)
    return settings


async def test_spend_per_utc_day_and_month_with_unknown_models_at_the_dearest(
    db: Database, make_settings: Any
) -> None:
    # 1M audio output tokens of gpt-realtime: 64 USD (the price table's figure).
    await _interview(db, model="gpt-realtime", started=NOW - timedelta(hours=1), audio_out=1_000_000)
    # Yesterday (UTC), same month: counts for the month only.
    await _interview(db, model="gpt-realtime-mini", started=NOW - timedelta(days=1),
                     audio_out=1_000_000)
    # Last month: neither.
    await _interview(db, model="gpt-realtime", started=NOW - timedelta(days=20), audio_out=1_000_000)
    # A model without a price: counted at the dearest Realtime model.
    await _interview(db, model="mystery-voice", started=NOW, audio_out=500_000)
    # The simulator's tokens cost nothing.
    await _interview(db, model="gpt-realtime", started=NOW, audio_out=9_000_000, simulated=True)
    # An evaluation today on a text model without a price: the dearest text model.
    ended = await make_interview(db, GOOD_TRANSCRIPT)
    async with db.session() as s:
        s.add(Evaluation(interview_id=ended, status="done", model="gpt-9-turbo",
                         input_tokens=1_000_000, output_tokens=100_000, created_at=NOW))
        await s.commit()
    # Today ~98 USD of 120 (over 80 %); the month ~118 USD of 110 (spent).
    settings = _settings(make_settings, VIVAVOCE_DAILY_BUDGET_USD="120",
                         VIVAVOCE_MONTHLY_BUDGET_USD="110")
    async with db.session() as s:
        status = await budget_status(s, settings, prices=PRICES, text_prices=TEXT, now=NOW)
    dearest = dearest_realtime(PRICES)
    dear = PRICES.models[dearest].audio_output
    evaluation = 1.25 + 0.1 * 10.0
    assert status.day.spent_usd == pytest.approx(64 + dear / 2 + evaluation)
    assert status.month.spent_usd == pytest.approx(64 + 20 + dear / 2 + evaluation)
    assert status.unpriced == {"mystery-voice": dearest, "gpt-9-turbo": "gpt-5"}
    assert status.day.level == "warning"
    assert status.month.level == "exhausted"
    assert status.exhausted and status.warning
    assert status.day.start == datetime(2026, 12, 15, tzinfo=UTC)
    assert status.month.start == datetime(2026, 12, 1, tzinfo=UTC)
    assert status.month.end == datetime(2027, 1, 1, tzinfo=UTC)


async def test_warning_is_logged_and_sent_once_per_period(
    db: Database, make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "vivavoce.budget")
    await _interview(db, model="gpt-realtime", started=NOW, audio_out=1_000_000)  # 64 USD
    settings = _settings(make_settings, VIVAVOCE_DAILY_BUDGET_USD="70")
    for _ in range(3):
        status = await check_budget(db, settings, prices=PRICES, text_prices=TEXT, now=NOW)
        assert status.day.level == "warning" and not status.exhausted
    async with db.session() as s:
        events = list(await s.scalars(select(WebhookEvent).where(WebhookEvent.type == "budget.warning")))
    assert len(events) == 1
    assert events[0].data["period"] == "day" and events[0].data["limit_usd"] == 70
    assert [r for r in caplog.records if "of its limit" in r.getMessage()].__len__() == 1
    # No limits: nothing to warn about.
    calm = await check_budget(db, _settings(make_settings), prices=PRICES, text_prices=TEXT,
                              now=NOW)
    assert not calm.warning and calm.day.limit_usd is None


async def test_evaluations_wait_while_the_budget_is_spent(make_api_client: Any) -> None:
    client: ApiClient = await make_api_client(VIVAVOCE_DAILY_BUDGET_USD="1")
    db = client.runtime.db
    worker = client.runtime.evaluation_worker
    assert worker is not None
    await worker.stop()  # driven by hand below
    spent = await _interview(db, model="gpt-realtime", started=datetime.now(UTC),
                             audio_out=1_000_000)
    ended = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, ended)
    assert not await worker.run_once()  # the limit is reached: the job stays queued
    job = await get_evaluation(db, interview_id=ended)
    assert job is not None and job.status == "pending" and job.attempts == 0
    refused = await client.get("/api/budget", headers=client.admin_headers)
    assert refused.json()["exhausted"] is True
    # The operator raises the limit (here: the spend goes away): the job runs.
    async with db.session() as s:
        await s.execute(update(Interview).where(Interview.id == spent)
                        .values(output_audio_tokens=0))
        await s.commit()
    assert await worker.run_once()
    job = await get_evaluation(db, interview_id=ended)
    assert job is not None and job.attempts == 1


async def test_the_pages_and_the_api_show_the_budget(make_api_client: Any) -> None:
    client: ApiClient = await make_api_client(VIVAVOCE_DAILY_BUDGET_USD="10")
    await _interview(client.runtime.db, model="mystery-voice", started=datetime.now(UTC),
                     audio_out=130_000)
    body = (await client.get("/api/budget", headers=client.admin_headers)).json()
    day = body["periods"][0]
    assert day["period"] == "day" and day["level"] == "warning" and day["limit_usd"] == 10
    assert "mystery-voice" in body["unpriced_models"]
    assert (await client.get("/api/budget")).status_code == 401
    for path in ("/admin/setup", "/admin/usage"):
        page = await client.get(path, headers=client.admin_headers)
        assert page.status_code == 200, path
        assert 'data-level="warning"' in page.text and "above 80" in page.text
        assert "mystery-voice" in page.text and "dearest listed model" in page.text
