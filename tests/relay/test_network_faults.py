"""/voice over real sockets when the network to OpenAI fails: the fake's TCP drop
without a close frame, its stall and its slow handshake (docs/fake-openai.md).

What the relay does about each today (docs/reliability.md): a drop ends the attempt as
``network_unreachable`` (retryable on a link); a stall shorter than the keepalive is
ridden out with nothing lost; a handshake slower than the connect timeout fails the
start as ``upstream_timeout``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import (
    link_interview,
    only_interview,
    stored,
    stored_kept_after_network_loss,
)
from tests.relay.voice_client import CONTEXT, VoiceClient, voice_client

MakeApp = Callable[..., RunningApp]


async def _greeted(client: VoiceClient, app: RunningApp) -> None:
    """The greeting has been heard to its end."""
    while not (await client.until("ai_transcription"))["is_final"]:
        pass
    await client.until("usage")
    fake = app.fake.fake  # type: ignore[union-attr]
    await client.until_audio(sum(r.audio_ms for r in fake.last_session.responses))
    await client.played_everything()


async def test_a_drop_ends_an_open_interview_as_network_unreachable(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    async with voice_client(app.voice_url()) as client:
        started = await client.start()
        await _greeted(client, app)
        fake.config.drop_after_events = 0  # TCP aborted at the fake's next event
        with contextlib.suppress(ConnectionClosed):
            await client.say()
        error = await client.until("error")
        ended = await client.until("interview_ended")
        await client.until_closed()
    assert fake.last_session.dropped
    assert (error["fatal"], error["details"]) == (True, {"cause": "network_unreachable"})
    assert ended["reason"] == "network_unreachable"
    interview, turns = await stored(app.database_url, started["interview_id"])
    assert (interview.status, interview.error_code) == ("failed", "network_unreachable")
    assert turns and turns[0].speaker == "interviewer"


async def test_a_drop_leaves_a_link_interview_resumable(make_app_server: MakeApp) -> None:
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    interview_id, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as client:
        await client.start({})
        await _greeted(client, app)
        fake.config.drop_after_events = 0
        with contextlib.suppress(ConnectionClosed):
            await client.say()
        error = await client.until("error")
        ended = await client.until("interview_ended")
        await client.until_closed()
    await stored_kept_after_network_loss(app.database_url, interview_id, error, ended)


async def test_a_stall_shorter_than_the_keepalive_loses_nothing(make_app_server: MakeApp) -> None:
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    async with voice_client(app.voice_url()) as client:
        started = await client.start()
        await _greeted(client, app)
        # The fake goes silent and stops reading at its next event (the candidate's
        # speech_started): the rest of the answer waits in TCP buffers meanwhile.
        fake.config.stall_s = 1.0
        fake.config.stall_after_events = 0
        await client.say()
        answer = await client.until("student_transcription")
        while not (await client.until("ai_transcription"))["is_final"]:
            pass
        await client.until("usage")
        await client.send_json({"type": "end_interview"})
        ended = await client.until("interview_ended")
        await client.until_closed()
    [stall] = fake.last_session.stalls
    assert stall.ended is not None
    assert answer["is_final"] and answer["text"]
    assert ended["reason"] == "candidate_ended"
    interview, turns = await stored(app.database_url, started["interview_id"])
    assert interview.status == "ended"
    assert [t.speaker for t in turns] == ["interviewer", "candidate", "interviewer"]
    assert turns[1].text == answer["text"]


async def test_a_slow_handshake_within_the_connect_timeout_starts(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server()
    app.fake.fake.config.handshake_delay_s = 0.5  # type: ignore[union-attr]
    async with voice_client(app.voice_url()) as client:
        await client.start()
        await _greeted(client, app)
        await client.send_json({"type": "end_interview"})
        assert (await client.until("interview_ended"))["reason"] == "candidate_ended"


async def test_a_handshake_slower_than_the_connect_timeout_fails_the_start(
    make_app_server: MakeApp,
) -> None:
    from vivavoce.realtime.relay import RelayLimits
    from vivavoce.runtime import RuntimeOptions

    app = make_app_server(options=RuntimeOptions(relay_limits=RelayLimits(connect_timeout_s=0.2)))
    config = app.fake.fake.config  # type: ignore[union-attr]
    config.handshake_delay_s = 60  # until lowered below
    async with voice_client(app.voice_url()) as client:
        await client.send_json({"type": "start_interview", "candidateContext": CONTEXT})
        error = await client.until("error")
        await client.until_closed()
    config.handshake_delay_s = 0  # let the fake's side finish
    assert (error["code"], error["details"], error["fatal"]) == (
        "upstream_timeout", {"cause": "network_unreachable"}, True)
    assert (await only_interview(app.database_url)).status == "failed"
