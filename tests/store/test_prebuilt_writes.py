"""The greeting's writes (a response's usage, a new turn) run statements built once.

Every start writes its greeting's turn and usage; building those statements (and their
cache keys) per call cost about as much CPU as running them (issue 12). Real SQLite and
PostgreSQL: the same statement objects reach the engine at every call, with the values
each call gave.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.pricing import TokenUsage
from vivavoce.store import interviews as store
from vivavoce.store.database import Database

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CANDIDATE = CandidateContext.model_validate({"name": "Ada", "major": "CS", "year": "3rd year"})
SETTINGS = InterviewSettings(model="gpt-realtime", voice="marin", max_duration_s=900)


class _Executed:
    """The statement objects executed on ``db``'s engine while open (a context manager)."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.seen: list[Any] = []

    def _record(self, _conn: object, statement: object, *_args: object) -> None:
        self.seen.append(statement)

    def __enter__(self) -> list[Any]:
        event.listen(self.engine, "before_execute", self._record)
        return self.seen

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_execute", self._record)


async def _greeting(db: Database, interview_id: str, n: int, item_id: str | None) -> None:
    usage = TokenUsage(input_text=1 * n, input_audio=10 * n, input_cached_text=100 * n,
                       output_text=1000 * n, output_audio=10000 * n)
    async with db.session() as s:
        await store.add_turn(s, interview_id=interview_id, sequence=0, speaker="interviewer",
                             text=f"Hello {n}", started_at=T0, ended_at=T0, audio_ms=n,
                             item_id=item_id, state="complete", usage=usage, cost_usd=0.5 * n)


async def _new(db: Database) -> str:
    async with db.session() as s:
        return (await store.create_interview(s, candidate=CANDIDATE, settings=SETTINGS)).id


def _writes(executed: list[Any]) -> list[Any]:
    return [x for x in executed if getattr(x, "is_dml", False)]


async def test_the_greetings_writes_reuse_their_statements(db: Database) -> None:
    for item_id in ("item_", None):  # the two kinds of new turn: by item, by sequence
        ids = [await _new(db), await _new(db)]
        with _Executed(db) as first:
            await _greeting(db, ids[0], 1, item_id and f"{item_id}1")
        with _Executed(db) as second:
            await _greeting(db, ids[1], 2, item_id and f"{item_id}2")
        assert [x.is_update for x in _writes(first)] == [True, False]  # the usage, the turn
        assert all(a is b for a, b in zip(_writes(first), _writes(second), strict=True))
        for n, interview_id in enumerate(ids, start=1):
            async with db.session() as s:
                got = await store.get_interview(s, interview_id)
                turns = await store.list_turns(s, interview_id)
            assert got is not None
            assert (got.input_text_tokens, got.input_audio_tokens, got.input_cached_tokens,
                    got.output_text_tokens, got.output_audio_tokens) == (
                n, 10 * n, 100 * n, 1000 * n, 10000 * n)
            assert got.cost_usd == 0.5 * n
            assert [(t.interview_id, t.sequence, t.speaker, t.text, t.started_at, t.ended_at,
                     t.audio_ms, t.item_id, t.state) for t in turns] == [
                (interview_id, 0, "interviewer", f"Hello {n}", T0, T0, n,
                 item_id and f"{item_id}{n}", "complete")]
