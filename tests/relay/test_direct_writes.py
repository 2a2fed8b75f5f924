"""Audio written by the caller when nothing is queued before it (realtime/outbox.py's
``write_audio_now``): the AI's to the browser through the socket's synchronous write
(web/ws_protocol.py, offered in the scope's extensions), the candidate's to OpenAI
through ``Upstream.append_audio_now``. Through real sockets: a whole interview, every
frame arriving, some of them written that way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.relay.stored import stored
from tests.relay.test_voice import MakeApp, conversation
from tests.relay.voice_client import BYTES_PER_MS, voice_client
from vivavoce.realtime.upstream import Upstream
from vivavoce.web.ws_protocol import VoiceWebSocketProtocol


async def test_audio_both_ways_is_written_without_waking_the_writers(
        make_app_server: MakeApp, monkeypatch: pytest.MonkeyPatch) -> None:
    written = {"to_browser": 0, "to_openai": 0, "to_openai_by_the_writer": 0}
    to_browser = VoiceWebSocketProtocol.send_bytes_now
    to_openai = Upstream.append_audio_now
    by_the_writer = Upstream.append_audio

    def counted_to_browser(self: VoiceWebSocketProtocol, data: bytes) -> bool:
        done = to_browser(self, data)
        written["to_browser"] += done
        return done

    def counted_to_openai(self: Upstream, audio_b64: str) -> bool:
        done = to_openai(self, audio_b64)
        written["to_openai"] += done
        return done

    async def counted_by_the_writer(self: Upstream, audio_b64: str) -> None:
        written["to_openai_by_the_writer"] += 1  # its own append_audio_now counts too
        await by_the_writer(self, audio_b64)

    monkeypatch.setattr(VoiceWebSocketProtocol, "send_bytes_now", counted_to_browser)
    monkeypatch.setattr(Upstream, "append_audio", counted_by_the_writer)
    monkeypatch.setattr(Upstream, "append_audio_now", counted_to_openai)
    app = make_app_server()
    async with voice_client(app.voice_url()) as client:
        started = await client.start()
        await conversation(client, app)
    assert client.closed_code == 1000
    record: Any = app.fake.fake.last_session  # type: ignore[union-attr]
    # Everything arrived, and some of it the direct way (here the fake's AI audio comes
    # with transcript deltas, which go through the writer: audio put behind them waits
    # its turn in the lane, as it must).
    assert record.audio_bytes_received >= 1600 * BYTES_PER_MS
    assert client.audio_frames > 0 and len(client.audio) % 2 == 0
    assert 0 < written["to_browser"] <= client.audio_frames
    assert written["to_openai"] - written["to_openai_by_the_writer"] >= 16
    interview, turns = await stored(app.database_url, started["interview_id"])
    assert (interview.status, interview.end_reason) == ("ended", "candidate_ended")
    assert len(turns) == 3
