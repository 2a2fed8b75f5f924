"""Usage by day and model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.store.database import Database
from vivavoce.store.interviews import add_usage, create_interview
from vivavoce.store.models import Interview
from vivavoce.store.usage import usage_summary

DAY1 = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)


async def _interview(db: Database, model: str, created: datetime, tokens: int, cost: float) -> None:
    async with db.session() as s:
        interview = await create_interview(
            s,
            candidate=CandidateContext(name="Sam"),
            settings=InterviewSettings(model=model, voice="marin", max_duration_s=600),
        )
        await s.execute(
            update(Interview).where(Interview.id == interview.id).values(created_at=created)
        )
        await s.commit()
        await add_usage(s, interview.id, input_audio=tokens, output_audio=2 * tokens, cost_usd=cost)


async def test_summary_groups_by_utc_day_and_model(db: Database) -> None:
    await _interview(db, "gpt-realtime", DAY1, 100, 0.5)
    await _interview(db, "gpt-realtime", DAY1 + timedelta(minutes=20), 50, 0.25)  # 23:50 UTC
    # 00:10 UTC next day — in UTC+2 this would be the same day as the first; UTC decides.
    await _interview(db, "gpt-realtime", DAY1 + timedelta(minutes=40), 10, 0.1)
    await _interview(db, "gpt-realtime-mini", DAY1, 7, 0.01)
    async with db.session() as s:
        rows = await usage_summary(s)
        windowed = await usage_summary(s, since=DAY1 + timedelta(minutes=35))
    assert [(r["day"], r["model"], r["interviews"]) for r in rows] == [
        ("2026-11-01", "gpt-realtime", 2),
        ("2026-11-01", "gpt-realtime-mini", 1),
        ("2026-11-02", "gpt-realtime", 1),
    ]
    first = rows[0]
    assert first["input_audio_tokens"] == 150 and first["output_audio_tokens"] == 300
    assert first["cost_usd"] == 0.75
    assert [(r["day"], r["interviews"]) for r in windowed] == [("2026-11-02", 1)]


async def test_empty_summary(db: Database) -> None:
    async with db.session() as s:
        assert await usage_summary(s) == []


async def test_days_are_utc_whatever_the_session_time_zone(db: Database) -> None:
    await _interview(db, "gpt-realtime", DAY1, 1, 0.0)  # 23:30 UTC = 08:30 next day in Tokyo
    async with db.session() as s:
        if db.dialect == "postgresql":
            from sqlalchemy import text

            await s.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
        rows = await usage_summary(s)
    assert [r["day"] for r in rows] == ["2026-11-01"]


async def test_simulated_interviews_cost_nothing_and_are_counted_apart(db: Database) -> None:
    from vivavoce.store.interviews import mark_live

    await _interview(db, "gpt-realtime", DAY1, 100, 0.5)
    async with db.session() as s:
        simulated = await create_interview(
            s, candidate=CandidateContext(name="Sim"),
            settings=InterviewSettings(model="gpt-realtime", voice="marin", max_duration_s=600),
        )
        await s.execute(
            update(Interview).where(Interview.id == simulated.id).values(created_at=DAY1)
        )
        await s.commit()
        # What the relay does: live against the simulator, then the fake's usage arrives
        # priced by the price table.
        await mark_live(s, simulated.id, at=DAY1, simulated=True)
        await add_usage(s, simulated.id, input_audio=1000, output_audio=2000, cost_usd=0.13)
        row = await s.get(Interview, simulated.id, populate_existing=True)
        assert row is not None and row.simulated and row.cost_usd == 0.0
        # A resumed session against the simulator does not clear the mark.
        await mark_live(s, simulated.id, at=DAY1)
        rows = await usage_summary(s)
    assert [(r["interviews"], r["simulated_interviews"]) for r in rows] == [(1, 1)]
    assert rows[0]["input_audio_tokens"] == 100 and rows[0]["cost_usd"] == 0.5
