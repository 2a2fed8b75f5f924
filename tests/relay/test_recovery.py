"""Transparent upstream recovery over real sockets: the fake drops the Realtime TCP
connection (no close frame) or closes it, and /voice keeps the browser's socket, opens a
new session seeded with the turns so far, says ``interview_resumed``, and the interview
goes on; repeated drops end retryably after the bound; a fatal close never loops
(interview/recovery.py, realtime/relay.py; docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from websockets.exceptions import ConnectionClosed

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import link_interview, stored, stored_kept_after_network_loss
from tests.relay.voice_client import VoiceClient, voice_client
from vivavoce.interview.time_limits import Limits
from vivavoce.runtime import RuntimeOptions

MakeApp = Callable[..., RunningApp]


async def _wait_for(check: Callable[[], Awaitable[bool] | bool]) -> None:
    for _ in range(1000):  # a hang guard, not a timing assertion
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def _heard_reply(client: VoiceClient, app: RunningApp) -> str:
    """One interviewer reply heard to its end; its final text."""
    while not (message := await client.until("ai_transcription"))["is_final"]:
        pass
    await client.until("usage")
    fake = app.fake.fake  # type: ignore[union-attr]
    await client.until_audio(sum(r.audio_ms for r in fake.last_session.responses))
    await client.played_everything()
    return str(message["text"])


async def test_a_tcp_drop_is_recovered_on_the_same_browser_socket(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    interview_id, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as client:
        await client.start({})
        await _heard_reply(client, app)
        fake.config.drops_left = 1  # the first session drops, the next one lives
        fake.config.drop_after_events = 0  # at the fake's next event (the candidate speaks)
        await client.say()
        resumed = await client.until("interview_resumed")
        assert (resumed["interview_id"], resumed["attempt"]) == (interview_id, 1)
        assert fake.sessions[0].dropped and len(fake.sessions) == 2
        # The new session says something first (what the drop cut short), then the
        # candidate is heard again: audio flows both ways.
        await _heard_reply(client, app)
        await client.say()
        await client.until("student_transcription")
        await _heard_reply(client, app)
        await client.send_json({"type": "end_interview"})
        ended = await client.until("interview_ended")
        await client.until_closed()
    assert ended["reason"] == "candidate_ended"
    assert "error" not in client.types()
    new = fake.sessions[1]
    assert new.session_config["instructions"] == fake.sessions[0].session_config["instructions"]
    assert "conversation.item.create" in new.events_received  # seeded with the turns
    assert new.audio_bytes_received > 0

    async def all_stored() -> bool:
        interview, _ = await stored(app.database_url, interview_id)
        return interview.status == "ended"

    await _wait_for(all_stored)
    interview, turns = await stored(app.database_url, interview_id)
    assert [t.sequence for t in turns] == list(range(len(turns)))  # once each, in order
    assert len({(t.speaker, t.text) for t in turns}) == len(turns)
    assert turns[0].speaker == "interviewer"
    # The greeting and the last reply at least (what was said after the drop may be cut
    # by the candidate's audio kept meanwhile, which is forwarded once configured).
    assert turns[-1].speaker == "interviewer" and "candidate" in [t.speaker for t in turns]


async def test_repeated_drops_end_retryably_after_the_bound(make_app_server: MakeApp) -> None:
    app = make_app_server(options=RuntimeOptions(interview_limits=Limits(
        recovery_backoff_s=(0.1,))))
    fake = app.fake.fake  # type: ignore[union-attr]
    interview_id, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as client:
        await client.start({})
        await _heard_reply(client, app)
        fake.config.drop_after_events = 0  # every session drops at its first event
        with contextlib.suppress(ConnectionClosed):
            await client.say()
        error = await client.until("error")
        ended = await client.until("interview_ended")
        await client.until_closed()
    assert "interview_resumed" not in client.types()
    assert len(fake.sessions) == 4  # the first, then three recoveries, then no more
    assert all(s.dropped for s in fake.sessions)
    turns = await stored_kept_after_network_loss(app.database_url, interview_id, error, ended)
    assert [t.sequence for t in turns] == list(range(len(turns)))


async def test_a_fatal_close_is_never_retried(make_app_server: MakeApp) -> None:
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    _, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as client:
        await client.start({})
        await _heard_reply(client, app)
        fake.config.close_code = 3000
        fake.config.close_reason = "invalid_request_error.invalid_api_key"
        fake.config.close_after_events = 0
        with contextlib.suppress(ConnectionClosed):
            await client.say()
        error = await client.until("error")
        await client.until("interview_ended")
        await client.until_closed()
    assert error["cause"] == "key_invalid"
    assert "interview_resumed" not in client.types()
    assert len(fake.sessions) == 1


async def test_the_sixty_minute_limit_is_recovered(make_app_server: MakeApp) -> None:
    # A long backoff leaves the test time to lift the limit before the new session opens.
    app = make_app_server(options=RuntimeOptions(interview_limits=Limits(
        recovery_backoff_s=(2.0,))))
    fake = app.fake.fake  # type: ignore[union-attr]
    async with voice_client(app.voice_url()) as client:
        await client.start()
        await _heard_reply(client, app)
        fake.config.max_session_s = 0.0  # OpenAI's cap, reached now
        await _wait_for(lambda: fake.sessions[0].close_code is not None)
        fake.config.max_session_s = 3600.0
        resumed = await client.until("interview_resumed")
        await _heard_reply(client, app)
        await client.send_json({"type": "end_interview"})
        ended = await client.until("interview_ended")
    assert resumed["attempt"] == 1
    assert fake.sessions[0].close_code == 1001 and len(fake.sessions) == 2
    assert ended["reason"] == "candidate_ended"
