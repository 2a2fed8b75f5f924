"""Relay latency and throughput, measured with the fake OpenAI server's ECHO mode.

    uv run python bench/relay_bench.py --clients 1,10,50 --seconds 5

Three processes, as in production: the fake (``vivavoce fake-openai --echo``, which
sends every appended audio chunk straight back as ``response.output_audio.delta``), the
relay (``vivavoce serve``) and this one, the simulated browsers. Each browser sends
20 ms PCM frames at real time (as a microphone does) to ``/voice`` and times each
frame's round trip: browser → relay → fake → relay → browser. The same is measured
against the fake directly (no relay), so the difference is what the relay adds. The CPU
column is the relay process's CPU time over wall time (100 % = one core).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from vivavoce.testing.scenarios import scenario_key

BYTES_PER_MS = 48
MAGIC = bytes([0x11, 0x00, 0x22, 0x00])  # two quiet samples: never speech to the VAD
KEY = scenario_key("ok", "bench")


def frame(n: int, ms: int) -> bytes:
    # Quiet PCM: the magic, then the counter spread over four low-amplitude samples.
    counter = b"".join(bytes([b, 0]) for b in n.to_bytes(4, "little"))
    return MAGIC + counter + bytes(ms * BYTES_PER_MS - len(MAGIC) - len(counter))


def frame_number(data: bytes) -> int | None:
    if len(data) < 12 or data[:4] != MAGIC:
        return None
    return int.from_bytes(data[4:12:2], "little")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``vivavoce ARGS`` and wait until it listens on ``port``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "vivavoce.cli", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    for _ in range(1500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"vivavoce {args[0]} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Window:
    """Every client measures in the same window, so the server's CPU is read around the
    steady state only (not connecting, greetings or teardown)."""

    def __init__(self, clients: int) -> None:
        self.start = asyncio.Barrier(clients + 1)
        self.end = asyncio.Barrier(clients + 1)


PROBE = 2**31


async def settle(send: Any, receive: Any, frame_ms: int) -> None:
    """Send one probe frame and wait for its echo: audio is relayed in order, so once it
    is back, nothing sent before it (the greeting) is still on its way."""
    await send(frame(PROBE, frame_ms))
    while True:
        data = await receive()
        if data is not None and frame_number(data) == PROBE:
            return


async def paced_echo(
    send: Any, receive: Any, seconds: float, frame_ms: int, window: Window
) -> list[float]:
    """Send real-time paced frames; return each frame's round trip in ms."""
    await settle(send, receive, frame_ms)
    await window.start.wait()
    sent_at: dict[int, float] = {}
    rtts: list[float] = []
    total = int(seconds * 1000 / frame_ms)

    async def reader() -> None:
        while len(rtts) < total:
            data = await receive()
            n = frame_number(data) if data is not None else None
            if n is not None and n in sent_at:
                rtts.append((time.perf_counter() - sent_at.pop(n)) * 1000)

    task = asyncio.create_task(reader())
    start = time.perf_counter()
    for n in range(total):
        sent_at[n] = time.perf_counter()
        await send(frame(n, frame_ms))
        delay = start + (n + 1) * frame_ms / 1000 - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.wait_for(task, 30)
    await window.end.wait()
    return rtts


async def via_relay(url: str, seconds: float, frame_ms: int, window: Window) -> list[float]:
    async with connect(url, max_size=None) as ws:
        await ws.recv()  # connected
        await ws.send(json.dumps({"type": "start_interview",
                                  "candidateContext": {"name": "Bench", "major": "CS"}}))
        while True:
            message = await ws.recv()
            if isinstance(message, str) and json.loads(message)["type"] == "usage":
                break  # the greeting is over

        async def receive() -> bytes | None:
            message = await ws.recv()
            return message if isinstance(message, bytes) else None

        rtts = await paced_echo(ws.send, receive, seconds, frame_ms, window)
        await ws.send(json.dumps({"type": "end_interview"}))
        return rtts


async def direct(base_ws: str, seconds: float, frame_ms: int, window: Window) -> list[float]:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with connect(f"{base_ws}/v1/realtime?model=gpt-realtime", max_size=None,
                       additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["audio"]}}))

        async def send(pcm: bytes) -> None:
            await ws.send('{"type":"input_audio_buffer.append","audio":"'
                          + base64.b64encode(pcm).decode() + '"}')

        async def receive() -> bytes | None:
            event = json.loads(await ws.recv())
            if event.get("type") != "response.output_audio.delta":
                return None
            return base64.b64decode(event["delta"])

        return await paced_echo(send, receive, seconds, frame_ms, window)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run_level(label: str, make: Any, clients: int, pid: int) -> dict[str, Any]:
    window = Window(clients)
    tasks = asyncio.gather(*(make(window) for _ in range(clients)))
    await window.start.wait()
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    await window.end.wait()
    cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - wall0
    results = await tasks
    rtts = [r for result in results for r in result]
    return {
        "path": label, "clients": clients, "frames": len(rtts),
        "p50": statistics.median(rtts), "p95": percentile(rtts, 95),
        "p99": percentile(rtts, 99), "max": max(rtts),
        "frames_per_s": len(rtts) / wall, "cpu": cpu / wall,
    }


async def main_async(args: argparse.Namespace) -> None:
    fake_port, relay_port = free_port(), free_port()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        fake = start(["fake-openai", "--echo", "--audio-pace", "0", "--port", str(fake_port)],
                     fake_port)
        stack.callback(fake.kill)
        relay = start(["serve", "--port", str(relay_port)], relay_port, {
            "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
            "VIVAVOCE_SIMULATOR": "0", "VIVAVOCE_DATA_DIR": tmp,
            "VIVAVOCE_LOG_LEVEL": "WARNING", "DATABASE_URL": "",
        })
        stack.callback(relay.kill)
        rows = []
        for clients in args.clients:
            rows.append(await run_level(
                "direct", lambda w: direct(f"ws://127.0.0.1:{fake_port}", args.seconds,
                                           args.frame_ms, w), clients, fake.pid))
            rows.append(await run_level(
                "relay", lambda w: via_relay(f"ws://127.0.0.1:{relay_port}/voice",
                                             args.seconds, args.frame_ms, w),
                clients, relay.pid))
    print(f"{args.frame_ms} ms frames at real time, {args.seconds:g} s per client; "
          f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    print("| path | clients | frames | p50 ms | p95 ms | p99 ms | max ms | frames/s | CPU of that server |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['path']} | {r['clients']} | {r['frames']} | {r['p50']:.2f} | "
              f"{r['p95']:.2f} | {r['p99']:.2f} | {r['max']:.2f} | {r['frames_per_s']:.0f} | "
              f"{r['cpu'] * 100:.0f}% |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,10,50",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--frame-ms", type=int, default=20)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
