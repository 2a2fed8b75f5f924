"""Webhooks end to end through the database outbox, on SQLite and PostgreSQL: the store's
changes write events in their own transaction, the worker fans them out, signs them and
delivers them to a loopback receiver that fails first and then verifies each signature;
retries, the delivery log, "send again"; claims that never double a delivery."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from tests.evaluation.helpers import GOOD_TRANSCRIPT
from tests.fixtures.database import ApiClient
from tests.operator.webhook_receiver import Receiver, webhook_receiver
from vivavoce.evaluation.jobs import enqueue_evaluation, get_evaluation
from vivavoce.store import interviews as store
from vivavoce.store.database import Database
from vivavoce.store.models import WebhookDelivery, WebhookEvent, utcnow
from vivavoce.store.outbox import add_event
from vivavoce.webhook_secrets import generate_webhook_secret, webhook_secret_problem
from vivavoce.webhooks import deliveries
from vivavoce.webhooks.deliveries import Backoff
from vivavoce.webhooks.worker import WebhookOptions

SECRET = generate_webhook_secret()
FAST = WebhookOptions(poll_interval_s=0.05, backoff=Backoff(base_s=0.05, max_s=0.2))


async def _until(check: Any, what: str, timeout: float = 30.0) -> None:
    """Wait for a condition (not a timing assert: the deadline only bounds a hang)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _interview(client: ApiClient) -> str:
    created = await client.post(
        "/api/interviews",
        json={"candidate": {"name": "Ada", "major": "Computer Science", "year": "3rd year"}},
        headers=client.admin_headers,
    )
    assert created.status_code == 201
    return str(created.json()["id"])


async def _run_interview(db: Database, interview_id: str) -> None:
    now = datetime.now(UTC)
    async with db.session() as s:
        await store.mark_live(s, interview_id, at=now - timedelta(minutes=5))
        for sequence, (speaker, text) in enumerate(GOOD_TRANSCRIPT, start=1):
            await store.add_turn(s, interview_id=interview_id, sequence=sequence,
                                 speaker=speaker, text=text, started_at=now, ended_at=now,
                                 audio_ms=1000, item_id=f"item_{sequence}", state="complete")
        # A resumed interview goes live again: no second "started".
        await store.mark_live(s, interview_id, at=now)
        assert await store.mark_ended(s, interview_id, status="ended",
                                      reason="candidate_ended", at=now)
        assert not await store.mark_ended(s, interview_id, status="ended",
                                          reason="time_limit", at=now)


