"""The browser socket alone: server CPU per echoed frame, uvicorn's WebSocket protocol
against serve's (web/ws_protocol.py), with nothing else in the server.

A uvicorn server (uvloop, as ``serve``) runs an ASGI app that echoes every message, the
way the relay's browser side uses the socket (``receive`` then ``send``); ``--clients``
raw-socket clients each send a 1,920-byte binary frame (40 ms of 24 kHz PCM16) every
``--frame-ms`` and count the echoes. The server process's CPU time over the window,
divided by the frames echoed, is the number: it does not depend on how busy the machine
is, unlike wall-clock figures. Run::

    flock /tmp/bench.lock uv run python bench/ws_protocol_bench.py --clients 200 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import struct
import subprocess
import sys
import time
from typing import Any

import uvloop


def protocols() -> dict[str, type]:
    """The two, and (``--ablation``) ours with one of its changes taken back each."""
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    from vivavoce.web.ws_protocol import VoiceWebSocketProtocol

    class ParserReceive(VoiceWebSocketProtocol):
        data_received = WebSocketsSansIOProtocol.data_received

    class PausePerMessage(VoiceWebSocketProtocol):
        high_messages = 1

    class UvicornSend(VoiceWebSocketProtocol):
        send = WebSocketsSansIOProtocol.send

    return {"uvicorn": WebSocketsSansIOProtocol, "vivavoce": VoiceWebSocketProtocol,
            "vivavoce, uvicorn's parser": ParserReceive,
            "vivavoce, a read pause per message": PausePerMessage,
            "vivavoce, uvicorn's send": UvicornSend}


PROTOCOLS = ["uvicorn", "vivavoce", "vivavoce, uvicorn's parser",
             "vivavoce, a read pause per message", "vivavoce, uvicorn's send"]


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] != "websocket.receive":
            return
        await send({"type": "websocket.send", "bytes": message["bytes"]})


def serve(protocol: str, port: int) -> None:
    import uvicorn

    uvicorn.run(echo, host="127.0.0.1", port=port, ws=protocols()[protocol], loop="uvloop",
                http="httptools", ws_max_size=1024 * 1024, ws_per_message_deflate=False,
                ws_ping_interval=None, lifespan="off", log_level="warning")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def masked_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BBH", 0x82, 0x80 | 126, len(payload)) + mask + body


HANDSHAKE = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             b"Sec-WebSocket-Version: 13\r\n\r\n")


async def client(port: int, frame: bytes, period: float, stop: float,
                 counts: list[int], offset: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HANDSHAKE)
    await reader.readuntil(b"\r\n\r\n")
    await asyncio.sleep(offset)

    async def read() -> None:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                return
            counts[0] += len(data)

    reading = asyncio.create_task(read())
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while loop.time() < stop:
        writer.write(frame)
        next_at += period
        await asyncio.sleep(max(0.0, next_at - loop.time()))
    await asyncio.sleep(0.5)
    writer.close()
    reading.cancel()


async def drive(port: int, pid: int, clients: int, seconds: float, frame_ms: int) -> dict[str, float]:
    payload = os.urandom(1920)
    frame = masked_frame(payload)
    echoed_size = 4 + len(payload)
    period = frame_ms / 1000
    counts = [0]
    loop = asyncio.get_running_loop()
    stop = loop.time() + seconds + 1.0
    cpu0 = wall0 = 0.0

    async def window() -> None:
        nonlocal cpu0, wall0
        await asyncio.sleep(1.0)  # every client connected and sending
        cpu0, wall0 = cpu_seconds(pid), time.monotonic()
        counts[0] = 0

    tasks = [client(port, frame, period, stop, counts, period * i / clients)
             for i in range(clients)]
    measuring = asyncio.create_task(window())
    await asyncio.gather(measuring, *tasks)
    cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - wall0
    frames = counts[0] / echoed_size
    return {"frames": frames, "cpu": cpu / wall, "us_per_frame": cpu * 1e6 / frames,
            "load": os.getloadavg()[0]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--frame-ms", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two")
    parser.add_argument("--ablation", action="store_true",
                        help="also ours with each change taken back")
    parser.add_argument("--serve", choices=PROTOCOLS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    print("| protocol | clients | frames echoed | server CPU | CPU µs / echoed frame | load |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for _ in range(args.rounds):
        for name in PROTOCOLS if args.ablation else PROTOCOLS[:2]:
            port = free_port()
            server = subprocess.Popen([sys.executable, __file__, "--serve", name,
                                       "--port", str(port)])
            try:
                for _ in range(200):
                    try:
                        socket.create_connection(("127.0.0.1", port)).close()
                        break
                    except OSError:
                        time.sleep(0.05)
                row = uvloop.run(drive(port, server.pid, args.clients, args.seconds,
                                       args.frame_ms))
            finally:
                server.terminate()
                server.wait()
            print(f"| {name} | {args.clients} | {row['frames']:,.0f} | {row['cpu']:.1%} | "
                  f"{row['us_per_frame']:.1f} | {row['load']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
