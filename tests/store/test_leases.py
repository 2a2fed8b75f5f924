"""Leases for takeover across instances, on real SQLite and PostgreSQL: one heartbeat row
per process, the owner of each interview, compare-and-set takes, and the service that
renews and watches them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.store import interviews as store
from vivavoce.store import leases
from vivavoce.store.database import Database
from vivavoce.store.heartbeat import HeartbeatService
from vivavoce.store.leases import Lease, take_lease
from vivavoce.store.models import Instance, Interview, utcnow

TTL = leases.DEFAULT_TTL
SETTINGS = InterviewSettings(model="gpt-realtime", voice="marin", max_duration_s=900)


async def _interview(db: Database, status: str = "live") -> str:
    async with db.session() as s:
        interview = await store.create_interview(
            s, candidate=CandidateContext(name="Ada"), settings=SETTINGS)
        if status != "created":
            await store.mark_live(s, interview.id, at=utcnow())
        if status in ("ended", "failed"):
            await store.mark_ended(s, interview.id, status=status, reason="candidate_ended", at=utcnow())
    return interview.id


async def _instance(db: Database, *, silent_for: timedelta = timedelta(0)) -> str:
    instance_id = leases.new_instance_id()
    await leases.register_instance(db, instance_id, now=utcnow() - silent_for)
    return instance_id


async def _owner(db: Database, interview_id: str) -> tuple[str | None, int]:
    async with db.session() as s:
        row = (await s.execute(select(Interview.owner_id, Interview.lease_generation)
                               .where(Interview.id == interview_id))).one()
    return row[0], row[1]


async def test_one_row_per_process_renewed_in_place(db: Database) -> None:
    a = await _instance(db)
    async with db.session() as s:
        first = (await s.get(Instance, a))
        assert first is not None
        registered = first.heartbeat_at
    later = registered + timedelta(seconds=3)
    await leases.renew_heartbeat(db, a, now=later)
    await leases.renew_heartbeat(db, a, now=later)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Instance)) == 1
        row = await s.get(Instance, a)
        assert row is not None and row.heartbeat_at == later and row.kind == "server"
        assert ":" in row.label  # host:pid
    # Pruned while the process was paused: the next beat registers it again.
    assert await leases.prune_instances(db, older_than=timedelta(0), now=later + TTL) == 1
    await leases.renew_heartbeat(db, a, kind="worker")
    async with db.session() as s:
        row = await s.get(Instance, a)
        assert row is not None and row.kind == "worker"


async def test_take_a_free_lease_refuse_a_live_owner_take_over_explicitly(db: Database) -> None:
    interview_id = await _interview(db)
    a, b = await _instance(db), await _instance(db)
    held = await take_lease(db, interview_id, a)
    assert held == Lease(interview_id, a, 1)
    assert await _owner(db, interview_id) == (a, 1)
    # B's heartbeat is fresh, and so is A's: no takeover unless asked.
    assert await take_lease(db, interview_id, b) is None
    assert await leases.holds_lease(db, held)
    # The link is opened again on B: B takes it over, A finds out at its next check.
    taken = await take_lease(db, interview_id, b, takeover=True)
    assert taken == Lease(interview_id, b, 2)
    assert not await leases.holds_lease(db, held)
    assert await leases.lost_leases(db, [held, taken]) == [held]
    # A's stale lease cannot free B's interview.
    assert not await leases.release_lease(db, held)
    assert await _owner(db, interview_id) == (b, 2)


async def test_a_new_relay_on_the_same_instance_supersedes_the_old_one(db: Database) -> None:
    interview_id = await _interview(db)
    a = await _instance(db)
    old = await take_lease(db, interview_id, a)
    new = await take_lease(db, interview_id, a)
    assert old is not None and new is not None and new.generation == old.generation + 1
    assert await leases.lost_leases(db, [old, new]) == [old]


async def test_an_expired_owner_is_taken_over_and_listed(db: Database) -> None:
    crashed = await _instance(db, silent_for=TTL + timedelta(seconds=1))
    alive = await _instance(db)
    orphan, kept, over = await _interview(db), await _interview(db), await _interview(db)
    assert await take_lease(db, orphan, crashed) is not None
    assert await take_lease(db, kept, alive) is not None
    assert await take_lease(db, over, crashed) is not None
    async with db.session() as s:
        await store.mark_ended(s, over, status="ended", reason="candidate_ended", at=utcnow())
    # Only the open interview of the silent instance is resumable elsewhere.
    assert await leases.expired_leases(db) == [orphan]
    assert await leases.expired_leases(db, ttl=TTL * 10) == []
    taken = await take_lease(db, orphan, alive)  # no takeover needed
    assert taken == Lease(orphan, alive, 2)
    assert await leases.expired_leases(db) == []


async def test_a_retired_instance_frees_its_interviews_at_once(db: Database) -> None:
    interview_id = await _interview(db)
    a, b = await _instance(db), await _instance(db)
    held = await take_lease(db, interview_id, a)
    assert held is not None
    await leases.retire_instance(db, a)
    assert await _owner(db, interview_id) == (None, 1)
    assert await leases.lost_leases(db, [held]) == [held]
    assert await leases.expired_leases(db) == []
    assert await take_lease(db, interview_id, b) == Lease(interview_id, b, 2)
    assert await leases.release_lease(db, Lease(interview_id, b, 2))
    assert await _owner(db, interview_id) == (None, 2)


async def test_unknown_interview(db: Database) -> None:
    a = await _instance(db)
    with pytest.raises(store.InterviewNotFound):
        await take_lease(db, "no-such-interview", a)
    assert await leases.lost_leases(db, []) == []


async def test_two_instances_racing_for_one_interview(migrated_database_url: str) -> None:
    # Two instances = two engines (their own connection pools) on one database, each
    # taking the same interviews at the same moment, as two browsers opening one link
    # on two instances would. Exactly one wins each race.
    first, second = Database(migrated_database_url), Database(migrated_database_url)
    try:
        a, b = await _instance(first), await _instance(second)
        ids = [await _interview(first) for _ in range(12)]
        for interview_id in ids:
            got = await asyncio.gather(take_lease(first, interview_id, a),
                                       take_lease(second, interview_id, b))
            winners = [lease for lease in got if lease is not None]
            assert len(winners) == 1, got
            assert await _owner(first, interview_id) == (winners[0].owner_id, 1)
        # Both taking over at once: both writes land in turn, and exactly one of them
        # is the lease that holds; the other learns it lost.
        for interview_id in ids[:6]:
            got = await asyncio.gather(
                take_lease(first, interview_id, a, takeover=True),
                take_lease(second, interview_id, b, takeover=True))
            assert all(lease is not None for lease in got)
            held = [lease for lease in got
                    if lease is not None and await leases.holds_lease(first, lease)]
            assert len(held) == 1, got
            assert await _owner(first, interview_id) == (held[0].owner_id, held[0].generation)
    finally:
        await first.dispose()
        await second.dispose()


async def _wait_for_row(db: Database, instance_id: str, newer_than: object) -> None:
    for _ in range(500):  # hang guard only
        async with db.session() as s:
            row = await s.get(Instance, instance_id)
        if row is not None and row.heartbeat_at > newer_than:  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the heartbeat was never renewed")


async def test_heartbeat_service_beats_reports_lost_leases_and_retires(db: Database) -> None:
    service = HeartbeatService(db, interval=timedelta(seconds=0.05), ttl=timedelta(seconds=1))
    await service.start()
    try:
        async with db.session() as s:
            row = await s.get(Instance, service.instance_id)
            assert row is not None
            registered = row.heartbeat_at
        await _wait_for_row(db, service.instance_id, registered)  # the loop renews it

        kept_id, lost_id = await _interview(db), await _interview(db)
        kept = await take_lease(db, kept_id, service.instance_id)
        lost = await take_lease(db, lost_id, service.instance_id)
        assert kept is not None and lost is not None
        reported: list[Lease] = []
        service.watch(kept, reported.append)
        service.watch(lost, reported.append)
        other = await _instance(db)
        assert await take_lease(db, lost_id, other, takeover=True) is not None
        for _ in range(500):  # hang guard: the loop's next beat finds it
            if reported:
                break
            await asyncio.sleep(0.01)
        await service.beat()
        assert reported == [lost]  # once, and only the lost one
        assert service.watched == [kept]
    finally:
        await service.stop()
    assert not service.running
    async with db.session() as s:
        assert await s.get(Instance, service.instance_id) is None
    assert await _owner(db, kept_id) == (None, 1)  # free for any instance at once


# The service is pointed at a database that refuses connections: a half-opened driver
# connection may be collected unclosed, which pytest reports as an unraisable warning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_an_instance_that_cannot_reach_the_database_fences_itself(db: Database) -> None:
    now = [0.0]
    service = HeartbeatService(db, interval=timedelta(seconds=3), ttl=timedelta(seconds=15),
                               clock=lambda: now[0])
    await service.start()
    unreachable = Database("postgresql+asyncpg://vivavoce@127.0.0.1:9/none")
    try:
        held = await take_lease(db, await _interview(db), service.instance_id)
        assert held is not None
        reported: list[Lease] = []
        service.watch(held, reported.append)
        service.db = unreachable  # the database goes away
        now[0] = 14.0
        await service.beat()
        assert reported == []  # within the TTL: nobody can have taken it yet
        now[0] = 15.0
        await service.beat()
        # Past the TTL another instance may own it: stop driving it.
        assert reported == [held]
    finally:
        service.db = db
        await service.stop()
        await unreachable.dispose()


def test_the_ttl_must_outlast_missed_beats(db: Database) -> None:
    with pytest.raises(ValueError, match="TTL"):
        HeartbeatService(db, interval=timedelta(seconds=5), ttl=timedelta(seconds=10))


async def test_a_handover_is_asked_and_the_holder_releases_it(db: Database) -> None:
    """B asks A (live) to hand over: A's lease is lost while the row still names A, A's
    release (after its relay stored its last turns) frees it, then B takes it."""
    interview_id = await _interview(db)
    a, b = await _instance(db), await _instance(db)
    held = await take_lease(db, interview_id, a)
    assert held == Lease(interview_id, a, 1)
    holder = await leases.lease_holder(db, interview_id)
    assert (holder.owner_id, holder.generation) == (a, 1) and holder.heartbeat_at is not None
    assert holder.expires_in(utcnow()) > timedelta(0)
    assert await leases.ask_handover(db, interview_id, holder)
    # A compare-and-set: a second ask on the same view changes nothing.
    assert not await leases.ask_handover(db, interview_id, holder)
    assert await _owner(db, interview_id) == (a, 2)
    assert await leases.lost_leases(db, [held]) == [held]
    # Still A's until A releases: B cannot take it without a takeover.
    assert await take_lease(db, interview_id, b) is None
    assert await leases.release_lease(db, held)
    assert await _owner(db, interview_id) == (None, 2)
    assert await take_lease(db, interview_id, b) == Lease(interview_id, b, 3)


async def test_a_release_never_frees_a_newer_relay_of_the_same_process(db: Database) -> None:
    interview_id = await _interview(db)
    a = await _instance(db)
    old = await take_lease(db, interview_id, a)
    new = await take_lease(db, interview_id, a)
    assert old is not None and new is not None
    assert not await leases.release_lease(db, old, held_here={new.generation})
    assert await _owner(db, interview_id) == (a, new.generation)
    assert await leases.release_lease(db, new)
    assert await _owner(db, interview_id) == (None, new.generation)


async def test_the_holder_of_a_crashed_instance_expires(db: Database) -> None:
    interview_id = await _interview(db)
    crashed = await _instance(db, silent_for=TTL + timedelta(seconds=1))
    assert await take_lease(db, interview_id, crashed, now=utcnow() - TTL * 2) is not None
    holder = await leases.lease_holder(db, interview_id)
    assert holder.owner_id == crashed and holder.expires_in(utcnow()) <= timedelta(0)
    nobody = await leases.lease_holder(db, await _interview(db))
    assert nobody.owner_id is None and nobody.expires_in(utcnow()) == timedelta(0)
    with pytest.raises(store.InterviewNotFound):
        await leases.lease_holder(db, "no-such-interview")


async def test_a_link_reads_its_interview_and_holder_in_one_query(db: Database) -> None:
    assert await leases.interview_and_holder(db, "no-such-interview") is None
    interview_id = await _interview(db)
    a = await _instance(db)
    found = await leases.interview_and_holder(db, interview_id)
    assert found is not None
    assert (found[0].id, found[0].status) == (interview_id, "live")
    assert found[1] == leases.Holder(None, 0, None)
    held = await take_lease(db, interview_id, a)
    assert held is not None
    found = await leases.interview_and_holder(db, interview_id)
    assert found is not None
    assert found[1] == await leases.lease_holder(db, interview_id)
    assert (found[1].owner_id, found[1].generation) == (a, 1)
    assert found[1].heartbeat_at is not None
