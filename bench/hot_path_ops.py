"""CPU per operation on the relay's hot path, independent of the machine's load: each
figure is the minimum over several runs (µs per operation). Run it on two commits to
compare them (docs/performance.md, "The hot path (session 6)").

    uv run python bench/hot_path_ops.py            # every section
    uv run python bench/hot_path_ops.py outbox core
    uv run python bench/hot_path_ops.py receive append   # the upstream socket (session 7)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import subprocess
import sys
import time
import timeit
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.websockets import WebSocket, WebSocketState

from vivavoce.interview.session import InterviewSession, Limits
from vivavoce.realtime.audio_delta import parse_audio_delta
from vivavoce.realtime.errors import make_error_describer
from vivavoce.realtime.outbox import Outbox
from vivavoce.realtime.upstream import Upstream
from vivavoce.web.voice_adapters import StarletteBrowser

PCM = os.urandom(1920)  # one 40 ms frame of PCM16 at 24 kHz
B64 = base64.b64encode(PCM).decode()
T0 = 1_000_000.0


# tests/bench sets a tiny scale: that the script runs, never what it measures.
SCALE = float(os.environ.get("HOT_PATH_OPS_SCALE", "1"))


def per_op(stmt: str, number: int = 100_000, **names: Any) -> float:
    number = max(1, int(number * SCALE))
    return min(timeit.repeat(stmt, number=number, repeat=7, globals=names)) / number * 1e6


def step(coro: Any) -> None:
    """Run a coroutine that finishes without suspending."""
    with contextlib.suppress(StopIteration):
        coro.send(None)


async def outbox(n: int = 100_000) -> None:
    n = max(1, int(n * SCALE))

    async def send(_: object) -> None:
        return None

    async def through_outbox() -> float:
        box: Outbox[bytes] = Outbox(send, send, audio_high_bytes=1 << 40)
        writer = asyncio.ensure_future(box.run())
        await asyncio.sleep(0)
        start = time.process_time()
        for _ in range(n):  # one message per loop turn, as 40 ms frames come
            box.put_audio(PCM)
            await asyncio.sleep(0)
        await box.wait_idle()
        spent = time.process_time() - start
        box.close()
        await writer
        return spent / n * 1e6

    async def turns_alone() -> float:
        start = time.process_time()
        for _ in range(n):
            await asyncio.sleep(0)
        return (time.process_time() - start) / n * 1e6

    with_box = min([await through_outbox() for _ in range(7)])
    alone = min([await turns_alone() for _ in range(7)])
    print(f"outbox: put + wake + send, net of the loop turn   {with_box - alone:6.2f} µs/message")


_SINK = """
import asyncio, uvloop
from websockets.asyncio.server import serve
async def sink(ws):
    async for _ in ws:
        pass
