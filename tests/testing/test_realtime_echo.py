"""The ECHO mode's fast path gives what the general path gives, byte for byte, and
steps aside for anything that is not an append in the relay's shape."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from tests.fixtures.fake_openai import RunningFake
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.realtime_conversation import Conversation
from vivavoce.testing.realtime_echo import base64_size
from vivavoce.testing.scenarios import scenario_key
from vivavoce.testing.servers import TransportExposingProtocol

HEAD = '{"type":"input_audio_buffer.append","audio":"'  # as realtime/upstream.py writes it


def relays_append(pcm: bytes) -> str:
    return HEAD + base64.b64encode(pcm).decode() + '"}'


def both_ways(message: str) -> tuple[str | None, list[dict[str, Any]], Conversation, Conversation]:
    """``message`` through the fast path of one echo conversation and the general
    path of another."""
    fast, general = Conversation("gpt-realtime", FakeConfig(echo=True)), \
        Conversation("gpt-realtime", FakeConfig(echo=True))
    return fast.echo_fast(message), general.receive(message), fast, general


def compact(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))  # what realtime_ws writes


@given(st.binary(max_size=4000))
def test_the_fast_path_writes_the_general_paths_bytes_for_the_relays_appends(pcm: bytes) -> None:
    text, events, fast, general = both_ways(relays_append(pcm))
    assert text is not None
    (event,) = events
    assert event["type"] == "response.output_audio.delta"
    # Only the event id is fresh each time: with the same id, the same bytes.
    assert text == compact({**event, "event_id": json.loads(text)["event_id"]})
    assert re.fullmatch(r"event_[0-9a-f]{22}", json.loads(text)["event_id"])  # OpenAI's shape
    assert fast.events_received == general.events_received == ["input_audio_buffer.append"]
    assert fast.audio_bytes_received == general.audio_bytes_received == len(pcm)


@given(st.text(max_size=200))
def test_any_text_in_the_audio_either_takes_the_general_path_or_gives_its_event(audio: str) -> None:
    text, events, fast, general = both_ways(HEAD + audio + '"}')
    if text is None:
        assert fast.events_received == [] and fast.audio_bytes_received == 0
    else:
        (event,) = events
        assert text == compact({**event, "event_id": json.loads(text)["event_id"]})
        assert fast.audio_bytes_received == general.audio_bytes_received


def decoded_size(text: str) -> int | None:
    """What the general path's check says: the decoded size, or None (refused)."""
    try:
        return len(base64.b64decode(text, validate=True))
    except ValueError:  # binascii.Error is one
        return None


B64_LETTERS = st.text(alphabet="ABCab019+/=-_ \n\u00e9", max_size=24)


@given(st.one_of(B64_LETTERS, st.text(max_size=40)))
def test_the_fast_base64_check_takes_nothing_the_general_path_refuses(text: str) -> None:
    size = base64_size(text)
    if size is not None:
        assert size == decoded_size(text)


@given(st.binary(max_size=600))
def test_the_fast_base64_check_takes_every_encoding_of_audio(pcm: bytes) -> None:
    assert base64_size(base64.b64encode(pcm).decode()) == len(pcm)


AUDIO = base64.b64encode(bytes(range(256))).decode()  # "+" and "/" among its letters


@pytest.mark.parametrize("message", [
    json.dumps({"type": "input_audio_buffer.append", "audio": AUDIO}),  # spaces
    compact({"audio": AUDIO, "type": "input_audio_buffer.append"}),  # another order
    compact({"type": "input_audio_buffer.append", "audio": AUDIO, "event_id": "evt_1"}),
    compact({"type": "input_audio_buffer.append", "event_id": "evt_1", "audio": AUDIO}),
    HEAD + AUDIO.replace("/", "\\/") + '"}',  # an escape json.loads reads
    HEAD + "***" + '"}',  # invalid base64: the general path's error event
    HEAD + AUDIO[:-1] + '"}',  # truncated base64
    HEAD + "A===" + '"}',  # three "=": the decode's check refuses it
    HEAD + "AB=" + '"}',  # not whole 4-letter groups
    HEAD + "AB=C" + '"}',  # "=" inside
    HEAD + "AB\u00e9C" + '"}',  # a letter outside ASCII
    HEAD + AUDIO + '"} ',
    compact({"type": "input_audio_buffer.commit"}),
    compact({"type": "response.create"}),
    "{nope",
])
def test_anything_else_takes_the_general_path(message: str) -> None:
    text, _, fast, _ = both_ways(message)
    assert text is None
    assert fast.events_received == [] and fast.audio_bytes_received == 0


