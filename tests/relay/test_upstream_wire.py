"""The upstream socket's hot path beside websockets (realtime/upstream_wire.py): frames
read and written by the relay itself, everything else by websockets, as before.

Through real sockets: to the fake (bursts, a drop and a close mid-burst, its pings), and
to a small websockets server of the test's own for what the fake never sends (a
fragmented message, an oversized frame, a close with a reason between data frames). The
last tests pin what of websockets the module relies on."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import websockets
from openai import AsyncOpenAI
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import Connection
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import OP_CLOSE, OP_TEXT, Close, Frame
from websockets.protocol import State

from tests.fixtures.fake_openai import RunningFake
from vivavoce.realtime import upstream as upstream_module
from vivavoce.realtime.upstream import Upstream, open_upstream
from vivavoce.realtime.upstream_wire import FrameReader, MaskSource, client_text_frame
from vivavoce.testing import serve_in_background
from vivavoce.testing.fake_openai import FakeConfig, FakeOpenAI
from vivavoce.testing.scenarios import scenario_key

HANG_GUARD_S = 30  # a hang guard only; nothing here is timed


def client(base_url: str) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=scenario_key("ok"), base_url=base_url, max_retries=0)


class CountingReader(FrameReader):
    """The relay's reader, counting what it takes itself."""

    taken: list[bytes] = []

    def __init__(self, ws: Any, deliver: Callable[[bytes], None]) -> None:
        def counted(raw: bytes) -> None:
            CountingReader.taken.append(raw)
            deliver(raw)

        super().__init__(ws, counted)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    CountingReader.taken = []
    monkeypatch.setattr(upstream_module, "FrameReader", CountingReader)
    yield CountingReader.taken


def chunks(n: int) -> list[str]:
    """Distinct audio chunks of three sizes: each frame-length encoding (7-bit, 16-bit,
    64-bit) and frames that a read splits."""
    sizes = (30, 1920, 60_000)
    return [base64.b64encode(bytes([i % 251]) * sizes[i % 3] + i.to_bytes(4, "big")).decode()
            for i in range(n)]


async def collect(upstream: Upstream, use_run: bool,
                  until: Callable[[list[dict[str, Any]]], bool] | None = None,
                  send: list[str] = []  # noqa: B006 - never changed
                  ) -> list[dict[str, Any]]:
    """Every event until the socket closes (or ``until`` says so), through ``run`` (the
    relay's way) or ``events`` (the pull loop it had); ``send`` is appended meanwhile,
    with no wait between appends (the echoes come back in bursts)."""
    got: list[dict[str, Any]] = []
    done = asyncio.get_running_loop().create_future()

    def on_event(event: dict[str, Any]) -> None:
        got.append(event)
        if until is not None and until(got) and not done.done():
            done.set_result(None)

    async def read() -> None:
        if use_run:
            await upstream.run(on_event)
        else:
            async for event in upstream.events():
                on_event(event)

    async with asyncio.timeout(HANG_GUARD_S):
        reading = asyncio.ensure_future(read())
        await asyncio.sleep(0)  # the reader in place
        for chunk in send:
            await upstream.append_audio(chunk)
        await asyncio.wait([reading, done], return_when=asyncio.FIRST_COMPLETED)
        if not reading.done():
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
        else:
            reading.result()
    return got


def taken_deltas(taken: list[bytes]) -> int:
    return sum(b'"response.output_audio.delta"' in raw for raw in taken)


def deltas(events: list[dict[str, Any]]) -> list[str]:
    return [e["delta"] for e in events if e["type"] == "response.output_audio.delta"]


async def test_a_burst_arrives_whole_and_in_order_taken_beside_websockets(
    fake_openai: RunningFake, counting: list[bytes]
) -> None:
    fake_openai.fake.config.echo = True
    sdk = client(fake_openai.base_url)
    upstream = await open_upstream(sdk, "gpt-realtime")
    sent = chunks(150)
    try:
        got = await collect(upstream, True, until=lambda got: len(got) > len(sent), send=sent)
    finally:
        await upstream.close()
        await sdk.close()
    assert got[0]["type"] == "session.created"
    assert deltas(got) == sent
    # Every delta was taken beside websockets (session.created may have come before the
    # reader was in place: then websockets' queue held it, and it still came first).
    assert taken_deltas(counting) == len(sent)
    assert fake_openai.fake.last_session.audio_bytes_received == sum(
        len(base64.b64decode(c)) for c in sent)


