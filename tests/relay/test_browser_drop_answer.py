"""An answer still being transcribed when the browser's connection dies, or when the
candidate ends the interview, is stored (the fault soak found it lost): the relay keeps
OpenAI's session for a short grace until the answer the candidate had started is
transcribed, then ends (realtime/relay.py ``_answer_heard``; docs/reliability.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import stored, stored_after_live
from tests.relay.voice_client import VoiceClient, voice_client

MakeApp = Callable[..., RunningApp]


async def _greeted(client: VoiceClient) -> None:
    while not (await client.until("ai_transcription"))["is_final"]:
        pass
    await client.until("usage")


@pytest.mark.parametrize("leaving", ["drop", "end_interview"])
async def test_an_answer_in_transcription_when_the_candidate_leaves_is_stored(
    make_app_server: MakeApp, leaving: str
) -> None:
    app = make_app_server()
    fake = app.fake.fake  # type: ignore[union-attr]
    fake.config.transcripts = ["I built the telemetry dashboard for our robots."]
    async with voice_client(app.voice_url()) as client:
        started = await client.start()
        await _greeted(client)
        # OpenAI hears the answer begin, then goes quiet for a moment before it commits
        # and transcribes it: the browser's connection dies in that moment.
        fake.config.stall_s = 0.5
        fake.config.stall_after_events = len(fake.last_session.events_sent) + 1
        await client.say()
        await client.until("student_speech_started")
        if leaving == "drop":
            client.ws.transport.abort()
        else:
            await client.send_json({"type": "end_interview"})
            await client.until_closed()
    # The turns are stored before the end is (stored_after_live waits for the end).
    await stored_after_live(app.database_url, started["interview_id"])
    interview, turns = await stored(app.database_url, started["interview_id"])
    reason = "browser_disconnected" if leaving == "drop" else "candidate_ended"
    assert (interview.status, interview.end_reason) == ("ended", reason)
    assert fake.last_session.transcripts_sent == fake.config.transcripts
    assert [(t.speaker, t.text) for t in turns if t.speaker == "candidate"] == [
        ("candidate", "I built the telemetry dashboard for our robots.")
    ]
    assert fake.last_session.close_code is not None  # and OpenAI's session was closed
