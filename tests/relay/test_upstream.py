"""The upstream adapter over the SDK's realtime client, against the fake on a socket."""

from __future__ import annotations

import asyncio
import base64

import pytest
from openai import AsyncOpenAI

from tests.fixtures.fake_openai import RunningFake
from vivavoce.realtime.upstream import UpstreamConnectError, open_upstream
from vivavoce.testing.scenarios import scenario_key


def client(fake: RunningFake, scenario: str = "ok") -> AsyncOpenAI:
    return AsyncOpenAI(api_key=scenario_key(scenario), base_url=fake.base_url, max_retries=0)


async def test_events_as_dicts_audio_out_and_request_id(fake_openai: RunningFake) -> None:
    fake_openai.fake.config.echo = True
    sdk = client(fake_openai)
    upstream = await open_upstream(sdk, "gpt-realtime")
    try:
        assert upstream.request_id and upstream.request_id.startswith("req_")
        events = upstream.events()
        first = await anext(events)
        assert first["type"] == "session.created"
        audio = base64.b64encode(bytes(960)).decode()
        await upstream.append_audio(audio)
        echoed = await anext(events)
        assert (echoed["type"], echoed["delta"]) == ("response.output_audio.delta", audio)
    finally:
        await upstream.close()
        await upstream.close()  # idempotent
        await sdk.close()
    record = fake_openai.fake.last_session
    assert record.audio_bytes_received == 960
    assert "openai-beta" not in record.headers


async def test_in_band_error_then_close_3000(fake_openai: RunningFake) -> None:
    sdk = client(fake_openai, "revoked")
    upstream = await open_upstream(sdk, "gpt-realtime")
    try:
        events = [event async for event in upstream.events()]
    finally:
        await upstream.close()
        await sdk.close()
    assert [e["type"] for e in events] == ["error"]
    assert events[0]["error"]["code"] == "invalid_api_key"
    assert (upstream.close_code, upstream.close_reason) == (
        3000, "invalid_request_error.invalid_api_key")


async def test_refused_upgrade_is_a_problem_with_status_and_body(
    fake_openai: RunningFake,
) -> None:
    sdk = client(fake_openai, "norealtime")
    with pytest.raises(UpstreamConnectError) as refused:
        await open_upstream(sdk, "gpt-realtime")
    await sdk.close()
    problem = refused.value.problem
    assert (problem.phase, problem.status) == ("connect", 403)
    assert problem.code and problem.message and problem.request_id


async def test_nothing_listening_is_network_unreachable(fake_openai: RunningFake) -> None:
    sdk = AsyncOpenAI(api_key=scenario_key("ok"), base_url="http://127.0.0.1:9/v1")
    with pytest.raises(UpstreamConnectError) as failed:
        await open_upstream(sdk, "gpt-realtime")
    await sdk.close()
    assert failed.value.problem.code == "network_unreachable"


async def test_keepalive_pings_upstream(fake_openai: RunningFake) -> None:
    sdk = client(fake_openai)
    upstream = await open_upstream(sdk, "gpt-realtime", keepalive_s=0.05)
    try:
        websocket = upstream._connection._connection  # the SDK's websockets connection
        assert websocket.latency == 0  # nothing measured before the first ping's pong
        for _ in range(200):  # hang guard only
            if websocket.latency > 0:
                break
            await asyncio.sleep(0.01)
        # websockets measures latency from its own keepalive ping and the fake's pong.
        assert websocket.latency > 0
    finally:
        await upstream.close()
        await sdk.close()


async def test_a_drop_without_a_close_frame_is_recorded_as_1006(fake_openai: RunningFake) -> None:
    fake_openai.fake.config.drop_after_events = 1  # the fake aborts TCP after session.created
    sdk = client(fake_openai)
    upstream = await open_upstream(sdk, "gpt-realtime")
    try:
        events = [event async for event in upstream.events()]
    finally:
        await upstream.close()
        await sdk.close()
    assert [e["type"] for e in events] == ["session.created"]
    assert fake_openai.fake.last_session.dropped
    assert (upstream.close_code, upstream.close_reason) == (1006, "")


