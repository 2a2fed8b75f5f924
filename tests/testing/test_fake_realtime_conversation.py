"""A Realtime conversation with the fake through the SDK's realtime client and real sockets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.fixtures.fake_openai import RunningFake
from tests.testing.conftest import SdkFactory
from tests.testing.realtime_helpers import Collected, collect_until, collect_until_closed
from vivavoce.interview.session import RESUME_INSTRUCTIONS
from vivavoce.testing.fake_audio import BYTES_PER_MS, tone
from vivavoce.testing.realtime_ws import MAX_DURATION_REASON
from vivavoce.testing.scenarios import scenario_key

_SESSION = {
    "type": "realtime",
    "instructions": "You are an interviewer.",
    "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"},
                        "turn_detection": {"type": "server_vad", "silence_duration_ms": 300}}},
}


def _chunks(pcm: bytes, ms: int = 40) -> list[str]:
    step = ms * BYTES_PER_MS
    return [base64.b64encode(pcm[i : i + step]).decode() for i in range(0, len(pcm), step)]


async def test_spoken_turn_gets_a_full_reply(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    fake_openai.fake.config.transcripts = ["I led the migration to PostgreSQL."]
    speech = b"\x00" * (400 * BYTES_PER_MS) + tone(900) + b"\x00" * (400 * BYTES_PER_MS)
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session=_SESSION)  # type: ignore[arg-type]
        await collect_until(conn, "session.updated")
        for chunk in _chunks(speech):
            await conn.input_audio_buffer.append(audio=chunk)
        got = await collect_until(conn, "response.done")
    order = got.types
    for earlier, later in [
        ("input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped"),
        ("input_audio_buffer.speech_stopped", "input_audio_buffer.committed"),
        ("input_audio_buffer.committed", "conversation.item.input_audio_transcription.completed"),
        ("response.created", "response.output_audio.delta"),
        ("response.output_audio.delta", "response.output_audio.done"),
        ("response.output_audio_transcript.done", "response.done"),
    ]:
        assert order.index(earlier) < order.index(later), (earlier, later)
    user_item = got.first("input_audio_buffer.committed").item_id
    assistant_added = [e for e in got.of("conversation.item.added") if e.item.role == "assistant"][0]
    assert assistant_added.previous_item_id == user_item
    heard = got.first("conversation.item.input_audio_transcription.completed").transcript
    assert heard == "I led the migration to PostgreSQL."
    reply = got.first("response.output_audio_transcript.done").transcript
    assert reply.startswith("Hello, and thank you for joining")  # the default first line
    audio = b"".join(base64.b64decode(e.delta) for e in got.of("response.output_audio.delta"))
    usage = got.first("response.done").response.usage
    assert usage.output_token_details.audio_tokens == len(audio) // BYTES_PER_MS // 50
    record = fake_openai.fake.last_session
    assert record.audio_bytes_received == len(speech)
    assert record.user_transcripts == [heard]
    assert [(r.status, r.text) for r in record.responses] == [("completed", reply)]
    assert record.events_received.count("input_audio_buffer.append") == len(_chunks(speech))


def _reply_shape(got: Collected) -> list[str]:
    """The kinds of event of one reply, in the order each first appears."""
    kinds = got.types
    return list(dict.fromkeys(kinds[kinds.index("response.created"):]))


async def test_a_resumed_session_continues_instead_of_greeting_again(
    fake_openai: RunningFake, sdk: SdkFactory
) -> None:
    fake_openai.fake.config.transcripts = ["I study physics and build telescopes."]
    speech = tone(900) + b"\x00" * (400 * BYTES_PER_MS)
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session=_SESSION)  # type: ignore[arg-type]
        await collect_until(conn, "session.updated")
        await conn.response.create()
        first = await collect_until(conn, "rate_limits.updated")
        for chunk in _chunks(speech):
            await conn.input_audio_buffer.append(audio=chunk)
        second = await collect_until(conn, "rate_limits.updated")
    greeting = first.first("response.output_audio_transcript.done").transcript
    question = second.first("response.output_audio_transcript.done").transcript
    answered = "My telescope mount kept slipping, so I redesigned the gears."

    # The connection dropped; a new session is given the conversation so far the way the
    # relay seeds a resumed interview, then asked for its first reply.
    earlier = [("assistant", greeting), ("user", "I study physics and build telescopes."),
               ("assistant", question), ("user", answered)]
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session=_SESSION)  # type: ignore[arg-type]
        await collect_until(conn, "session.updated")
        previous = "root"
        for n, (role, text) in enumerate(earlier):
            part = {"type": "input_text" if role == "user" else "output_text", "text": text}
            await conn.conversation.item.create(
                previous_item_id=previous,
                item={"id": f"vvhist_{n}", "type": "message", "role": role,
                      "content": [part]},
            )
            previous = f"vvhist_{n}"
        seeded = await collect_until(conn, "conversation.item.done", count=len(earlier))
        await conn.response.create(response={"instructions": RESUME_INSTRUCTIONS})
        resumed = await collect_until(conn, "rate_limits.updated", into=seeded)
    welcome = resumed.first("response.output_audio_transcript.done").transcript
    assert greeting.startswith("Hello, and thank you for joining")
    assert welcome.startswith("Welcome back") and "thank you for joining" not in welcome.lower()
    # It goes on to a question not asked before the drop.
    tail = welcome.split(". ", 1)[1]
    assert tail and tail not in greeting and tail not in question
    # The same events and shapes as any reply; the seeded items kept their ids and order.
    assert _reply_shape(resumed) == _reply_shape(first)
    added = [e for e in resumed.of("conversation.item.added") if e.item.role == "assistant"]
    assert [e.item.id for e in added] == ["vvhist_0", "vvhist_2", added[-1].item.id]
    assert added[-1].previous_item_id == "vvhist_3"
    record = fake_openai.fake.last_session
    assert [r.text for r in record.responses] == [welcome]
    assert record.events_received.count("conversation.item.create") == len(earlier)


async def test_paced_reply_can_be_cancelled_and_truncated_within_sent_audio(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    # Real-time pacing: the reply takes seconds, so the cancel lands mid-audio.
    fake_openai.fake.config.audio_pace = 1.0
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        await collect_until(conn, "session.created")
        await conn.response.create()
        got = await collect_until(conn, "response.output_audio.delta")
        await conn.response.cancel()
        await collect_until(conn, "response.done", into=got)
        done = got.first("response.done").response
        assert done.status == "cancelled"
        item_id = got.first("response.output_audio.delta").item_id
        sent_ms = sum(len(base64.b64decode(e.delta)) for e in got.of("response.output_audio.delta")) // BYTES_PER_MS
        full_ms = len(fake_openai.fake.last_session.responses[0].text) * fake_openai.fake.config.speech_ms_per_char
        assert 0 < sent_ms < full_ms
        await conn.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=sent_ms + 500)
        error = (await collect_until(conn, "error")).first("error").error
        assert error.message == f"Audio content of {sent_ms}ms is already shorter than {sent_ms + 500}ms"
        await conn.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=sent_ms)
        truncated = (await collect_until(conn, "conversation.item.truncated")).first("conversation.item.truncated")
        assert truncated.audio_end_ms == sent_ms


async def test_echo_mode_returns_each_chunk(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    fake_openai.fake.config.echo = True
    chunks = _chunks(tone(200), ms=20)
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        await collect_until(conn, "session.created")
        for chunk in chunks:
            await conn.input_audio_buffer.append(audio=chunk)
        got = await collect_until(conn, "response.output_audio.delta", count=len(chunks))
    assert [e.delta for e in got.of("response.output_audio.delta")] == chunks


async def test_bad_client_messages_get_errors_and_the_session_stays_open(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        await collect_until(conn, "session.created")
        await conn.send_raw("{nope")
        await conn.send_raw(json.dumps({"type": "teleport", "event_id": "evt_9"}))
        await conn.send_raw(json.dumps({"type": "input_audio_buffer.append", "audio": "***"}))
        await conn.send_raw(b"\x01\x02")
        got = await collect_until(conn, "error", count=4)
        codes = [e.error.code for e in got.of("error")]
        assert codes == ["invalid_json", "invalid_value", "invalid_value", "invalid_type"]
        assert got.of("error")[1].error.event_id == "evt_9"
        await conn.session.update(session={"type": "realtime"})
        await collect_until(conn, "session.updated")


async def test_ratelimited_realtime_reply_is_an_error_event(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    async with sdk(scenario_key("ratelimited")).realtime.connect(model="gpt-realtime") as conn:
        await collect_until(conn, "session.created")
        await conn.response.create()
        error = (await collect_until(conn, "error")).first("error").error
        assert (error.type, error.code) == ("tokens", "rate_limit_exceeded")
        await conn.session.update(session={"type": "realtime"})
        await collect_until(conn, "session.updated")


@pytest.mark.parametrize(("code", "reason"), [(1011, "Internal server error"), (3000, "server_error.server_error"), (1001, "Going away")])
async def test_close_after_n_events(fake_openai: RunningFake, sdk: SdkFactory, code: int, reason: str) -> None:
    config = fake_openai.fake.config
    config.close_after_events, config.close_code, config.close_reason = 3, code, reason
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        with contextlib.suppress(ConnectionClosed):
            await conn.response.create()
        got = await collect_until_closed(conn)
    assert got.types == ["session.created", "response.created", "response.output_item.added"]
    assert (got.close_code, got.close_reason) == (code, reason)
    assert fake_openai.fake.last_session.close_code == code


async def test_injected_error_is_recoverable(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    fake_openai.fake.config.error_after_events = 1
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        got = await collect_until(conn, "error")
        assert got.types == ["session.created", "error"]
        assert got.first("error").error.code == "server_error"
        await conn.session.update(session={"type": "realtime"})
        await collect_until(conn, "session.updated")


async def test_timed_close_and_max_duration(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    config = fake_openai.fake.config
    config.close_after_s, config.close_code, config.close_reason = 0.1, 1011, "keepalive ping timeout"
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        got = await collect_until_closed(conn)
    assert (got.close_code, got.close_reason) == (1011, "keepalive ping timeout")
    config.close_after_s, config.max_session_s = None, 0.1
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        got = await collect_until_closed(conn)
    assert (got.close_code, got.close_reason) == (1001, MAX_DURATION_REASON)
    assert got.types == ["session.created"]


async def test_delays_before_session_events_still_deliver_them(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    config = fake_openai.fake.config
    config.session_created_delay_s = config.session_updated_delay_s = 0.05
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={"type": "realtime", "instructions": "x"})
        got = await collect_until(conn, "session.updated")
    assert got.types == ["session.created", "session.updated"]


async def test_client_drop_is_recorded(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    fake_openai.fake.config.audio_pace = 1.0
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-realtime") as conn:
        await conn.response.create()
        await collect_until(conn, "response.output_audio.delta")
    record = fake_openai.fake.last_session
    for _ in range(200):  # the server notices the close asynchronously
        if record.closed_by:
            break
        await asyncio.sleep(0.01)
    assert (record.closed_by, record.close_code) == ("client", 1000)
