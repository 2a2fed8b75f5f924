"""Spend limits over real sockets, priced from what the fake OpenAI reported: the usage
of each ``response.done`` the relay records is what the budget counts (issue 16, "Spend
limits"). With the limit set just above the spend so far, the next reply crosses it: the
live interview wraps up with a spoken goodbye and its link is paused, not used up. With
the limit below the spend, /voice starts no new Realtime session (not fatal, the link
kept). Once the operator raises the limit, the paused link continues with what was said.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import link_interview, stored
from tests.relay.voice_client import VoiceClient, voice_client
from vivavoce.budget import EXHAUSTED_MESSAGE, budget_status
from vivavoce.evaluation.rubric import TextPriceTable
from vivavoce.interview.candidate import InterviewSettings
from vivavoce.interview.time_limits import BUDGET_REASON
from vivavoce.pricing import default_price_table
from vivavoce.store.database import Database
from vivavoce.store.models import Interview, WebhookEvent
from vivavoce.testing.scenarios import scenario_key

MakeApp = Callable[..., RunningApp]


async def _wait_for(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(1000):  # a hang guard, not a timing assertion
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def _spent_today(app: RunningApp) -> float:
    """Today's spend as every instance reads it: the stored tokens, priced."""
    db = Database(app.database_url)
    try:
        async with db.session() as s:
            status = await budget_status(s, app.runtime.settings,
                                         prices=app.runtime.prices or default_price_table(),
                                         text_prices=TextPriceTable(models={}))
        return status.day.spent_usd
    finally:
        await db.dispose()


async def _stored_tokens(app: RunningApp, interview_id: str) -> int:
    interview, _ = await stored(app.database_url, interview_id)
    return (interview.input_text_tokens + interview.input_audio_tokens
            + interview.output_text_tokens + interview.output_audio_tokens)


def _set_daily_limit(app: RunningApp, usd: float) -> None:
    """The operator's VIVAVOCE_DAILY_BUDGET_USD (a restart in production; here the running
    app's settings, which every check reads afresh)."""
    app.runtime.settings = app.runtime.settings.model_copy(update={"daily_budget_usd": usd})


async def _refused(app: RunningApp, token: str) -> None:
    sessions = len(app.fake.fake.sessions)  # type: ignore[union-attr]
    async with voice_client(app.voice_url(token)) as client:
        await client.send_json({"type": "start_interview"})
        error = await client.until("error")
    assert (error["code"], error["fatal"], error["message"]) == (
        "budget_exhausted", False, EXHAUSTED_MESSAGE)
    assert len(app.fake.fake.sessions) == sessions  # type: ignore[union-attr]


async def _last_cost(client: VoiceClient) -> float:
    usage = await client.until("usage")
    return float(usage["cost_usd"])


async def test_the_fake_s_spend_wraps_up_a_live_link_refuses_new_ones_and_resumes_later(
    make_app_server: MakeApp, database_url: str,
) -> None:
    app = make_app_server(api_key=scenario_key("ok", "budget"), database_url=database_url,
                          VIVAVOCE_DAILY_BUDGET_USD="1000")
    fake = app.fake.fake  # type: ignore[union-attr]
    asked: list[str | None] = []

    def responder(view: Any) -> str:
        asked.append(view.response_instructions)
        return "Goodbye for now." if view.response_instructions else "Tell me more."

    fake.config.responder = responder
    interview_id, token = await link_interview(app)
    other_id, other_token = await link_interview(app, name="Ada")

    async with voice_client(app.voice_url(token)) as client:
        await client.start({})
        greeting_cost = await _last_cost(client)  # priced from the fake's response.done

        async def greeting_stored() -> bool:
            return await _stored_tokens(app, interview_id) > 0

        await _wait_for(greeting_stored)
        spent = await _spent_today(app)
        assert greeting_cost > 0 and spent == pytest.approx(greeting_cost, abs=1e-6)
        # Just above what was spent: the next reply crosses the limit.
        _set_daily_limit(app, spent * 1.0001)
        await client.say()
        reply_cost = await _last_cost(client)
        ended = await client.until("interview_ended")
        await client.until_closed()
    assert reply_cost > greeting_cost  # the running total, the reply's usage included
    # The reply in progress completed, then the interviewer said goodbye and it paused.
    assert "continue it later with the same link" in str(asked[-1])
    assert [m["text"] for m in client.of_type("ai_transcription") if m["is_final"]][-2:] == [
        "Tell me more.", "Goodbye for now."]
    assert (ended["reason"], ended["retryable"]) == (BUDGET_REASON, True)

    async def paused() -> bool:
        interview, _ = await stored(app.database_url, interview_id)
        return InterviewSettings.model_validate(interview.settings).paused_at is not None

    await _wait_for(paused)
    interview, before = await stored(app.database_url, interview_id)
    assert (interview.status, interview.end_reason, interview.error_code) == (
        "live", BUDGET_REASON, BUDGET_REASON)
    assert interview.ended_at is None
    assert [t.text for t in before if t.speaker == "interviewer"][-1] == "Goodbye for now."
    spent = await _spent_today(app)
    assert spent > app.runtime.settings.daily_budget_usd  # type: ignore[operator]

    # The limit is below the spend: no new session, for either link; neither is used up.
    await _refused(app, other_token)
    await _refused(app, token)
    other, _ = await stored(app.database_url, other_id)
    assert (other.status, other.started_at) == ("created", None)
    db = Database(app.database_url)
    try:
        async with db.session() as s:
            warnings = list(await s.scalars(select(WebhookEvent).where(
                WebhookEvent.type == "budget.warning")))
    finally:
        await db.dispose()
    assert [w.data["level"] for w in warnings] == ["exhausted"]

    # The operator raises the limit: the same link continues with what was said.
    _set_daily_limit(app, spent * 10)
    async with voice_client(app.voice_url(token)) as client:
        started = await client.start({})
        assert (started["interview_id"], started["resumed"]) == (interview_id, True)
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    said = [t for t in before if t.text.strip()]
    assert fake.last_session.events_received.count("conversation.item.create") == len(said)

    async def ended_now() -> bool:
        row, _ = await stored(app.database_url, interview_id)
        return row.status == "ended"

    await _wait_for(ended_now)
    interview, _ = await stored(app.database_url, interview_id)
    settings = InterviewSettings.model_validate(interview.settings)
    assert interview.end_reason == "candidate_ended"
    # Its clock stood still while it was paused, and runs again.
    assert settings.paused_at is None and settings.paused_s > 0
    db = Database(app.database_url)
    try:
        async with db.session() as s:
            row = (await s.scalars(select(Interview).where(Interview.id == interview_id))).one()
            assert row.cost_usd > 0
    finally:
        await db.dispose()