async def main():
    async with serve(sink, "127.0.0.1", 0, compression=None, max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
uvloop.run(main())
"""


async def append(port: int, n: int = 30_000) -> None:
    """Appends to a websockets server in another process that reads and drops them."""
    n = max(1, int(n * SCALE))
    from websockets.asyncio.client import connect

    ws = await connect(f"ws://127.0.0.1:{port}", compression=None)
    upstream = Upstream.__new__(Upstream)
    upstream._ws = ws

    async def via_send() -> None:  # the append as it was: Connection.send(str)
        await ws.send('{"type":"input_audio_buffer.append","audio":"' + B64 + '"}')

    async def via_upstream() -> None:
        await upstream.append_audio(B64)

    async def via_protocol() -> None:  # session 6's append: websockets' sans-I/O send_text
        ws.protocol.send_text(('{"type":"input_audio_buffer.append","audio":"' + B64
                               + '"}').encode())
        ws.send_data()

    ways: dict[str, Callable[[], Awaitable[None]]] = {
        "Connection.send": via_send, "protocol.send_text": via_protocol,
        "Upstream.append_audio": via_upstream}
    spent: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(5):
        for name, send in ways.items():
            start = time.process_time()
            for i in range(n):
                await send()
                if i % 8 == 0:
                    await asyncio.sleep(0)  # let the kernel's buffer drain
            spent[name].append((time.process_time() - start) / n * 1e6)
            await asyncio.sleep(0.2)
    for name, runs in spent.items():
        print(f"append (2.6 KB, loopback, write included): {name:22s} {min(runs):6.2f} µs")
    await ws.close()


async def receive(port: int, n: int = 30_000) -> None:
    """An audio delta read off the upstream socket and handed to the relay, per message:
    the bytes of one server frame given to the connection's ``data_received`` (as the
    transport does), then one loop turn (net of the turn alone)."""
    n = max(1, int(n * SCALE))
    from websockets.asyncio.client import connect
    from websockets.frames import OP_TEXT, Frame

    raw = json.dumps({"type": "response.output_audio.delta", "event_id": "event_1",
                      "response_id": "resp_1", "item_id": "item_1", "output_index": 0,
                      "content_index": 0, "delta": B64}, separators=(",", ":")).encode()
    wire = Frame(OP_TEXT, raw).serialize(mask=False)
    got = [0]

    def take(_: dict[str, Any]) -> None:
        got[0] += 1

    async def through(read: Callable[[Upstream], Awaitable[None]]) -> float:
        ws = await connect(f"ws://127.0.0.1:{port}", compression=None, max_queue=64)
        upstream = Upstream.__new__(Upstream)
        upstream._ws = ws
        reader = asyncio.ensure_future(read(upstream))
        await asyncio.sleep(0)
        before = got[0]
        start = time.process_time()
        for _ in range(n):
            ws.data_received(wire)
            await asyncio.sleep(0)
        spent = time.process_time() - start
        assert got[0] - before == n
        reader.cancel()
        await ws.close()
        return spent / n * 1e6

    async def recv_loop(upstream: Upstream) -> None:  # session 6's reader
        async for event in upstream.events():
            take(event)

    async def callback(upstream: Upstream) -> None:
        await upstream.run(take)

    async def turns_alone() -> float:
        start = time.process_time()
        for _ in range(n):
            await asyncio.sleep(0)
        return (time.process_time() - start) / n * 1e6

    ways: dict[str, Callable[[Upstream], Awaitable[None]]] = {
        "recv + Upstream.events": recv_loop, "Upstream.run": callback}
    spent: dict[str, list[float]] = {name: [] for name in ways}
    turns: list[float] = []
    for _ in range(5):
        for name, read in ways.items():
            spent[name].append(await through(read))
        turns.append(await turns_alone())
    for name, runs in spent.items():
        print(f"receive a delta (3.4 KB), parsed, net of the turn: {name:22s} "
              f"{min(runs) - min(turns):6.2f} µs")


def browser() -> None:
    message = {"type": "websocket.receive", "bytes": PCM}

    async def server_receive() -> dict[str, Any]:
        return message

    async def server_send(_: Any) -> None:
        return None

    scope = {"type": "websocket", "path": "/voice", "headers": [], "query_string": b""}
    wrapped: dict[str, Any] = {}

    async def route(scope: Any, receive: Any, send: Any) -> None:
        wrapped["send"] = send

    plain = WebSocket(scope, server_receive, server_send)
    asyncio.run(wrap_app_handling_exceptions(route, plain)(scope, server_receive, server_send))
    websocket = WebSocket(scope, server_receive, wrapped["send"])
    websocket.client_state = websocket.application_state = WebSocketState.CONNECTED
    adapter = StarletteBrowser(websocket)
    print(f"browser receive: Starlette's WebSocket.receive      "
          f"{per_op('step(ws.receive())', step=step, ws=websocket):6.2f} µs")
    print(f"browser receive: StarletteBrowser.receive           "
          f"{per_op('step(b.receive())', step=step, b=adapter):6.2f} µs")
    print(f"browser send_bytes through Starlette's sender      "
          f"{per_op('step(b.send_bytes(p))', step=step, b=adapter, p=PCM):6.2f} µs")
    adapter._send = server_send
    print(f"browser send_bytes to the server's send itself      "
          f"{per_op('step(b.send_bytes(p))', step=step, b=adapter, p=PCM):6.2f} µs")


def core() -> None:
    session = InterviewSession(model="gpt-realtime", describe_error=make_error_describer("local"),
                               limits=Limits(max_duration_s=600, idle_timeout_s=60))
    session.connected(T0)
    session.browser_text(json.dumps({"type": "start_interview"}), T0)
    session.prepared("iv-1", {"type": "session.update",  # type: ignore[typeddict-item]
                              "session": {"type": "realtime"}}, T0)
    session.upstream_opened(T0)
    session.upstream_event({"type": "session.updated"}, T0)
    raw = json.dumps({"type": "response.output_audio.delta", "event_id": "event_1",
                      "response_id": "resp_1", "item_id": "item_1", "output_index": 0,
                      "content_index": 0, "delta": B64}, separators=(",", ":")).encode()
    session.upstream_event({"type": "response.created", "response": {"id": "resp_1"}}, T0)
    event = parse_audio_delta(raw)
    assert event is not None and session.upstream_event(event, T0)
    print(f"core: browser_audio (base64 encode included)        "
          f"{per_op('s.browser_audio(p, T0)', s=session, p=PCM, T0=T0):6.2f} µs")
    print(f"core: parse_audio_delta                             "
          f"{per_op('parse(raw)', parse=parse_audio_delta, raw=raw):6.2f} µs")
    print(f"core: upstream_event, a delta (base64 decode incl.) "
          f"{per_op('s.upstream_event(e, T0)', s=session, e=event, T0=T0):6.2f} µs")
    print(f"      of which binascii.a2b_base64                  "
          f"{per_op('a2b(d)', a2b=__import__('binascii').a2b_base64, d=B64):6.2f} µs")


def main() -> None:
    sections = sys.argv[1:] or ["outbox", "append", "receive", "browser", "core"]
    if "outbox" in sections:
        uvloop.run(outbox())
    if "append" in sections or "receive" in sections:
        sink = subprocess.Popen([sys.executable, "-c", _SINK], stdout=subprocess.PIPE, text=True)
        try:
            assert sink.stdout is not None
            port = int(sink.stdout.readline())
            if "append" in sections:
                uvloop.run(append(port))
            if "receive" in sections:
                uvloop.run(receive(port))
        finally:
            sink.kill()
            sink.wait()
    if "browser" in sections:
        browser()
    if "core" in sections:
        core()


if __name__ == "__main__":
    main()
