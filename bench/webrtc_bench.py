"""The server's CPU and memory for WebRTC interviews (issue 17), next to the relay's.

    uv run python bench/webrtc_bench.py --clients 200,500 --seconds 15   # WebRTC, then relay, at each N
    uv run python bench/webrtc_bench.py --clients 5 --seconds 3 --paths webrtc --json

On WebRTC the audio goes between the browser and OpenAI; the server only places the call,
drives the interview over the call's sideband (transcripts, ``response.done``, the
limits) and stores the turns. Media for 500 calls is more than two cores can run, so the
fake runs in its media-free mode (``vivavoce fake-openai --media-free-calls``): calls are
answered without a peer and the sideband carries what a real call sends — the greeting's
events, a scripted candidate answering after each reply at real-time pace, transcripts,
``response.done`` with usage.

Each simulated browser opens ``/voice``, sends ``start_interview`` with an SDP offer
(one audio track and the ``oai-events`` data channel, no candidates: nothing ever
connects, and the media-free fake needs none), reports ``webrtc_state connected`` on the
answer, waits for ``interview_started`` with ``transport: webrtc`` and then listens for
``--seconds`` while the fake's sideband drives the conversation. The relay row at the same
N runs relay_bench's browsers (no offer, 40 ms PCM frames at real time both ways, against
the ECHO fake), so the two rows compare one server's cost per interview on each transport.

Both paths share relay_bench's machinery: a fresh fake and a fresh ``vivavoce serve``
(SQLite) per level, the same steady window, CPU summed over every process of the server,
RSS growth per interview, the driver's own CPU, and the fake's CPU over the same window
(on two shared cores a saturated fake slows the starts). One interview is run to its
start and ended before each level (the fake loads aiortc on its first call, the server
warms its own first-use paths), so start times and memory are the steady state's, not
one-time imports. ``interviews_per_core`` is the interviews live in the window (N less the failed
starts) / the server's CPU fraction: the issue's goal is ≥ 1,000 on WebRTC.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import Any

from relay_bench import (
    FAILED,
    START_TIMEOUT_S,
    ClientResult,
    Window,
    pass_barriers,
    run_driver,
    run_level,
    start_fake,
    start_relay,
    via_relay,
)
from websockets.asyncio.client import connect

PATHS = ("webrtc", "relay")
FRAME_MS = 40

# A browser's offer as far as the media-free fake reads it: the microphone (sendrecv) and
# the oai-events data channel, ICE credentials, a DTLS fingerprint; no candidates.
OFFER = "\r\n".join([
    "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
    "a=msid-semantic:WMS *",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:bnch", "a=ice-pwd:vivavocebenchonly00000000",
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32), "a=setup:actpass", "a=mid:0",
    "a=sendrecv", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
    "a=ice-ufrag:bnch", "a=ice-pwd:vivavocebenchonly00000000",
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32), "a=setup:actpass", "a=mid:1",
    "a=sctp-port:5000", "a=max-message-size:262144", "",
])

# The same server settings for both paths: no start refused for load (500 > the default
# cap of live interviews) and no interview reaching its time limit during a run.
SERVER_ENV = {"VIVAVOCE_MAX_LIVE_INTERVIEWS": "2000", "VIVAVOCE_MAX_INTERVIEW_SECONDS": "3000"}


async def via_webrtc(url: str, seconds: float, window: Window, result: ClientResult,
                     counts: dict[str, int]) -> None:
    """One browser on ``/voice`` with a WebRTC offer; listens through the window and
    counts what ``/voice`` carries by message type (``audio``: binary frames, which
    WebRTC must never bring)."""
    try:
        async with connect(url, max_size=None, open_timeout=START_TIMEOUT_S) as ws:
            await ws.recv()  # connected
            asked = time.perf_counter()
            await ws.send(json.dumps({"type": "start_interview", "webrtc": {"sdp": OFFER},
                                      "candidateContext": {"name": "Bench", "major": "CS"}}))

            async def started() -> None:
                while True:
                    message = json.loads(await ws.recv())
                    kind = message.get("type")
                    if kind == "webrtc_answer":
                        await ws.send(json.dumps({"type": "webrtc_state",
                                                  "state": "connected"}))
                    elif kind == "interview_started":
                        if message.get("transport") != "webrtc":
                            raise ConnectionError("relayed, not on WebRTC")
                        result.start_ms = (time.perf_counter() - asked) * 1000
                        return
                    elif kind in ("interview_ended", "webrtc_fallback", "error"):
                        raise ConnectionError(kind)

            async def listen() -> None:
                while True:
                    message = await ws.recv()
                    kind = "audio" if isinstance(message, bytes) else \
                        str(json.loads(message).get("type"))
                    counts[kind] = counts.get(kind, 0) + 1

            await asyncio.wait_for(started(), START_TIMEOUT_S)
            result.started = True
            listener = asyncio.ensure_future(listen())
            await window.start.wait()
            result.passed_start = True
            await asyncio.sleep(seconds)
            await window.end.wait()
            result.passed_end = True
            listener.cancel()
            await ws.send(json.dumps({"type": "end_interview"}))
    except FAILED as exc:  # counted: a start failure, its cause among the messages
        reason = f"failed: {type(exc).__name__} {exc}".strip()[:60]
        counts[reason] = counts.get(reason, 0) + 1
    finally:
        await pass_barriers(window, result)


async def measure(path: str, clients: int, args: argparse.Namespace) -> dict[str, Any]:
    """One level on one path: a fresh fake and server, a warm-up interview, N browsers."""
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        fake_port, fake_pid = start_fake(stack, ("--media-free-calls",)) if path == "webrtc" \
            else start_fake(stack)
        url, server_pid = start_relay(stack, fake_port, tmp, args.serve_arg, {
            **SERVER_ENV, "VIVAVOCE_TRANSPORT": "auto" if path == "webrtc" else "relay"})
        counts: dict[str, int] = {}

        def browser(seconds: float) -> Callable[[Window, ClientResult], Awaitable[None]]:
            if path == "webrtc":
                return lambda w, r: via_webrtc(url, seconds, w, r, counts)
            return lambda w, r: via_relay(url, seconds, FRAME_MS, w, r, wait_usage=True)

        warm = await run_level(browser(0), 1, server_pid, stagger_s=0)
        if warm["start_failures"]:
            raise RuntimeError(f"the warm-up {path} interview did not start")
        counts.clear()
        row = await run_level(browser(args.seconds), clients, server_pid,
                              stagger_s=args.stagger, fake_pid=fake_pid)
        if path == "webrtc":  # no audio through the server: no frames to time
            for key in ("frames_sent", "frames_lost", "p50_ms", "p99_ms", "max_ms"):
                del row[key]
        cpu, live = row["cpu"], clients - row["start_failures"]
        return {
            "path": path, **row,
            "interviews_per_core": live / cpu if cpu > 0 else float("inf"),
            "load_average": os.getloadavg()[0],
            **({"messages": counts} if path == "webrtc" else {}),
        }


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"{args.seconds:g} s steady window, starts spread over {args.stagger:g} s; "
          f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    print("| path | interviews | start failures | start p50 / p99 ms "
          "| server CPU (processes) | interviews per core | RSS / interview "
          "| driver CPU | fake CPU | load average |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['path']} | {r['clients']} | {r['start_failures']} | "
              f"{r['start_p50_ms']:.0f} / {r['start_p99_ms']:.0f} | "
              f"{r['cpu'] * 100:.1f} % ({r['processes']}) | {r['interviews_per_core']:,.0f} | "
              f"{r['rss_per_interview_kb']:.0f} KB | {r['driver_cpu'] * 100:.0f} % | "
              f"{r['fake_cpu'] * 100:.0f} % | "
              f"{r['load_average']:.1f} |")


async def main_async(args: argparse.Namespace) -> None:
    rows = []
    for clients in args.clients:
        for path in args.paths:
            row = await measure(path, clients, args)
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
    if not args.json:
        print_table(rows, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="10,50",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--stagger", type=float, default=None,
                        help="spread the starts over this many seconds [default: N/20]")
    parser.add_argument("--paths", default=",".join(PATHS),
                        type=lambda s: [p for p in s.split(",") if p],
                        help="which transports to run at each level [default: webrtc,relay]")
    parser.add_argument("--serve-arg", action="append", default=[],
                        help="extra argument for `vivavoce serve` (repeatable)")
    parser.add_argument("--json", action="store_true", help="one JSON line per level")
    args = parser.parse_args()
    if unknown := set(args.paths) - set(PATHS):
        parser.error(f"unknown path(s) {', '.join(sorted(unknown))}: choose from {', '.join(PATHS)}")
    if args.stagger is None:
        args.stagger = max(args.clients) / 20
    run_driver(main_async(args))


if __name__ == "__main__":
    main()
