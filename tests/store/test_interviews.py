"""Interviews, turns and usage on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, update

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.pricing import TokenUsage
from vivavoce.store import interviews as store
from vivavoce.store.database import Database
from vivavoce.store.models import Evaluation, Interview

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

CANDIDATE = CandidateContext.model_validate(
    {"name": "Ada", "major": "Computer Science", "year": "3rd year", "skills": "Python, SQL"}
)
SETTINGS = InterviewSettings(model="gpt-realtime", voice="marin", max_duration_s=900)


async def _new(db: Database) -> str:
    async with db.session() as s:
        interview = await store.create_interview(s, candidate=CANDIDATE, settings=SETTINGS)
    return interview.id


async def test_create_and_read_back(db: Database) -> None:
    interview_id = await _new(db)
    async with db.session() as s:
        got = await store.get_interview(s, interview_id)
    assert got is not None
    assert got.status == "created"
    assert got.candidate["name"] == "Ada"
    assert got.candidate["field"] == "Computer Science"
    assert got.candidate["skills"] == ["Python", "SQL"]
    assert got.settings["max_duration_s"] == 900
    assert got.model == "gpt-realtime"
    assert got.created_at.tzinfo is not None
    assert got.input_audio_tokens == 0 and got.cost_usd == 0.0


async def test_unknown_interview_reads_as_none(db: Database) -> None:
    async with db.session() as s:
        assert await store.get_interview(s, "no-such-id") is None
        assert await store.list_turns(s, "no-such-id") == []


async def test_lifecycle_live_then_ended_first_end_wins(db: Database) -> None:
    interview_id = await _new(db)
    async with db.session() as s:
        await store.mark_live(s, interview_id, at=T0)
        # A resumed interview goes live again but keeps its first start.
        await store.mark_live(s, interview_id, at=T0 + timedelta(minutes=3))
        assert await store.mark_ended(
            s, interview_id, status="ended", reason="candidate ended", at=T0 + timedelta(minutes=9)
        )
        assert not await store.mark_ended(
            s, interview_id, status="failed", reason="late error", error_code="x", at=T0
        )
        got = await store.get_interview(s, interview_id)
        assert got is not None
        assert got.status == "ended"
        assert got.started_at == T0
        assert got.ended_at == T0 + timedelta(minutes=9)
        assert got.end_reason == "candidate ended" and got.error_code is None
        with pytest.raises(store.InterviewStateError, match="ended"):
            await store.mark_live(s, interview_id, at=T0)


async def test_failed_keeps_the_error_code(db: Database) -> None:
    interview_id = await _new(db)
    async with db.session() as s:
        await store.mark_ended(
            s, interview_id, status="failed", reason="key revoked", error_code="invalid_api_key", at=T0
        )
        got = await store.get_interview(s, interview_id)
    assert got is not None and got.status == "failed" and got.error_code == "invalid_api_key"


async def test_lifecycle_on_unknown_interview_raises(db: Database) -> None:
    async with db.session() as s:
        with pytest.raises(store.InterviewNotFound):
            await store.mark_live(s, "nope", at=T0)
        with pytest.raises(store.InterviewNotFound):
            await store.mark_ended(s, "nope", status="ended", reason="x", at=T0)
        with pytest.raises(store.InterviewNotFound):
            await store.add_usage(s, "nope", input_text=1)
        with pytest.raises(ValueError, match="ended"):
            await store.mark_ended(s, "nope", status="live", reason="x", at=T0)  # type: ignore[arg-type]


async def test_turns_are_ordered_and_idempotent(db: Database) -> None:
    interview_id = await _new(db)
    async with db.session() as s:
        common = {"interview_id": interview_id, "started_at": T0, "ended_at": T0, "audio_ms": 1200}
        await store.add_turn(
            s, sequence=1, speaker="candidate", text="I like graphs.", item_id="item_B",
            state="complete", **common,
        )
        await store.add_turn(
            s, sequence=0, speaker="interviewer", text="Tell me", item_id="item_A",
            state="partial", **common,
        )
        # Retried write of the same item: updates (partial -> complete), no duplicate.
        await store.add_turn(
            s, sequence=0, speaker="interviewer", text="Tell me about yourself.",
            item_id="item_A", state="complete", **common,
        )
        turns = await store.list_turns(s, interview_id)
    assert [(t.sequence, t.speaker, t.text, t.state) for t in turns] == [
        (0, "interviewer", "Tell me about yourself.", "complete"),
        (1, "candidate", "I like graphs.", "complete"),
    ]


async def test_turn_without_item_id_is_idempotent_on_sequence(db: Database) -> None:
    interview_id = await _new(db)
    async with db.session() as s:
        for _ in range(2):
            await store.add_turn(
                s, interview_id=interview_id, sequence=0, speaker="interviewer", text="Hi",
                started_at=None, ended_at=None, audio_ms=None, item_id=None, state="complete",
            )
        assert len(await store.list_turns(s, interview_id)) == 1


async def test_sequence_taken_by_another_item_is_a_conflict(db: Database) -> None:
    interview_id = await _new(db)
    async with db.session() as s:
        args = {"interview_id": interview_id, "sequence": 0, "speaker": "interviewer",
                "text": "Hi", "started_at": None, "ended_at": None, "audio_ms": None,
                "state": "complete"}
        await store.add_turn(s, item_id="item_A", **args)
        with pytest.raises(store.TurnConflict):
            await store.add_turn(s, item_id="item_Z", **args)


async def test_turn_validation_and_unknown_interview(db: Database) -> None:
    async with db.session() as s:
        args = {"sequence": 0, "text": "x", "started_at": None, "ended_at": None,
                "audio_ms": None, "item_id": None, "state": "complete"}
        with pytest.raises(store.InterviewNotFound):
            await store.add_turn(s, interview_id="missing", speaker="candidate", **args)
        with pytest.raises(ValueError, match="speaker"):
            await store.add_turn(s, interview_id="missing", speaker="robot", **args)  # type: ignore[arg-type]


async def test_concurrent_turn_writes_from_separate_sessions(db: Database) -> None:
    interview_id = await _new(db)

    async def write(seq: int) -> None:
        async with db.session() as s:
            await store.add_turn(
                s, interview_id=interview_id, sequence=seq, speaker="candidate",
                text=f"turn {seq}", started_at=None, ended_at=None, audio_ms=None,
                item_id=f"item_{seq}", state="complete",
            )

    await asyncio.gather(*(write(i) for i in range(12)))
    async with db.session() as s:
        turns = await store.list_turns(s, interview_id)
    assert [t.sequence for t in turns] == list(range(12))


async def test_usage_accumulates_atomically(db: Database) -> None:
    interview_id = await _new(db)

    async def add() -> None:
        async with db.session() as s:
            await store.add_usage(
                s, interview_id, input_text=10, input_audio=100, input_cached=5,
                output_text=7, output_audio=200, cost_usd=0.0125,
            )

    await asyncio.gather(*(add() for _ in range(8)))
    async with db.session() as s:
        got = await store.get_interview(s, interview_id)
        with pytest.raises(ValueError, match="negative"):
            await store.add_usage(s, interview_id, input_text=-1)
    assert got is not None
    assert (got.input_text_tokens, got.input_audio_tokens, got.input_cached_tokens) == (80, 800, 40)
    assert (got.output_text_tokens, got.output_audio_tokens) == (56, 1600)
    assert got.cost_usd == pytest.approx(0.1)


async def test_a_turn_write_adds_its_response_usage_once(db: Database) -> None:
    # The relay stores a reply's usage in the reply's turn write: the totals must be
    # exactly those of separate add_usage calls, also when a retried turn write finds
    # the turn already stored, and with statements counted: one session, no extra reads.
    interview_id = await _new(db)
    usage = TokenUsage(input_text=10, input_audio=100, input_cached_text=3,
                       input_cached_audio=2, output_text=7, output_audio=200)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    async def turn(sequence: int, item: str, state: Any = "complete") -> None:
        async with db.session() as s:
            await store.add_turn(
                s, interview_id=interview_id, sequence=sequence, speaker="interviewer",
                text="Hello", started_at=None, ended_at=None, audio_ms=None, item_id=item,
                state=state, usage=usage, cost_usd=0.0125)

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        await turn(0, "a0")
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    assert [s for s in statements if s in ("UPDATE", "INSERT", "SELECT")] == ["UPDATE", "INSERT"]
    await turn(0, "a0", "interrupted")  # the same turn again: updated, usage added again
    await turn(1, "a1")
    async with db.session() as s:
        got = await store.get_interview(s, interview_id)
        stored = await store.list_turns(s, interview_id)
    assert got is not None
    assert (got.input_text_tokens, got.input_audio_tokens, got.input_cached_tokens) == (30, 300, 15)
    assert (got.output_text_tokens, got.output_audio_tokens) == (21, 600)
    assert got.cost_usd == pytest.approx(0.0375)
    assert [(t.sequence, t.state) for t in stored] == [(0, "interrupted"), (1, "complete")]


async def test_a_turn_write_with_usage_for_a_deleted_interview_writes_nothing(
    db: Database,
) -> None:
    async with db.session() as s:
        with pytest.raises(store.InterviewNotFound):
            await store.add_turn(
                s, interview_id="gone", sequence=0, speaker="interviewer", text="Hi",
                started_at=None, ended_at=None, audio_ms=None, item_id="a0",
                state="complete", usage=TokenUsage(output_audio=5))
    interview_id = await _new(db)
    async with db.session() as s:
        with pytest.raises(ValueError, match="negative"):
            await store.add_turn(
                s, interview_id=interview_id, sequence=0, speaker="interviewer", text="Hi",
                started_at=None, ended_at=None, audio_ms=None, item_id="a0",
                state="complete", usage=TokenUsage(output_audio=5), cost_usd=-1.0)
        # A turn refused for its own fields still has its response's usage billed.
        with pytest.raises(ValueError, match="sequence"):
            await store.add_turn(
                s, interview_id=interview_id, sequence=-1, speaker="interviewer", text="Hi",
                started_at=None, ended_at=None, audio_ms=None, item_id="a0",
                state="complete", usage=TokenUsage(output_audio=5), cost_usd=0.5)
    async with db.session() as s:
        assert await store.list_turns(s, interview_id) == []
        got = await store.get_interview(s, interview_id)
    assert got is not None and got.output_audio_tokens == 5
    assert got.cost_usd == pytest.approx(0.5)


async def test_delete_removes_turns_and_evaluation(db: Database) -> None:
    interview_id = await _new(db)
    async with db.session() as s:
        await store.add_turn(
            s, interview_id=interview_id, sequence=0, speaker="interviewer", text="Hi",
            started_at=None, ended_at=None, audio_ms=None, item_id=None, state="complete",
        )
        s.add(Evaluation(interview_id=interview_id, status="pending"))
        await s.commit()
        assert await store.delete_interview(s, interview_id)
        assert not await store.delete_interview(s, interview_id)
        assert await store.get_interview(s, interview_id) is None
        assert await store.list_turns(s, interview_id) == []
        from sqlalchemy import func, select

        left = await s.scalar(
            select(func.count()).select_from(Evaluation).where(Evaluation.interview_id == interview_id)
        )
    assert left == 0


async def test_list_pages_and_filters(db: Database) -> None:
    ids = [await _new(db) for _ in range(5)]
    async with db.session() as s:
        # Spread creation times so ordering and date filters are meaningful.
        from sqlalchemy import update

        from vivavoce.store.models import Interview

        for n, interview_id in enumerate(ids):
            await s.execute(
                update(Interview).where(Interview.id == interview_id)
                .values(created_at=T0 + timedelta(days=n))
            )
        await s.commit()
        await store.mark_live(s, ids[1], at=T0)
        page, total = await store.list_interviews(s, limit=2, offset=0)
        assert total == 5 and [i.id for i in page] == [ids[4], ids[3]]
        page, total = await store.list_interviews(s, limit=2, offset=4)
        assert total == 5 and [i.id for i in page] == [ids[0]]
        live, total = await store.list_interviews(s, status="live")
        assert total == 1 and [i.id for i in live] == [ids[1]]
        window, total = await store.list_interviews(
            s, since=T0 + timedelta(days=1), until=T0 + timedelta(days=3)
        )
        assert total == 2 and {i.id for i in window} == {ids[1], ids[2]}
        with pytest.raises(ValueError):
            await store.list_interviews(s, limit=0)
        with pytest.raises(ValueError):
            await store.list_interviews(s, offset=-1)


async def test_timestamps_in_other_zones_are_stored_as_utc(db: Database) -> None:
    interview_id = await _new(db)
    paris = timezone(timedelta(hours=1))
    start = datetime(2026, 11, 2, 10, 30, tzinfo=paris)  # 09:30 UTC
    async with db.session() as s:
        await store.mark_live(s, interview_id, at=start)
        await store.mark_ended(
            s, interview_id, status="ended", reason="done", at=start + timedelta(minutes=5)
        )
        got = await store.get_interview(s, interview_id)
    assert got is not None
    assert got.started_at == T0 and got.started_at.utcoffset() == timedelta(0)
    assert got.ended_at == T0 + timedelta(minutes=5)


async def test_turn_text_postgresql_cannot_hold_is_dropped_not_fatal(db: Database) -> None:
    # NUL and lone surrogates can arrive in a JSON transcript ("\u0000", "\ud800");
    # PostgreSQL's text type refuses both, which would lose the whole turn.
    interview_id = await _new(db)
    async with db.session() as s:
        turn = await store.add_turn(
            s, interview_id=interview_id, sequence=0, speaker="candidate",
            text="I used C\x00 and \ud800Rust \U0001f980 daily", started_at=None, ended_at=None,
            audio_ms=None, item_id="item\x00-1", state="complete",
        )
        assert turn.text == "I used C and Rust \U0001f980 daily"
        stored = await store.list_turns(s, interview_id)
    assert [(t.text, t.item_id) for t in stored] == [("I used C and Rust \U0001f980 daily", "item-1")]
    async with db.session() as s:
        await store.mark_ended(
            s, interview_id, status="failed", reason="upstream said \x00bye\udfff",
            error_code="server_error\x00", at=T0,
        )
        ended = await store.get_interview(s, interview_id)
    assert ended is not None
    assert (ended.end_reason, ended.error_code) == ("upstream said bye", "server_error")


class _Statements:
    """The SQL statements run on ``db``'s engine while it is open (a context manager)."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.seen: list[str] = []

    def _record(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        self.seen.append(" ".join(statement.split()))

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


async def test_a_new_turn_is_one_statement_a_stored_one_is_updated(db: Database) -> None:
    interview_id = await _new(db)
    args = {"interview_id": interview_id, "started_at": T0, "ended_at": None,
            "audio_ms": None, "speaker": "interviewer"}
    async with db.session() as s:
        with _Statements(db) as seen:
            turn = await store.add_turn(s, sequence=0, text="Tell", item_id="item_A",
                                        state="partial", **args)
        assert [q.split()[0] for q in seen] == ["INSERT"]  # no lookup before it
        assert (turn.id, turn.sequence, turn.text, turn.item_id) == (turn.id, 0, "Tell", "item_A")
        assert isinstance(turn.id, int)
        # The same item again (even at another sequence): updated in place, not duplicated.
        again = await store.add_turn(s, sequence=5, text="Tell me", item_id="item_A",
                                     state="complete", **{**args, "ended_at": T0})
        assert again.id == turn.id
        turns = await store.list_turns(s, interview_id)
    assert [(t.sequence, t.text, t.state, t.ended_at) for t in turns] == [
        (0, "Tell me", "complete", T0)]


async def test_an_owner_given_at_creation_holds_the_lease(db: Database) -> None:
    from vivavoce.store import leases

    instance = leases.new_instance_id()
    await leases.register_instance(db, instance)
    async with db.session() as s:
        created = await store.create_interview(s, candidate=CANDIDATE, settings=SETTINGS,
                                               owner_id=instance)
        # An owner without an instances row (pruned): stored unowned, lease taken later.
        orphan = await store.create_interview(s, candidate=CANDIDATE, settings=SETTINGS,
                                              owner_id=leases.new_instance_id())
    assert (created.owner_id, created.lease_generation) == (instance, 1)
    lease = leases.Lease(created.id, instance, 1)
    assert await leases.holds_lease(db, lease)
    other = leases.new_instance_id()
    await leases.register_instance(db, other)
    assert await leases.take_lease(db, created.id, other) is None  # a live owner holds it
    assert (orphan.owner_id, orphan.lease_generation) == (None, 0)
    async with db.session() as s:
        assert await store.get_interview(s, orphan.id) is not None
    assert await leases.take_lease(db, orphan.id, other) == leases.Lease(orphan.id, other, 1)


def _in_transaction(conn: Any) -> bool:
    """Whether the driver's connection is inside a transaction right now."""
    driver = conn.connection.driver_connection
    return bool(driver.in_transaction if conn.dialect.name == "sqlite"
                else driver.is_in_transaction())


async def test_one_statement_writes_run_in_autocommit(db: Database) -> None:
    # Their statement is the whole change: on SQLite the write lock is let go as it ends,
    # not after a COMMIT that waits for the event loop (a busy loop held everyone back).
    from vivavoce.store import leases

    engine = db.engine.sync_engine
    after: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: object, statement: str, *_args: object) -> None:
        after.append((" ".join(statement.split()[:3]), _in_transaction(conn)))

    instance = leases.new_instance_id()
    await leases.register_instance(db, instance)
    event.listen(engine, "after_cursor_execute", record)
    try:
        async with db.session() as s:
            created = await store.create_interview(s, candidate=CANDIDATE, settings=SETTINGS,
                                                   owner_id=instance)
            await store.add_turn(s, interview_id=created.id, sequence=0, speaker="interviewer",
                                 text="Hi", started_at=None, ended_at=None, audio_ms=None,
                                 item_id="item_1", state="complete")
            await store.add_usage(s, created.id, input_text=3)
            await store.mark_live(s, created.id, at=T0)  # two statements: one transaction
        assert await leases.take_lease(db, created.id, instance) is not None
    finally:
        event.remove(engine, "after_cursor_execute", record)
    # Committed by the statement itself (no transaction left open behind it), but for
    # going live, whose update and webhook event commit together.
    assert after == [
        ("INSERT INTO interviews", False), ("INSERT INTO turns", False),
        ("UPDATE interviews SET", False),
        ("UPDATE interviews SET", True), ("INSERT INTO webhook_events", True),
        ("UPDATE interviews SET", False),
    ], after


async def test_a_connection_back_from_autocommit_is_transactional_again(
    migrated_database_url: str,
) -> None:
    # One pooled connection, so the next session gets the one a one-statement write
    # switched to autocommit: its two writes must still commit or roll back together.
    small = Database(migrated_database_url, pool_size=1, max_overflow=0)
    try:
        async with small.session() as s:
            kept = await store.create_interview(s, candidate=CANDIDATE, settings=SETTINGS)
        async with small.session() as s:
            await s.execute(update(Interview).where(Interview.id == kept.id)
                            .values(note="not kept"))
            await s.rollback()
        async with small.session() as s:
            got = await store.get_interview(s, kept.id)
        assert got is not None and got.note is None
    finally:
        await small.dispose()