async def test_a_stalled_upstream_is_ended_by_the_keepalive(fake_openai: RunningFake) -> None:
    config = fake_openai.fake.config
    # Silent and unread until the test ends it, far past a ping and its pong timeout.
    config.stall_after_events, config.stall_s = 1, 60
    sdk = client(fake_openai)
    upstream = await open_upstream(sdk, "gpt-realtime", keepalive_s=0.1)
    try:
        events = [event async for event in upstream.events()]
    finally:
        await upstream.close()
        await sdk.close()
    [stall] = fake_openai.fake.last_session.stalls
    assert stall.ended is None  # the session ended while the fake still stalled
    config.stall_s = 0  # release the fake's side
    assert [e["type"] for e in events] == ["session.created"]
    # websockets fails the connection (keepalive ping timeout) and gets no close frame
    # back from a peer that reads nothing: the same ending as a dropped connection.
    assert upstream.close_code == 1006


async def test_a_slow_handshake_past_the_connect_timeout(fake_openai: RunningFake) -> None:
    config = fake_openai.fake.config
    config.handshake_delay_s = 60  # until lowered below
    sdk = client(fake_openai)
    with pytest.raises(UpstreamConnectError) as failed:
        await open_upstream(sdk, "gpt-realtime", connect_timeout_s=0.1)
    await sdk.close()
    assert failed.value.problem.code == "upstream_timeout"
    for _ in range(500):  # hang guard: a busy server may see the request late
        if fake_openai.fake.sessions:
            break
        await asyncio.sleep(0.01)
    assert not fake_openai.fake.last_session.accepted
    config.handshake_delay_s = 0  # let the fake's side finish


async def test_appends_written_directly_or_through_send_reach_openai_alike(
    fake_openai: RunningFake,
) -> None:
    """The append's direct frame write (an open connection with room) and its fallback,
    websockets' ``Connection.send`` (here: the write buffer is full), send the same
    event; the fallback waits for room, and order is kept."""
    fake_openai.fake.config.echo = True
    sdk = client(fake_openai)
    upstream = await open_upstream(sdk, "gpt-realtime")
    ws = upstream._ws
    through_send: list[object] = []
    real_send = ws.send

    async def spy(message: object, text: bool | None = None) -> None:
        through_send.append(message)
        await real_send(message, text=text)  # type: ignore[arg-type]

    ws.send = spy  # type: ignore[method-assign]
    try:
        events = upstream.events()
        assert (await anext(events))["type"] == "session.created"
        direct = base64.b64encode(bytes(range(96)) * 10).decode()
        await upstream.append_audio(direct)
        assert through_send == []
        ws.pause_writing()  # what the transport says when its buffer is full
        fallback = base64.b64encode(bytes(range(48)) * 20).decode()
        waiting = asyncio.ensure_future(upstream.append_audio(fallback))
        await asyncio.sleep(0.05)
        assert not waiting.done() and len(through_send) == 1
        ws.resume_writing()
        await waiting
        deltas = [(await anext(events))["delta"] for _ in range(2)]
        assert deltas == [direct, fallback]
        assert through_send == [
            b'{"type":"input_audio_buffer.append","audio":"' + fallback.encode() + b'"}']
    finally:
        await upstream.close()
        await sdk.close()
    assert fake_openai.fake.last_session.audio_bytes_received == 960 + 960


async def test_the_handshake_is_let_go_once_its_request_id_is_read(
    fake_openai: RunningFake,
) -> None:
    """websockets' connection no longer holds the upgrade's request and response headers
    (docs/performance.md, "Memory at 200 (session 7)"), and frames still flow: its
    ``process_event`` takes the first event for the handshake's response while
    ``response`` is None, so the kept one must not be None."""
    import inspect

    from websockets.asyncio.client import ClientConnection
    from websockets.http11 import Response

    assert "if self.response is None:" in inspect.getsource(ClientConnection.process_event)
    fake_openai.fake.config.echo = True
    sdk = client(fake_openai)
    upstream = await open_upstream(sdk, "gpt-realtime")
    try:
        assert upstream.request_id and upstream.request_id.startswith("req_")
        ws = upstream._ws
        assert ws.request is None
        assert isinstance(ws.response, Response) and ws.response.status_code == 101
        assert not ws.response.headers and not ws.response.body
        events = upstream.events()
        assert (await anext(events))["type"] == "session.created"
        audio = base64.b64encode(bytes(960)).decode()
        await upstream.append_audio(audio)
        assert (await anext(events))["delta"] == audio
    finally:
        await upstream.close()
        await sdk.close()