def test_without_echo_mode_an_append_is_audio_for_the_vad() -> None:
    conversation = Conversation("gpt-realtime", FakeConfig(echo=False))
    assert conversation.echo_fast(relays_append(bytes(1920))) is None
    assert conversation.events_received == []


async def _exchange(fake: RunningFake, messages: list[str], replies: int,
                    answered_at_once: list[int] | None = None) -> list[str]:
    """Send ``messages``, return the first ``replies``; ``answered_at_once`` gets how many
    the server's protocol answered itself (``servers.FastText``)."""
    headers = {"Authorization": f"Bearer {scenario_key('ok')}"}
    async with connect(f"{fake.ws_url}?model=gpt-realtime", additional_headers=headers,
                       compression=None) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        for message in messages:
            await ws.send(message)
        got = [str(await ws.recv()) for _ in range(replies)]
        if answered_at_once is not None:
            answered_at_once.append(sum(_fast_texts(fake)))
        return got


def _fast_texts(fake: RunningFake) -> list[int]:
    """How many messages each open connection's protocol answered itself."""
    return [protocol.fast_text.answered for protocol in fake.server.server.server_state.connections
            if isinstance(protocol, TransportExposingProtocol) and protocol.fast_text is not None]


async def test_over_a_socket_both_paths_send_the_same_delta(fake_openai: RunningFake) -> None:
    fake_openai.fake.config.echo = True
    pcm = bytes(range(256)) * 7
    relays = relays_append(pcm)
    spaced = json.dumps({"type": "input_audio_buffer.append",
                         "audio": base64.b64encode(pcm).decode()})
    answered: list[int] = []
    fast, general = await _exchange(fake_openai, [relays, spaced], 2, answered)
    assert answered == [1]  # the relay's append, from the protocol's read callback
    assert fast == compact({**json.loads(general), "event_id": json.loads(fast)["event_id"]})
    (record,) = fake_openai.fake.sessions
    assert record.events_received == ["input_audio_buffer.append"] * 2
    assert record.events_sent == ["session.created"] + ["response.output_audio.delta"] * 2
    assert record.audio_bytes_received == 2 * len(pcm)


async def test_the_fast_path_counts_its_deltas_for_the_event_count_faults(
    fake_openai: RunningFake,
) -> None:
    fake_openai.fake.config.echo = True
    fake_openai.fake.config.close_after_events = 3  # session.created + two deltas
    answered: list[int] = []
    replies = await _exchange(fake_openai, [relays_append(bytes(960))] * 5, 2, answered)
    assert answered == [0]  # a fault to apply after each event: the receive loop's path
    assert [json.loads(r)["type"] for r in replies] == ["response.output_audio.delta"] * 2
    (record,) = fake_openai.fake.sessions
    assert record.close_code == 1011 and record.closed_by == "server"
    assert record.events_sent == ["session.created"] + ["response.output_audio.delta"] * 2


async def test_an_echo_never_overtakes_what_an_earlier_message_is_still_causing(
    fake_openai: RunningFake,
) -> None:
    fake_openai.fake.config.echo = True
    fake_openai.fake.config.session_updated_delay_s = 0.5  # the session is busy meanwhile
    headers = {"Authorization": f"Bearer {scenario_key('ok')}"}
    async with connect(f"{fake_openai.ws_url}?model=gpt-realtime", additional_headers=headers,
                       compression=None) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send(compact({"type": "session.update", "session": {"type": "realtime"}}))
        (record,) = fake_openai.fake.sessions
        while "session.update" not in record.events_received:  # taken by the receive loop
            await asyncio.sleep(0.01)
        await ws.send(relays_append(bytes(960)))  # arrives while session.updated waits
        replies = [json.loads(await ws.recv())["type"] for _ in range(2)]
        answered = sum(_fast_texts(fake_openai))
    assert replies == ["session.updated", "response.output_audio.delta"]
    assert answered == 0