@pytest.mark.parametrize("fault", ["drop", "close"])
async def test_a_drop_or_a_close_mid_burst_ends_as_with_websockets_alone(
    fake_openai: RunningFake, counting: list[bytes], fault: str
) -> None:
    """The same events and the same close (1006 for a TCP drop, the code and reason of
    a close frame) through the relay's reader as through websockets' own ``recv``."""
    config = fake_openai.fake.config
    config.echo = True
    if fault == "drop":
        config.drop_after_events = 40
    else:
        config.close_after_events, config.close_code, config.close_reason = 40, 1011, "gone"
    sent = chunks(80)
    endings = []
    for use_run in (True, False):
        sdk = client(fake_openai.base_url)
        upstream = await open_upstream(sdk, "gpt-realtime")
        try:
            got = await collect(upstream, use_run, send=sent)
        finally:
            await upstream.close()
            await sdk.close()
        endings.append((deltas(got), upstream.close_code, upstream.close_reason))
    assert endings[0] == endings[1]
    received, code, reason = endings[0]
    assert received == sent[:39]  # session.created and 39 deltas: 40 events
    assert (code, reason) == ((1006, "") if fault == "drop" else (1011, "gone"))
    assert taken_deltas(counting) == 39  # the relay's reader took them all


async def test_the_servers_pings_are_answered_while_the_relay_reads() -> None:
    """A server pinging every 50 ms (uvicorn's keepalive, as OpenAI pings) closes a
    connection whose pongs do not come: the pings go to websockets, which answers."""
    fake = FakeOpenAI(FakeConfig(audio_pace=0.0, echo=True))
    with serve_in_background(fake.app, ws_ping_interval=0.05, ws_ping_timeout=0.2) as server:
        sdk = client(f"{server.http_url}/v1")
        upstream = await open_upstream(sdk, "gpt-realtime")
        ws = upstream._ws
        got: list[dict[str, Any]] = []
        reading = asyncio.ensure_future(upstream.run(got.append))
        try:
            for chunk in chunks(30):  # ~1.5 s: many pings, each answered or fatal
                await upstream.append_audio(chunk)
                await asyncio.sleep(0.05)
            assert ws.protocol.state is State.OPEN and not reading.done()
        finally:
            await upstream.close()
            await sdk.close()
            async with asyncio.timeout(HANG_GUARD_S):
                await reading
    assert deltas(got) == chunks(30)
    assert (upstream.close_code, fake.last_session.close_code) == (1000, 1000)


async def test_our_keepalive_pings_are_settled_by_the_servers_pongs(
    fake_openai: RunningFake,
) -> None:
    sdk = client(fake_openai.base_url)
    upstream = await open_upstream(sdk, "gpt-realtime", keepalive_s=0.05)
    reading = asyncio.ensure_future(upstream.run(lambda _: None))
    try:
        ws = upstream._ws
        for _ in range(200):  # hang guard only
            if ws.latency > 0:
                break
            await asyncio.sleep(0.01)
        assert ws.latency > 0  # the pong reached websockets' acknowledge_pings
    finally:
        await upstream.close()
        await sdk.close()
        await reading


async def test_what_the_relay_raises_is_raised_by_run_and_nothing_follows(
    fake_openai: RunningFake,
) -> None:
    fake_openai.fake.config.echo = True
    sdk = client(fake_openai.base_url)
    upstream = await open_upstream(sdk, "gpt-realtime")
    seen: list[str] = []
    broken = RuntimeError("a bug in the relay")

    def on_event(event: dict[str, Any]) -> None:
        seen.append(event["type"])
        if len(seen) == 3:
            raise broken

    try:
        for chunk in chunks(10):
            await upstream.append_audio(chunk)
        with pytest.raises(RuntimeError) as raised:
            async with asyncio.timeout(HANG_GUARD_S):
                await upstream.run(on_event)
    finally:
        await upstream.close()
        await sdk.close()
    assert raised.value is broken
    assert len(seen) == 3
    assert "data_received" not in vars(upstream._ws)  # websockets' own, once run returns


# ---------------------------------------------------------------- a server of our own
Script = Callable[[ServerConnection], Awaitable[None]]


async def _own_server(script: Script, max_size: int | None = None
                      ) -> AsyncIterator[Upstream]:
    async def handler(conn: ServerConnection) -> None:
        await conn.recv()  # the client's reader is in place: go
        await script(conn)
        await conn.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        options: dict[str, Any] = {"compression": None}
        if max_size is not None:
            options["max_size"] = max_size
        ws = await connect(f"ws://127.0.0.1:{port}", **options)

        class SdkConnection:  # what Upstream takes from the SDK's connection
            _connection = ws

        try:
            yield Upstream(SdkConnection())  # type: ignore[arg-type]
        finally:
            await ws.close()


async def _mixed(conn: ServerConnection) -> None:
    await conn.send('{"n":1}')
    await conn.send(['{"n":', "2}"])  # a fragmented message
    await conn.send('{"n":3}')
    await conn.ping()
    await conn.send(b'{"n":4}')  # a binary frame
    await conn.close(4000, "bye")


async def _oversized(conn: ServerConnection) -> None:
    await conn.send('{"n":1}')
    await conn.send('{"n":"' + "x" * 2000 + '"}')
    await conn.send('{"n":3}')