async def test_events_are_signed_retried_and_logged(
    make_api_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with webhook_receiver(SECRET, fail_first=1) as receiver:
        client: ApiClient = await make_api_client(
            VIVAVOCE_WEBHOOK_URL=receiver.url, VIVAVOCE_WEBHOOK_SECRET=SECRET,
            VIVAVOCE_PUBLIC_URL="https://talk.example.org/",
        )
        worker = client.runtime.webhooks
        assert worker is not None
        worker.options = FAST
        interview_id = await _interview(client)
        await _run_interview(client.runtime.db, interview_id)
        # The app's own evaluation worker (the simulator's model) evaluates it.
        await enqueue_evaluation(client.runtime.db, interview_id)
        await _until(lambda: len(receiver.verified()) >= 3, "three verified deliveries")
        await _check_deliveries(client, receiver, interview_id)
        await _check_log_and_resend(client, receiver)
    # The secret never reached a response or a log line.
    for record in caplog.records:
        assert SECRET not in record.getMessage()


async def _check_deliveries(client: ApiClient, receiver: Receiver, interview_id: str) -> None:
    everything = receiver.all()
    assert everything[0].answered == 503  # failed first ...
    verified = receiver.verified()
    assert all(r.answered == 204 for r in verified)  # ... then every signature checked
    by_type = {r.json["type"]: r for r in verified}
    assert set(by_type) == {"interview.started", "interview.ended", "evaluation.completed"}
    # The retry is the same message: same id (the receiver's idempotency key), same body.
    retried = [r for r in verified if r.headers["webhook-id"] == everything[0].headers["webhook-id"]]
    assert len(retried) == 1 and retried[0].body == everything[0].body
    for r in verified:
        assert set(r.json) == {"type", "timestamp", "data"}
        assert r.headers["webhook-id"].startswith("msg_")
        assert r.headers["webhook-signature"].startswith("v1,")
        data = r.json["data"]
        assert data["id"] == interview_id
        assert data["results_url"] == f"https://talk.example.org/results/{interview_id}"
    assert by_type["interview.started"].json["data"]["state"] == "live"
    ended = by_type["interview.ended"].json["data"]
    assert ended["state"] == "ended" and ended["end_reason"] == "candidate_ended"
    completed = by_type["evaluation.completed"].json["data"]
    assert completed["state"] == "ended" and completed["evaluation_status"] == "done"
    evaluation = await get_evaluation(client.runtime.db, interview_id=interview_id)
    assert evaluation is not None and evaluation.result is not None
    assert completed["scores"] == {
        "overall": evaluation.overall_score,
        "dimensions": {d["key"]: d["score"] for d in evaluation.result["dimensions"]},
    }
    assert len(completed["scores"]["dimensions"]) >= 3
    # Exactly one event of each kind in the outbox (a resume and a second end add none).
    async with client.runtime.db.session() as s:
        types = list(await s.scalars(select(WebhookEvent.type)))
    assert sorted(types) == ["evaluation.completed", "interview.ended", "interview.started"]


async def _check_log_and_resend(client: ApiClient, receiver: Receiver) -> None:
    await _until(lambda: True, "")
    log = await client.get("/api/webhooks/deliveries", headers=client.admin_headers)
    assert log.status_code == 200
    page = log.json()
    assert page["total"] == 3
    assert all(d["status"] == "delivered" for d in page["items"])
    first = min(page["items"], key=lambda d: d["id"])
    assert [a["status_code"] for a in first["attempt_log"]] == [503, 204]
    assert first["attempts"] == 2 and "503" in (first["attempt_log"][0]["error"] or "")
    listed = await client.get("/api/webhooks", headers=client.admin_headers)
    assert SECRET not in listed.text and SECRET not in log.text
    assert listed.json()["endpoints"][0]["secret"].startswith("whsec_…")
    before = len(receiver.verified())
    again = await client.post(f"/api/webhooks/deliveries/{first['id']}/resend",
                              headers=client.admin_headers)
    assert again.status_code == 200
    await _until(lambda: len(receiver.verified()) > before, "the resent delivery")
    assert receiver.verified()[-1].headers["webhook-id"] == first["event_id"]
    missing = await client.post("/api/webhooks/deliveries/999999/resend",
                                headers=client.admin_headers)
    assert missing.status_code == 404
    assert (await client.get("/api/webhooks/deliveries")).status_code == 401


async def test_endpoints_added_from_the_pages_get_their_own_signed_copy(
    make_api_client: Any,
) -> None:
    other = generate_webhook_secret()
    with webhook_receiver(other, fail_first=0) as receiver:
        client: ApiClient = await make_api_client(VIVAVOCE_SIMULATOR="0")
        assert client.runtime.webhooks is not None
        client.runtime.webhooks.options = FAST
        bad = await client.post("/api/webhooks/endpoints", headers=client.admin_headers,
                                json={"url": receiver.url, "secret": "not-a-secret"})
        assert bad.status_code == 422 and "not-a-secret" not in bad.text
        added = await client.post("/api/webhooks/endpoints", headers=client.admin_headers,
                                  json={"url": receiver.url, "secret": other,
                                        "description": "ATS"})
        assert added.status_code == 201 and other not in added.text
        interview_id = await _interview(client)
        async with client.runtime.db.session() as s:
            await store.mark_live(s, interview_id, at=datetime.now(UTC))
        await _until(lambda: len(receiver.verified()) >= 1, "a delivery to the added endpoint")
        body = receiver.verified()[0].json
        assert body["type"] == "interview.started"
        assert body["data"]["results_url"] is None  # no VIVAVOCE_PUBLIC_URL: no link
        gone = await client.delete(f"/api/webhooks/endpoints/{added.json()['id']}",
                                   headers=client.admin_headers)
        assert gone.status_code == 204


async def test_the_outbox_shares_the_changes_transaction(db: Database) -> None:
    """An event exists exactly when its change does."""
    from tests.evaluation.helpers import make_interview

    interview_id = await make_interview(db, GOOD_TRANSCRIPT, status="created")
    async with db.session() as s:
        with pytest.raises(store.InterviewNotFound):
            await store.mark_ended(s, "00000000-0000-0000-0000-000000000000",
                                   status="ended", reason="x", at=utcnow())
        add_event(s, "interview.started", {"id": interview_id}, interview_id=interview_id)
        await s.rollback()  # an event whose change was rolled back is gone with it
        count = await s.scalar(select(func.count()).select_from(WebhookEvent))
    assert count == 0


async def test_two_instances_never_double_a_delivery(db: Database) -> None:
    async with db.session() as s:
        for n in range(5):
            add_event(s, "interview.started", {"id": str(n)})
        await s.commit()
    url = "http://127.0.0.1:9/hook"
    fanned = await asyncio.gather(*(deliveries.fan_out(db, settings_url=url) for _ in range(4)))
    assert sum(fanned) == 5
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == 5
    lease = timedelta(minutes=1)
    claims = await asyncio.gather(*(deliveries.claim_next(db, lease=lease) for _ in range(8)))
    taken = [c.delivery_id for c in claims if c is not None]
    assert len(taken) == len(set(taken)) == 5
    # A sender whose lease ran out cannot record over the one that took over.
    old = min((c for c in claims if c is not None), key=lambda c: c.delivery_id)
    later = utcnow() + lease + timedelta(seconds=1)
    new = await deliveries.claim_next(db, lease=lease, now=later)
    assert new is not None and new.delivery_id == old.delivery_id
    assert new.attempts == old.attempts + 1
    assert await deliveries.record_attempt(db, old, status_code=204, error=None,
                                           backoff=Backoff()) is None
    assert await deliveries.record_attempt(db, new, status_code=204, error=None,
                                           backoff=Backoff(), now=later) == "delivered"


async def test_events_with_no_endpoint_go_nowhere_in_one_statement(db: Database) -> None:
    # A service without webhooks still records every start and end (an endpoint added
    # before the next fan-out gets them); with none there, the fan-out marks them all in
    # one UPDATE, each exactly once across instances, and an endpoint added afterwards
    # gets only later events.
    async with db.session() as s:
        for n in range(5):
            add_event(s, "interview.started", {"id": str(n)})
        await s.commit()
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement.lstrip().upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        fanned = await asyncio.gather(*(deliveries.fan_out(db, settings_url=None)
                                        for _ in range(3)))
        assert sum(fanned) == 5
        # One UPDATE per fan-out that found events, not one per event.
        assert len([q for q in statements if q.startswith("UPDATE")]) <= 3
        statements.clear()
        assert await deliveries.fan_out(db, settings_url=None) == 0
        # The usual poll, nothing new: one read, endpoints not even looked up.
        assert len(statements) == 1 and "WEBHOOK_ENDPOINTS" not in statements[0]
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(WebhookEvent)
                              .where(WebhookEvent.fanned_out.is_(False))) == 0
        add_event(s, "interview.ended", {"id": "later"})
        await s.commit()
    assert await deliveries.fan_out(db, settings_url="http://127.0.0.1:9/hook") == 1
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


