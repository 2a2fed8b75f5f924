"""Over real sockets: once a spend limit is reached, /voice starts no new Realtime
session. The refusal is not fatal and does not use the link up: the same socket starts
the interview once the budget allows (issue 16, "Spend limits")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import update

from tests.evaluation.helpers import GOOD_TRANSCRIPT, make_interview
from tests.fixtures.app_server import RunningApp
from tests.relay.stored import link_interview, stored
from tests.relay.voice_client import voice_client
from vivavoce.budget import EXHAUSTED_MESSAGE
from vivavoce.store import interviews as store
from vivavoce.store.database import Database
from vivavoce.store.models import Interview
from vivavoce.testing.scenarios import scenario_key

MakeApp = Callable[..., RunningApp]


async def _spend_today(database_url: str) -> str:
    """An earlier interview today that spent about 64 USD (1M audio output tokens)."""
    db = Database(database_url)
    try:
        spender = await make_interview(db, GOOD_TRANSCRIPT, status="ended")
        async with db.session() as s:
            await s.execute(update(Interview).where(Interview.id == spender)
                            .values(model="gpt-realtime", started_at=datetime.now(UTC)))
            await s.commit()
            await store.add_usage(s, spender, output_audio=1_000_000)
    finally:
        await db.dispose()
    return spender


async def _forget_spend(database_url: str, spender: str) -> None:
    db = Database(database_url)
    try:
        async with db.session() as s:
            await s.execute(update(Interview).where(Interview.id == spender)
                            .values(output_audio_tokens=0, cost_usd=0))
            await s.commit()
    finally:
        await db.dispose()


async def test_a_spent_budget_refuses_the_start_and_keeps_the_link(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server(api_key=scenario_key("ok", "budget"),
                          VIVAVOCE_DAILY_BUDGET_USD="10")
    fake = app.fake.fake  # type: ignore[union-attr]
    spender = await _spend_today(app.database_url)
    interview_id, token = await link_interview(app)

    async with voice_client(app.voice_url(token)) as client:
        await client.send_json({"type": "start_interview"})
        error = await client.until("error")
        assert (error["code"], error["fatal"]) == ("budget_exhausted", False)
        assert error["message"] == EXHAUSTED_MESSAGE
        # No Realtime session was opened, and the link is not used up.
        assert fake.sessions == []
        interview, turns = await stored(app.database_url, interview_id)
        assert (interview.status, interview.started_at, turns) == ("created", None, [])

        # The operator's spend goes back under the limit: the same socket starts.
        await _forget_spend(app.database_url, spender)
        started = await client.start({})
        assert started["interview_id"] == interview_id
    assert len(fake.sessions) == 1
