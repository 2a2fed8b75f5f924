"""Over real sockets (client ↔ app ↔ fake OpenAI): a configuration failure does not burn
the candidate's link, nor does OpenAI's own passing trouble (an outage, a session dropped
mid-interview, a start that does not finish in time); deleting a live interview stops
its relay.

Key rotation is done the way an operator does it: the key source changes and
``POST /api/admin/reload`` runs the doctor against the fake, then switches the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.fixtures.app_server import RunningApp
from tests.fixtures.database import ADMIN_TOKEN, make_runtime
from tests.relay.stored import link_interview, only_interview, stored
from tests.relay.voice_client import CONTEXT, VoiceClient, voice_client
from vivavoce.config import load_settings
from vivavoce.interview.errors import CANDIDATE_MESSAGES
from vivavoce.keys import fingerprint
from vivavoce.reload import set_settings_loader
from vivavoce.store.database import Database
from vivavoce.testing.scenarios import scenario_key

MakeApp = Callable[..., RunningApp]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
GOOD = scenario_key("ok", "rotated")


async def _rotate_key(app: RunningApp, tmp_path: Path, key: str) -> None:
    """The operator fixes the key and reloads (doctor first, then the switch)."""
    env = {
        "VIVAVOCE_DATA_DIR": str(tmp_path / "reload"),
        "OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": app.fake.base_url,  # type: ignore[union-attr]
        "VIVAVOCE_SIMULATOR": "0",
    }
    set_settings_loader(app.runtime, lambda: load_settings(env, env_file=None))
    async with httpx.AsyncClient(base_url=app.server.http_url, timeout=30) as http:
        reloaded = await http.post("/api/admin/reload", headers=ADMIN)
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["applied"] is True, reloaded.text
    assert app.runtime.api_key == key


async def _operator_view(app: RunningApp, interview_id: str) -> tuple[dict[str, Any],
                                                                         dict[str, Any]]:
    """What the operator's API shows: the interview, and its line in the list."""
    async with httpx.AsyncClient(base_url=app.server.http_url, timeout=30) as http:
        one = await http.get(f"/api/interviews/{interview_id}", headers=ADMIN)
        listed = await http.get("/api/interviews", headers=ADMIN)
    assert one.status_code == 200 and listed.status_code == 200
    [line] = [i for i in listed.json()["items"] if i["id"] == interview_id]
    return one.json(), line


async def _hold_a_conversation(client: VoiceClient) -> None:
    """The interviewer speaks, the candidate answers and is transcribed, the interviewer
    replies, then the candidate ends it."""
    await client.until("usage")
    await client.say()
    await client.until("student_transcription")
    await client.until("usage")
    await client.send_json({"type": "end_interview"})
    ended = await client.until("interview_ended")
    assert ended["reason"] == "candidate_ended"
    await client.until_closed()


