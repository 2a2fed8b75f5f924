"""Stalls noticed on both ends (issue 13): the server drops a browser that stops
answering WebSocket pings, keeps a link's interview resumable, and sends a browser that
comes back the turns it missed (``missed_turns``, docs/protocol.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import link_interview, stored
from tests.relay.test_voice import final_ai_text, reply_audio_ms
from tests.relay.voice_client import voice_client

MakeApp = Callable[..., RunningApp]


async def test_link_that_stops_answering_pings_is_dropped_and_stays_resumable(
    make_app_server: MakeApp,
) -> None:
    # uvicorn's keepalive (5 s / 10 s in production, short here): a frozen tab or a dead
    # path answers no ping. (An open interview ends then: test_voice.py.)
    app = make_app_server(ws_ping_interval=0.2)
    fake = app.fake.fake  # type: ignore[union-attr]
    interview_id, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as client:
        started = await client.start({})
        assert started["resumed"] is False
        await final_ai_text(client)
        await client.until("usage")
        await client.until_audio(reply_audio_ms(app))
        record = fake.last_session
        client.ws.transport.pause_reading()  # pings go unanswered from here on
        for _ in range(1000):  # hang guard only: the server gives up on the browser
            if record.close_code is not None and interview_id not in app.runtime.open_interviews:
                break
            await asyncio.sleep(0.01)
        assert record.closed_by == "client"
        client.ws.transport.resume_reading()  # now read the server's close frame
        assert await client.until_closed() == 1011
        assert client.ws.close_reason == "keepalive ping timeout"
    interview, turns = await stored(app.database_url, interview_id)
    assert interview.status == "live" and [t.speaker for t in turns] == ["interviewer"]

    async with voice_client(app.voice_url(token)) as client:
        again = await client.start({})
        assert again["resumed"] is True and again["interview_id"] == interview_id
        await client.send_json({"type": "end_interview"})
        await client.until_closed()


async def test_missed_turns_are_sent_to_a_browser_that_comes_back(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server()
    interview_id, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as client:
        await client.start({})
        greeting_id = ""
        while not greeting_id:
            message = await client.until("ai_transcription")
            if message["is_final"]:
                greeting_id = str(message["item_id"])
        await client.until("usage")
        await client.until_audio(reply_audio_ms(app))
        await client.played_everything()
        # The candidate answers, then the connection stalls: the answer's transcript and
        # the interviewer's reply are stored but never read by this browser.
        await client.say()
        for _ in range(1000):  # hang guard only
            _, turns = await stored(app.database_url, interview_id)
            if len(turns) == 3:
                break
            await asyncio.sleep(0.01)
        assert [t.speaker for t in turns] == ["interviewer", "candidate", "interviewer"]
        client.ws.transport.abort()
    for _ in range(1000):  # hang guard only: the old relay has let go
        if interview_id not in app.runtime.open_interviews:
            break
        await asyncio.sleep(0.01)

    async with voice_client(app.voice_url(token)) as client:
        await client.send_json({"type": "start_interview", "seen_item_ids": [greeting_id]})
        started = await client.until("interview_started")
        assert started["resumed"] is True
        missed = await client.until("missed_turns")
        assert missed["turns"] == [
            {"sequence": t.sequence, "speaker": t.speaker, "text": t.text, "item_id": t.item_id}
            for t in turns[1:]
        ]
        # Right after interview_started: nothing of the new session came before it.
        index = client.types().index("interview_started")
        assert client.types()[index + 1] == "missed_turns"
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
