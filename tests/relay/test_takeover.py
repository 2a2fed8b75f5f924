"""Takeover across instances waits for the old owner's last turns (web/voice_leases.py):
two apps (two processes' worth: their own heartbeat, engine and loop) on one PostgreSQL,
relaying to the fake through real sockets.

The link is live on A, mid-way through the interviewer's line; the candidate opens it on
B. B asks A to hand over; A's heartbeat finds its lease lost, A tells its browser
``replaced`` and stores the line cut short; only then does B take the lease, read the
turns and seed its new session with them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.fixtures.app_server import RunningApp
from tests.fixtures.database import _postgres_database
from tests.relay.stored import link_interview, stored
from tests.relay.voice_client import voice_client
from vivavoce.testing.fake_voice_lines import default_responder

pytestmark = [pytest.mark.postgres]

MakeApp = Callable[..., RunningApp]
# A long opening line (about 20 s of speech at the fake's 60 ms a character), played in
# real time, so the takeover happens while it is being said.
LONG_LINE = "Hello and welcome. " + "Let me tell you how this interview will go today. " * 7


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async for url in _postgres_database():
        yield url


async def test_the_new_owner_is_seeded_with_the_old_owner_s_last_turn(
    make_app_server: MakeApp, postgres_url: str
) -> None:
    a = make_app_server(database_url=postgres_url)
    b = make_app_server(database_url=postgres_url)
    assert a.runtime.heartbeat is not None and b.runtime.heartbeat is not None
    assert a.runtime.heartbeat.instance_id != b.runtime.heartbeat.instance_id
    fake = a.fake.fake  # type: ignore[union-attr]  # one fake serves both
    fake.config.audio_pace = 1.0
    views: list[Any] = []

    def responder(view: Any) -> str:
        views.append(view)
        return LONG_LINE if not view.earlier_turns else default_responder(view)

    fake.config.responder = responder
    interview_id, token = await link_interview(a)
    async with voice_client(a.voice_url(token)) as on_a:
        await on_a.start({})
        await on_a.until_audio(1500)  # the line is being said
        async with voice_client(b.voice_url(token)) as on_b:
            await on_b.send_json({"type": "start_interview"})
            replaced = await on_a.until("error")
            assert (replaced["code"], replaced["fatal"]) == ("replaced", True)
            await on_a.until_closed()
            started = await on_b.until("interview_started")
            # B resumed with what A stored as it stopped: the line, cut where it was.
            assert (started["interview_id"], started["resumed"]) == (interview_id, True)
            await on_b.until("ai_transcription")
            await on_b.send_json({"type": "end_interview"})
            await on_b.until_closed()
    _, turns = await stored(postgres_url, interview_id)
    first = turns[0]
    assert (first.speaker, first.state) == ("interviewer", "partial")
    assert first.text and LONG_LINE.startswith(first.text.rstrip(".…"))
    assert first.text != LONG_LINE.strip()
    (seeded,) = [v for v in views if v.earlier_turns]
    assert seeded.earlier_turns == (("assistant", first.text),)
    assert [t.sequence for t in turns] == list(range(len(turns)))
    # The lease ended with B's relay: nobody holds the interview now (released once the
    # relay is done, just after its socket closed).
    for _ in range(500):  # hang guard only
        interview, _ = await stored(postgres_url, interview_id)
        if interview.owner_id is None:
            break
        await asyncio.sleep(0.01)
    assert interview.owner_id is None and interview.status == "ended"