async def _wait_for(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(500):  # a hang guard, not a timing assertion
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def test_link_that_failed_on_an_invalid_key_starts_after_the_key_is_fixed(
    make_app_server: MakeApp, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="vivavoce")
    bad = scenario_key("invalid")
    app = make_app_server(api_key=bad)
    fake = app.fake.fake  # type: ignore[union-attr]
    interview_id, token = await link_interview(app)

    async with voice_client(app.voice_url(token)) as client:
        await client.send_json({"type": "start_interview"})
        error = await client.until("error")
        ended = await client.until("interview_ended")
        await client.until_closed()
    # The candidate is told plainly, and that the link works later.
    assert (error["fatal"], error["code"], error["cause"]) == (True, "invalid_api_key",
                                                                "key_invalid")
    assert error["message"] == CANDIDATE_MESSAGES["retry_later"]
    assert bad not in error["message"]
    assert (ended["reason"], ended["retryable"]) == ("key_invalid", True)
    # The operator's line has the cause and the hint's subject; the key only masked.
    [line] = [r.getMessage() for r in caplog.records
              if r.name == "vivavoce.relay" and "cannot go on" in r.getMessage()]
    assert "cause=key_invalid" in line and "link=kept" in line
    assert all(bad not in r.getMessage() for r in caplog.records)
    # Not burnt: still unstarted, with why the attempt failed, in the API and the list.
    interview, turns = await stored(app.database_url, interview_id)
    assert (interview.status, interview.end_reason, interview.error_code) == (
        "created", "key_invalid", "invalid_api_key")
    assert interview.started_at is None and interview.ended_at is None and turns == []
    one, line_in_list = await _operator_view(app, interview_id)
    assert (one["status"], one["end_reason"], one["error_code"]) == (
        "created", "key_invalid", "invalid_api_key")
    assert (line_in_list["status"], line_in_list["end_reason"]) == ("created", "key_invalid")

    await _rotate_key(app, tmp_path, GOOD)
    async with voice_client(app.voice_url(token)) as client:
        started = await client.start({})
        assert started["interview_id"] == interview_id and started["resumed"] is False
        await _hold_a_conversation(client)
    assert fake.last_session.key_fingerprint == fingerprint(GOOD)
    interview, turns = await stored(app.database_url, interview_id)
    assert (interview.status, interview.end_reason, interview.error_code) == (
        "ended", "candidate_ended", None)
    assert [t.speaker for t in turns] == ["interviewer", "candidate", "interviewer"]


async def test_key_revoked_mid_interview_resumes_on_the_same_link_after_the_fix(
    make_app_server: MakeApp, tmp_path: Path,
) -> None:
    first_key = scenario_key("ok", "about-to-be-revoked")
    app = make_app_server(api_key=first_key)
    fake = app.fake.fake  # type: ignore[union-attr]
    interview_id, token = await link_interview(app)

    async with voice_client(app.voice_url(token)) as client:
        await client.start({})
        await client.until("usage")
        await client.say()
        await client.until("student_transcription")
        await client.until("usage")
        # The key is revoked: OpenAI ends the live session the way it does for a bad key.
        fake.config.close_code = 3000
        fake.config.close_reason = "invalid_request_error.invalid_api_key"
        fake.config.close_after_events = 0
        with contextlib.suppress(ConnectionClosed):  # the close may beat the last frames
            await client.say()
        error = await client.until("error")
        ended = await client.until("interview_ended")
        await client.until_closed()
    revoked_session = fake.last_session
    assert revoked_session.close_code == 3000
    fake.config.close_after_events = None
    assert (error["fatal"], error["cause"]) == (True, "key_invalid")
    assert error["message"] == CANDIDATE_MESSAGES["retry_resume"]
    assert (ended["reason"], ended["retryable"]) == ("key_invalid", True)

    # Resumable exactly as after a drop: live, what was said stored, the reason recorded.
    async def settled() -> bool:
        interview, turns = await stored(app.database_url, interview_id)
        return interview.end_reason == "key_invalid" and len(turns) >= 3

    await _wait_for(settled)
    interview, before = await stored(app.database_url, interview_id)
    assert (interview.status, interview.error_code) == ("live", "invalid_api_key")
    one, line = await _operator_view(app, interview_id)
    assert (one["status"], one["end_reason"], line["end_reason"]) == (
        "live", "key_invalid", "key_invalid")

    await _rotate_key(app, tmp_path, GOOD)
    async with voice_client(app.voice_url(token)) as client:
        started = await client.start({})
        assert started["resumed"] is True and started["interview_id"] == interview_id
        await _hold_a_conversation(client)
    resumed_session = fake.last_session
    assert resumed_session is not revoked_session
    assert resumed_session.key_fingerprint == fingerprint(GOOD)
    # The new session was given the conversation so far (the turns with words: a reply
    # cut off before its first word is stored, but there is nothing in it to give).
    said = [t for t in before if t.text.strip()]
    assert resumed_session.events_received.count("conversation.item.create") == len(said)
    interview, turns = await stored(app.database_url, interview_id)
    assert (interview.status, interview.end_reason, interview.error_code) == (
        "ended", "candidate_ended", None)
    assert [t.sequence for t in turns] == list(range(len(turns)))
    assert len(turns) > len(before)


async def test_open_interview_with_an_invalid_key_still_fails(make_app_server: MakeApp) -> None:
    app = make_app_server(api_key=scenario_key("invalid"))
    async with voice_client(app.voice_url()) as client:
        await client.send_json({"type": "start_interview", "candidateContext": CONTEXT})
        error = await client.until("error")
        ended = await client.until("interview_ended")
        await client.until_closed()
    assert error["message"] == CANDIDATE_MESSAGES["service_unavailable"]
    assert "retryable" not in ended
    interview = await only_interview(app.database_url)
    assert (interview.status, interview.end_reason, interview.error_code) == (
        "failed", "key_invalid", "invalid_api_key")


# ------------------------------------------------------------ OpenAI's own trouble


async def _attempt_kept(client: VoiceClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a failed attempt to its end: the error and interview_ended, both retryable."""
    error = await client.until("error")
    ended = await client.until("interview_ended")
    await client.until_closed()
    assert (error["fatal"], error["retryable"], ended["retryable"]) == (True, True, True)
    assert ended["reason"] == error["cause"]
    return error, ended


async def test_link_that_met_an_openai_outage_starts_once_it_is_over(
    make_app_server: MakeApp, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="vivavoce")
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    interview_id, token = await link_interview(app)
    fake.config.force_scenario = "outage"  # OpenAI accepts the socket, then closes 1011
    async with voice_client(app.voice_url(token)) as client:
        await client.send_json({"type": "start_interview"})
        error, ended = await _attempt_kept(client)
    assert (error["code"], error["cause"]) == ("openai_unavailable", "openai_unavailable")
    assert error["message"] == CANDIDATE_MESSAGES["retry_soon"]
    assert fake.last_session.close_code == 1011
    [line] = [r.getMessage() for r in caplog.records
              if r.name == "vivavoce.relay" and "cannot go on" in r.getMessage()]
    assert "cause=openai_unavailable" in line and "link=kept, can start on a later try" in line
    interview, turns = await stored(app.database_url, interview_id)
    assert (interview.status, interview.end_reason, interview.error_code) == (
        "created", "openai_unavailable", "openai_unavailable")
    assert interview.started_at is None and turns == []
    one, listed = await _operator_view(app, interview_id)
    assert (one["status"], one["end_reason"], listed["end_reason"]) == (
        "created", "openai_unavailable", "openai_unavailable")

    # The outage is over: the same link starts the interview, nothing changed here.
    fake.config.force_scenario = None
    async with voice_client(app.voice_url(token)) as client:
        started = await client.start({})
        assert started["interview_id"] == interview_id and started["resumed"] is False
        await _hold_a_conversation(client)
    interview, turns = await stored(app.database_url, interview_id)
    assert (interview.status, interview.end_reason, interview.error_code) == (
        "ended", "candidate_ended", None)
    assert [t.speaker for t in turns] == ["interviewer", "candidate", "interviewer"]


async def test_openai_dropping_a_live_interview_leaves_it_resumable(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    interview_id, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as client:
        await client.start({})
        await client.until("usage")
        await client.say()
        await client.until("student_transcription")
        await client.until("usage")
        # OpenAI drops the session with a server error (1011) at its next event.
        fake.config.close_after_events = 0
        with contextlib.suppress(ConnectionClosed):  # the close may beat the last frames
            await client.say()
        error, ended = await _attempt_kept(client)
    dropped = fake.last_session
    assert (dropped.closed_by, dropped.close_code) == ("server", 1011)
    fake.config.close_after_events = None
    assert error["cause"] == "openai_unavailable"
    assert error["message"] == CANDIDATE_MESSAGES["retry_soon_resume"]

    async def settled() -> bool:
        interview, turns = await stored(app.database_url, interview_id)
        return interview.end_reason == "openai_unavailable" and len(turns) >= 3

    await _wait_for(settled)
    interview, before = await stored(app.database_url, interview_id)
    assert (interview.status, interview.error_code) == ("live", "openai_unavailable")
    assert interview.ended_at is None

    async with voice_client(app.voice_url(token)) as client:
        started = await client.start({})
        assert started["resumed"] is True and started["interview_id"] == interview_id
        await _hold_a_conversation(client)
    resumed = fake.last_session
    assert resumed is not dropped
    # A reply cut before its first word is heard has no text and is not replayed: on a
    # loaded machine the greeting can be (the candidate speaks while it starts playing),
    # so only the candidate's answer is sure to have text here.
    said = [t for t in before if t.text.strip()]
    assert any(t.speaker == "candidate" for t in said)
    assert resumed.events_received.count("conversation.item.create") == len(said) >= 1
    interview, turns = await stored(app.database_url, interview_id)
    assert (interview.status, interview.end_reason, interview.error_code) == (
        "ended", "candidate_ended", None)
    assert [t.sequence for t in turns] == list(range(len(turns)))
    assert len(turns) > len(before)


@pytest.mark.parametrize(
    ("slow", "cause"),
    [("connect", "network_unreachable"), ("configure", "openai_unavailable")],
    ids=["socket-not-opened-in-time", "session-not-configured-in-time"],
)
async def test_a_start_that_does_not_finish_in_time_keeps_the_link(
    make_app_server: MakeApp, slow: str, cause: str,
) -> None:
    from vivavoce.interview.session import Limits
    from vivavoce.realtime.relay import RelayLimits
    from vivavoce.runtime import RuntimeOptions

    app = make_app_server(options=RuntimeOptions(
        interview_limits=Limits(start_timeout_s=1.0),
        relay_limits=RelayLimits(tick_s=0.05, connect_timeout_s=0.3)))
    fake = app.fake.fake  # type: ignore[union-attr]
    interview_id, token = await link_interview(app)
    if slow == "connect":
        # The upgrade itself is answered late: the connect timeout (0.3 s) fires.
        fake.config.force_scenario = "slow"
        fake.config.slow_delay_s = 1.0
    else:
        # The socket opens, but OpenAI does not configure the session within the start
        # timeout (1 s).
        fake.config.session_updated_delay_s = 3.0
    async with voice_client(app.voice_url(token)) as client:
        await client.send_json({"type": "start_interview"})
        error, _ = await _attempt_kept(client)
    assert (error["code"], error["cause"]) == ("upstream_timeout", cause)
    assert error["message"] == CANDIDATE_MESSAGES["retry_soon"]
    interview, _ = await stored(app.database_url, interview_id)
    assert (interview.status, interview.end_reason, interview.error_code) == (
        "created", cause, "upstream_timeout")

    fake.config.force_scenario = None
    fake.config.session_updated_delay_s = 0.0
    async with voice_client(app.voice_url(token)) as client:
        started = await client.start({})
        assert started["interview_id"] == interview_id and started["resumed"] is False
        await _hold_a_conversation(client)
    interview, _ = await stored(app.database_url, interview_id)
    assert (interview.status, interview.end_reason) == ("ended", "candidate_ended")


async def test_open_interview_meeting_an_outage_still_fails(make_app_server: MakeApp) -> None:
    app = make_app_server(api_key=scenario_key("outage"))
    async with voice_client(app.voice_url()) as client:
        await client.send_json({"type": "start_interview", "candidateContext": CONTEXT})
        error = await client.until("error")
        ended = await client.until("interview_ended")
        await client.until_closed()
    assert error["cause"] == "openai_unavailable"
    assert "retryable" not in error and "retryable" not in ended
    assert "same link" not in error["message"]
    interview = await only_interview(app.database_url)
    assert (interview.status, interview.end_reason) == ("failed", "openai_unavailable")


async def test_a_refused_session_configuration_still_uses_the_link_up(
    make_app_server: MakeApp,
) -> None:
    # OpenAI refuses our session.update (an unknown voice): no catalogue cause, so the
    # interview cannot be started right by trying again; it ends as failed.
    app = make_app_server(VIVAVOCE_VOICE="nobody")
    interview_id, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as client:
        await client.send_json({"type": "start_interview"})
        error = await client.until("error")
        ended = await client.until("interview_ended")
        await client.until_closed()
    assert (error["fatal"], error["cause"]) == (True, None)
    assert "retryable" not in error and "retryable" not in ended
    interview, _ = await stored(app.database_url, interview_id)
    assert interview.status == "failed"


async def test_abandoned_link_after_a_failed_attempt_ends_as_failed(
    migrated_database_url: str, make_settings: Callable[..., Any],
) -> None:
    # A live link whose key was revoked, or whose session OpenAI dropped, and whose
    # candidate never came back: the sweeper ends it with the recorded cause, not as an
    # ordinary drop.
    from datetime import UTC, datetime

    from vivavoce.interview.candidate import CandidateContext, InterviewSettings
    from vivavoce.store import interviews as store
    from vivavoce.web.voice import end_abandoned_interviews

    db = Database(migrated_database_url)
    try:
        settings = InterviewSettings(model="gpt-realtime", voice="marin", max_duration_s=600)
        ids = []
        async with db.session() as s:
            for name in ("Revoked", "Outage", "Dropped"):
                created = await store.create_interview(
                    s, candidate=CandidateContext(name=name), settings=settings)
                await store.mark_live(s, created.id, at=datetime.now(UTC))
                ids.append(created.id)
            await store.record_failed_attempt(s, ids[0], reason="key_invalid",
                                              error_code="invalid_api_key")
            await store.record_failed_attempt(s, ids[1], reason="openai_unavailable",
                                              error_code="openai_unavailable")
        runtime = make_runtime(make_settings(), db)
        assert await end_abandoned_interviews(runtime, now=time.time()) == 0
        assert await end_abandoned_interviews(runtime, now=time.time() + 7200) == 3
        async with db.session() as s:
            revoked = await store.get_interview(s, ids[0])
            outage = await store.get_interview(s, ids[1])
            dropped = await store.get_interview(s, ids[2])
    finally:
        await db.dispose()
    assert revoked is not None and outage is not None and dropped is not None
    assert (revoked.status, revoked.end_reason, revoked.error_code) == (
        "failed", "key_invalid", "invalid_api_key")
    assert (outage.status, outage.end_reason, outage.error_code) == (
        "failed", "openai_unavailable", "openai_unavailable")
    assert (dropped.status, dropped.end_reason, dropped.error_code) == (
        "ended", "browser_disconnected", None)


# ----------------------------------------------------------------- forced delete


@pytest.mark.parametrize("link", [True, False], ids=["link", "open"])
async def test_forced_delete_stops_the_live_relay_first(
    make_app_server: MakeApp, caplog: pytest.LogCaptureFixture, link: bool,
) -> None:
    caplog.set_level(logging.INFO, logger="vivavoce")
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    token = None
    if link:
        _, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as client:
        started = await client.start({} if link else CONTEXT)
        interview_id = started["interview_id"]
        await client.until("usage")

        async def live() -> bool:
            interview, _ = await stored(app.database_url, interview_id)
            return bool(interview.status == "live")

        await _wait_for(live)
        async with httpx.AsyncClient(base_url=app.server.http_url, timeout=30) as http:
            refused = await http.delete(f"/api/interviews/{interview_id}", headers=ADMIN)
            assert refused.status_code == 409
            deleting = asyncio.ensure_future(
                http.delete(f"/api/interviews/{interview_id}?force=true", headers=ADMIN))
            ended = await client.until("interview_ended")
            assert await client.until_closed() == 1000
            deleted = await deleting
    assert deleted.status_code == 204
    assert (ended["reason"], ended["interview_id"]) == ("removed_by_operator", interview_id)
    assert "removed" in ended["message"] and "retryable" not in ended
    # The upstream socket was closed by us, not left to OpenAI.
    session = fake.last_session
    assert (session.closed_by, session.close_code) == ("client", 1000)
    # The rows are gone and stay gone: no write was attempted after the removal.
    db = Database(app.database_url)
    try:
        from vivavoce.store import interviews as store

        async with db.session() as s:
            assert await store.get_interview(s, interview_id) is None
            assert await store.list_turns(s, interview_id) == []
    finally:
        await db.dispose()
    relay_lines = [r.getMessage() for r in caplog.records if r.name == "vivavoce.relay"]
    assert not [m for m in relay_lines if "could not store" in m or "no longer exists" in m]
    assert interview_id not in app.runtime.open_interviews
    # The link finds nothing now.
    if token is not None:
        async with voice_client(app.voice_url(token)) as client:
            await client.send_json({"type": "start_interview"})
            error = await client.until("error")
        assert error["code"] == "interview_not_found"


async def test_deleted_on_another_instance_the_relay_ends_cleanly_at_its_next_write(
    make_app_server: MakeApp, caplog: pytest.LogCaptureFixture, tmp_path: Path,
) -> None:
    caplog.set_level(logging.INFO, logger="vivavoce")
    shared = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    serving = make_app_server(database_url=shared)
    other = make_app_server(database_url=shared)
    fake = serving.fake.fake  # type: ignore[union-attr]
    async with voice_client(serving.voice_url()) as client:
        started = await client.start()
        interview_id = started["interview_id"]
        await client.until("usage")
        # The operator deletes it through an instance that does not serve it.
        async with httpx.AsyncClient(base_url=other.server.http_url, timeout=30) as http:
            deleted = await http.delete(f"/api/interviews/{interview_id}?force=true",
                                        headers=ADMIN)
        assert deleted.status_code == 204
        # The candidate answers: storing that turn finds no interview.
        with contextlib.suppress(ConnectionClosed):
            await client.say()
        ended = await client.until("interview_ended")
        assert await client.until_closed() == 1000
    assert (ended["reason"], ended["interview_id"]) == ("removed_by_operator", interview_id)
    session = fake.last_session
    assert (session.closed_by, session.close_code) == ("client", 1000)
    relay_lines = [r for r in caplog.records if r.name == "vivavoce.relay"]
    gone = [r for r in relay_lines if "no longer exists" in r.getMessage()]
    assert len(gone) == 1 and interview_id in gone[0].getMessage()
    assert gone[0].levelno == logging.WARNING
    assert not [r for r in relay_lines if "could not store" in r.getMessage()
                or r.levelno >= logging.ERROR]
    # Nothing was re-created by the refused write.
    assert await stored_or_none(shared, interview_id) == (None, [])


async def stored_or_none(url: str, interview_id: str) -> tuple[Any, list[Any]]:
    from vivavoce.store import interviews as store

    db = Database(url)
    try:
        async with db.session() as s:
            return (await store.get_interview(s, interview_id),
                    await store.list_turns(s, interview_id))
    finally:
        await db.dispose()