async def test_backoff_grows_and_gives_up_after_a_day(db: Database) -> None:
    async with db.session() as s:
        add_event(s, "interview.ended", {"id": "x"})
        await s.commit()
    start = utcnow()
    await deliveries.fan_out(db, settings_url="http://127.0.0.1:9/hook", now=start)
    backoff = Backoff(base_s=10, max_s=3600)
    assert [backoff.delay(n).total_seconds() for n in (1, 2, 3, 10, 20)] == [10, 20, 40, 3600, 3600]
    now = start
    statuses = []
    while True:
        claim = await deliveries.claim_next(db, lease=timedelta(minutes=1), now=now)
        assert claim is not None
        status = await deliveries.record_attempt(db, claim, status_code=500, error="HTTP 500",
                                                 backoff=backoff, now=now)
        statuses.append(status)
        if status == "failed":
            break
        async with db.session() as s:
            due = await s.scalar(select(WebhookDelivery.next_attempt_at))
        assert due is not None and due > now
        now = due
    assert statuses[:-1] == ["pending"] * (len(statuses) - 1)
    assert timedelta(hours=22) < now - start <= timedelta(days=1)
    async with db.session() as s:
        delivery_id = await s.scalar(select(WebhookDelivery.id))
        assert delivery_id is not None
        assert await deliveries.send_again(s, delivery_id, now=now)
    again = await deliveries.claim_next(db, lease=timedelta(minutes=1), now=now)
    assert again is not None and again.give_up_at > now + timedelta(hours=23)


def test_secret_shapes() -> None:
    assert webhook_secret_problem(SECRET) is None
    assert webhook_secret_problem("whsec_short") is not None
    assert webhook_secret_problem("sk-not-a-webhook-secret") is not None
    assert webhook_secret_problem("whsec_" + "!" * 40) is not None


def test_the_settings_check_the_webhook_values(make_settings: Any) -> None:
    from pydantic import ValidationError

    settings = make_settings(VIVAVOCE_WEBHOOK_URL=" https://ats.example.org/hook ",
                             VIVAVOCE_WEBHOOK_SECRET=SECRET)
    assert settings.webhook_url == "https://ats.example.org/hook"
    assert settings.webhook_secret.get_secret_value() == SECRET
    assert make_settings(VIVAVOCE_WEBHOOK_URL="").webhook_url is None
    for env in ({"VIVAVOCE_WEBHOOK_URL": "ftp://x"}, {"VIVAVOCE_WEBHOOK_SECRET": "whsec_abc"},
                {"VIVAVOCE_DAILY_BUDGET_USD": "-1"}):
        with pytest.raises(ValidationError):
            make_settings(**env)