async def _closing_between_frames(conn: ServerConnection) -> None:
    await conn.send('{"n":1}')
    # A close frame, and in the same read a data frame after it, which websockets
    # discards (RFC 6455 §1.4: nothing is read after a close).
    close = Frame(OP_CLOSE, Close(4001, "between").serialize()).serialize(mask=False)
    conn.transport.write(close + Frame(OP_TEXT, b'{"n":2}').serialize(mask=False))


async def _run_own(script: Script, max_size: int | None = None, use_run: bool = True,
                   ) -> tuple[list[dict[str, Any]], int | None, str | None, bool]:
    async for upstream in _own_server(script, max_size):
        got = await collect(upstream, use_run, send=["go"])
        reader_gone = "data_received" not in vars(upstream._ws)
        return got, upstream.close_code, upstream.close_reason, reader_gone
    raise AssertionError("unreachable")


async def _both_ways(script: Script, taken: list[bytes], max_size: int | None = None
                     ) -> tuple[list[Any], int | None, str | None]:
    """What the relay's reader gets, checked against websockets' own ``recv``. (On the
    default loop here; uvloop, which keeps the transport's read callback bound, is what
    bench/hot_path_ops.py's ``receive`` and bench/relay_bench.py run: every message
    counted there. Under pytest a uvloop loop's run does not return here.)"""
    got, code, reason, reader_gone = await _run_own(script, max_size)
    assert reader_gone and taken  # the relay's reader took the first message at least
    alone, alone_code, alone_reason, _ = await _run_own(script, max_size, use_run=False)
    assert (got, code, reason) == (alone, alone_code, alone_reason)
    return [e["n"] for e in got], code, reason


async def test_websockets_takes_over_from_a_fragment_in_order(counting: list[bytes]) -> None:
    assert await _both_ways(_mixed, counting) == ([1, 2, 3, 4], 4000, "bye")


async def test_a_close_frame_is_websockets_to_handle(counting: list[bytes]) -> None:
    assert await _both_ways(_closing_between_frames, counting) == ([1], 4001, "between")


async def test_an_oversized_frame_is_refused_by_websockets_as_before(
    counting: list[bytes],
) -> None:
    # websockets fails the connection (1009) and reads nothing after: no close received.
    assert await _both_ways(_oversized, counting, max_size=1000) == ([1], 1006, "")


# ---------------------------------------------------------------- the frames we write
@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70_000])
def test_a_client_frame_is_the_one_websockets_would_write(
    size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = os.urandom(size)
    masks = MaskSource()
    ours = client_text_frame(payload, masks)
    mask = ours[len(ours) - size - 4:len(ours) - size]
    monkeypatch.setattr(secrets, "token_bytes", lambda n: mask)
    assert ours == Frame(OP_TEXT, payload).serialize(mask=True)


def test_masks_are_cut_from_one_urandom_batch_never_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    counter = iter(range(1, 1 << 20))

    def urandom(n: int) -> bytes:
        calls.append(n)
        return bytes(next(counter) % 256 for _ in range(n))

    monkeypatch.setattr(os, "urandom", urandom)
    masks = MaskSource(batch_bytes=16)
    taken = [masks.take() for _ in range(8)]
    assert calls == [16, 16]  # four masks a batch
    assert len(set(taken)) == 8 and all(len(m) == 4 for m in taken)
    assert b"".join(taken[:4]) == bytes(range(1, 17))
    masks.drop()
    masks.take()
    assert calls == [16, 16, 16]  # after a fork, a fresh batch


def test_a_forked_child_does_not_reuse_the_parents_masks() -> None:
    from vivavoce.realtime.upstream_wire import MASKS

    MASKS.take()  # a batch in hand
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first mask must come from a fresh batch
        os.write(write, b"fresh" if MASKS._next == MASKS._size else b"stale")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 5) == b"fresh"
    os.close(read)
    os.close(write)


# ---------------------------------------------------------------- websockets pinned
async def test_what_the_module_relies_on_in_websockets() -> None:
    """If websockets changes any of these, the reader and the append must be revisited
    (realtime/upstream_wire.py, Upstream.append_audio)."""
    assert websockets.__version__.split(".")[0] == "15"
    # The connection's read callback, replaced per instance; the transport is told again.
    assert "data_received" in vars(Connection)
    assert issubclass(ClientConnection, Connection)

    async def check() -> None:
        async def echo(conn: ServerConnection) -> None:
            await conn.wait_closed()

        async with serve(echo, "127.0.0.1", 0, compression=None) as server:
            port = server.sockets[0].getsockname()[1]
            ws = await connect(f"ws://127.0.0.1:{port}", compression=None)
            protocol = ws.protocol
            assert protocol.state is State.OPEN and protocol.extensions == []
            assert protocol.max_size == 2**20 and protocol.expect_continuation_frame is False
            assert ws.fragmented_send_waiter is None and ws.paused is False
            assert ws.transport.get_protocol() is ws
            reader = FrameReader.install(ws, lambda _: None)
            assert reader is not None and ws.data_received == reader.data_received
            assert FrameReader.install(ws, lambda _: None) is None  # one reader only
            await ws.close()

    await check()
