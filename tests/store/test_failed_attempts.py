"""A link's failed attempt is recorded without ending the interview; every write to a
deleted interview says so (the relay ends itself on it). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.store import interviews as store
from vivavoce.store.database import Database

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CANDIDATE = CandidateContext.model_validate({"name": "Ada", "major": "Computer Science"})
SETTINGS = InterviewSettings(model="gpt-realtime", voice="marin", max_duration_s=900)


async def _new(db: Database) -> str:
    async with db.session() as s:
        return (await store.create_interview(s, candidate=CANDIDATE, settings=SETTINGS)).id


async def test_failed_attempt_is_recorded_until_the_interview_goes_live(db: Database) -> None:
    interview_id = await _new(db)
    async with db.session() as s:
        assert await store.record_failed_attempt(
            s, interview_id, reason="key_invalid", error_code="invalid_api_key")
        got = await store.get_interview(s, interview_id)
        assert got is not None
        assert (got.status, got.end_reason, got.error_code) == (
            "created", "key_invalid", "invalid_api_key")
        assert got.started_at is None and got.ended_at is None
        # The next attempt works: the record of the failed one goes.
        await store.mark_live(s, interview_id, at=T0)
        got = await store.get_interview(s, interview_id)
        assert got is not None
        assert (got.status, got.end_reason, got.error_code) == ("live", None, None)
        # Live, the key is revoked: still live (resumable), with the reason.
        assert await store.record_failed_attempt(
            s, interview_id, reason="quota_exhausted", error_code="insufficient_quota")
        got = await store.get_interview(s, interview_id)
        assert got is not None
        assert (got.status, got.end_reason, got.started_at) == ("live", "quota_exhausted", T0)
        # Resumed: live again, first start kept, record cleared; a real end then wins.
        await store.mark_live(s, interview_id, at=T0 + timedelta(minutes=5))
        assert await store.mark_ended(s, interview_id, status="ended",
                                      reason="candidate_ended", at=T0 + timedelta(minutes=9))
        # An ended interview's record is not touched by a late failed attempt.
        assert not await store.record_failed_attempt(s, interview_id, reason="key_invalid")
        got = await store.get_interview(s, interview_id)
        assert got is not None
        assert (got.status, got.end_reason, got.error_code, got.started_at) == (
            "ended", "candidate_ended", None, T0)


async def test_every_write_to_a_deleted_interview_raises_not_found(db: Database) -> None:
    interview_id = await _new(db)
    async with db.session() as s:
        await store.mark_live(s, interview_id, at=T0)
        assert await store.delete_interview(s, interview_id)
        with pytest.raises(store.InterviewNotFound):
            await store.add_turn(s, interview_id=interview_id, sequence=0,
                                 speaker="candidate", text="Hello", started_at=T0,
                                 ended_at=T0, audio_ms=500, item_id="item_1",
                                 state="complete")
        with pytest.raises(store.InterviewNotFound):
            await store.add_usage(s, interview_id, input_audio=10)
        with pytest.raises(store.InterviewNotFound):
            await store.mark_live(s, interview_id, at=T0)
        with pytest.raises(store.InterviewNotFound):
            await store.mark_ended(s, interview_id, status="ended", reason="x", at=T0)
        with pytest.raises(store.InterviewNotFound):
            await store.record_failed_attempt(s, interview_id, reason="key_invalid")
        # Nothing was re-created on the way.
        assert await store.get_interview(s, interview_id) is None
        assert await store.list_turns(s, interview_id) == []
