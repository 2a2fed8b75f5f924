"""The audio-delta fast path: the same result as ``json.loads`` for the API's shape, and
``None`` (the full parse) for any other valid JSON; then the same through real sockets."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from openai import AsyncOpenAI

from tests.fixtures.fake_openai import RunningFake
from vivavoce.realtime import upstream as upstream_module
from vivavoce.realtime.audio_delta import parse_audio_delta
from vivavoce.realtime.upstream import open_upstream
from vivavoce.testing.scenarios import scenario_key

AUDIO = base64.b64encode(bytes(range(256)) * 8).decode()  # "+", "/" and "=" included
EVENT: dict[str, Any] = {
    "type": "response.output_audio.delta", "event_id": "event_Abc-123_x",
    "response_id": "resp_1", "item_id": "item_2", "output_index": 0, "content_index": 12,
    "delta": AUDIO,
}


def compact(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


@pytest.mark.parametrize("raw", [
    compact(EVENT),
    json.dumps(EVENT).encode(),  # ", " and ": "
    json.dumps(EVENT, separators=(", ", ":")).encode(),
    compact({**EVENT, "delta": ""}),
    compact({**EVENT, "event_id": "", "output_index": 123456789}),
])
def test_the_apis_shape_parses_exactly_as_json_loads(raw: bytes) -> None:
    parsed = parse_audio_delta(raw)
    assert parsed == json.loads(raw)
    assert parsed is not None
    assert list(parsed) == list(json.loads(raw))  # the same key order too
    assert all(type(parsed[k]) is type(v) for k, v in json.loads(raw).items())


def _other_order(event: dict[str, Any]) -> bytes:
    return compact(dict(reversed(event.items())))


ODD_BUT_VALID: list[tuple[str, bytes]] = [
    ("another key order", _other_order(EVENT)),
    ("delta not last", compact({k: EVENT[k] for k in ("type", "event_id", "response_id",
                                                     "item_id", "delta", "output_index",
                                                     "content_index")})),
    ("an escaped slash in the base64",
     compact(EVENT).replace(b"/", b"\\/")),
    ("a unicode escape in the item id", compact(EVENT).replace(b'"item_2"', b'"\\u0069tem_2"')),
    ("an escaped quote in the event id",
     compact(EVENT).replace(b'"event_Abc-123_x"', b'"event_\\"x"')),
    ("a non-ASCII item id", json.dumps({**EVENT, "item_id": "item_é"},
                                       ensure_ascii=False).encode()),
    ("a non-ASCII delta", json.dumps({**EVENT, "delta": "AAé="}, ensure_ascii=False).encode()),
    ("an extra member", compact({**EVENT, "extra": {"nested": [1, 2]}})),
    ("a missing member", compact({k: v for k, v in EVENT.items() if k != "response_id"})),
    ("a float index", compact(EVENT).replace(b'"content_index":12', b'"content_index":1.2e1')),
    ("a negative index", compact(EVENT).replace(b'"output_index":0', b'"output_index":-1')),
    ("a null item id", compact({**EVENT, "item_id": None})),
    ("a number as delta", compact({**EVENT, "delta": 5})),
    ("whitespace inside", b"{ " + compact(EVENT)[1:]),
    ("a newline after a comma", compact(EVENT).replace(b'",', b'",\n')),
    ("trailing whitespace", compact(EVENT) + b" \n"),
    ("a duplicate delta", compact(EVENT)[:-1] + b',"delta":"AAAA"}'),
    ("another type", compact({**EVENT, "type": "response.output_audio_transcript.delta"})),
    ("another type with that prefix",
     compact({**EVENT, "type": "response.output_audio.delta.x"})),
]


@pytest.mark.parametrize(("why", "raw"), ODD_BUT_VALID, ids=[w for w, _ in ODD_BUT_VALID])
def test_any_other_valid_json_falls_back_to_the_full_parse(why: str, raw: bytes) -> None:
    json.loads(raw)  # valid JSON, every one of them
    assert parse_audio_delta(raw) is None, why


@pytest.mark.parametrize("raw", [
    compact(EVENT)[:-1],  # cut short
    compact(EVENT)[:-2] + b"}",  # the delta's closing quote missing
    compact(EVENT)[:200],
    compact(EVENT).replace(b'"delta":"', b'"delta":'),
    b"",
    b"[]",
])
def test_broken_json_is_left_to_the_full_parse(raw: bytes) -> None:
    assert parse_audio_delta(raw) is None


def client(fake: RunningFake) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=scenario_key("ok"), base_url=fake.base_url, max_retries=0)


async def _echoed(fake: RunningFake, monkeypatch: pytest.MonkeyPatch,
                  wire_json: Callable[[dict[str, Any]], str] | None
                  ) -> tuple[list[dict[str, Any]], list[Any]]:
    """Three chunks through the fake's ECHO mode: the deltas received, and what the
    upstream adapter handed to ``json.loads`` (the slow path) meanwhile."""
    fake.fake.config.echo = True
    fake.fake.config.wire_json = wire_json
    full_parses: list[Any] = []

    class CountingJson:
        @staticmethod
        def loads(raw: Any) -> Any:
            full_parses.append(raw)
            return json.loads(raw)

    sdk = client(fake)
    upstream = await open_upstream(sdk, "gpt-realtime")
    try:
        events = upstream.events()
        assert (await anext(events))["type"] == "session.created"
        monkeypatch.setattr(upstream_module, "json", CountingJson)
        chunks = [base64.b64encode(bytes([n]) * 960 + b"\xff\xfe").decode() for n in range(3)]
        for chunk in chunks:
            await upstream.append_audio(chunk)
        deltas = [await anext(events) for _ in chunks]
        assert [d["delta"] for d in deltas] == chunks
    finally:
        await upstream.close()
        await sdk.close()
    return deltas, full_parses


async def test_the_fakes_deltas_take_the_fast_path_over_a_socket(
    fake_openai: RunningFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    deltas, full_parses = await _echoed(fake_openai, monkeypatch, None)
    assert full_parses == []  # OpenAI's compact shape: no full parse
    assert deltas[0] == {"type": "response.output_audio.delta", "event_id": deltas[0]["event_id"],
                         "response_id": "resp_echo", "item_id": "item_echo",
                         "output_index": 0, "content_index": 0, "delta": deltas[0]["delta"]}
    assert deltas[0]["event_id"].startswith("event_")


@pytest.mark.parametrize("style", ["reversed", "escaped"])
async def test_odd_json_over_a_socket_takes_the_full_parse_with_the_same_result(
    fake_openai: RunningFake, monkeypatch: pytest.MonkeyPatch, style: str
) -> None:
    def reversed_keys(event: dict[str, Any]) -> str:
        return json.dumps(dict(reversed(event.items())))

    def escaped(event: dict[str, Any]) -> str:
        # Every "/" and the ids' first letter escaped: valid JSON, the same values.
        text = json.dumps(event, separators=(",", ":")).replace("/", "\\/")
        return text.replace('"item_echo"', '"\\u0069tem_echo"')

    deltas, full_parses = await _echoed(fake_openai, monkeypatch,
                                        reversed_keys if style == "reversed" else escaped)
    assert len(full_parses) == 3  # each delta parsed in full
    assert [d["item_id"] for d in deltas] == ["item_echo"] * 3
    assert [(d["type"], d["output_index"], d["content_index"]) for d in deltas] == [
        ("response.output_audio.delta", 0, 0)] * 3
