"""The server's CPU and memory for WebRTC interviews (issue 17), next to the relay's.

    uv run python bench/webrtc_bench.py --clients 200,500 --seconds 20
    uv run python bench/webrtc_bench.py --clients 200 --relay     # the relay at the same N

On WebRTC the audio goes between the browser and OpenAI; the server only places the call,
drives the interview over the call's sideband (transcripts, ``response.done``, the
limits) and stores the turns. Media for 500 calls is more than two cores can run, so the
fake runs in its media-free mode (``vivavoce fake-openai --media-free-calls``): calls are
answered without a peer and the sideband carries what a real call sends — the greeting's
events, a scripted candidate answering after each reply at real-time pace, transcripts,
``response.done`` with usage.

Each simulated browser opens ``/voice``, sends ``start_interview`` with an SDP offer,
reports ``webrtc_state connected`` on the answer, waits for ``interview_started`` and
then just listens for ``--seconds``. CPU is read over that steady window for every
process of ``vivavoce serve``; RSS growth per interview from a fresh server. ``--relay``
runs the same browsers without an offer and with paced PCM (relay_bench's echo), so the
two rows compare one server's cost per interview on each transport.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from typing import Any

from relay_bench import (
    KEY,
    START_TIMEOUT_S,
    ClientResult,
    Window,
    free_port,
    pass_barriers,
    run_level,
    start,
    via_relay,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

# A browser's offer as far as the media-free fake reads it (audio, ICE credentials, a
# DTLS fingerprint); no candidates: nothing ever connects.
OFFER = "\r\n".join([
    "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=ice-ufrag:bnch",
    "a=ice-pwd:vivavocebenchonly00000000", "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
    "a=setup:actpass", "a=mid:0", "a=sendrecv", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "",
])


async def via_webrtc(url: str, seconds: float, window: Window, result: ClientResult,
                     counts: dict[str, int]) -> None:
    """One browser on ``/voice`` with a WebRTC offer; listens through the window."""
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
                    elif kind in ("interview_ended", "webrtc_fallback"):
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
    except (OSError, TimeoutError, ConnectionError, ValueError, ConnectionClosed) as exc:
        reason = f"failed: {type(exc).__name__} {exc}".strip()[:60]
        counts[reason] = counts.get(reason, 0) + 1
    finally:
        await pass_barriers(window, result)


async def measure(args: argparse.Namespace, clients: int) -> dict[str, Any]:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        fake_port = free_port()
        fake_args = ["--echo", "--audio-pace", "0"] if args.relay else ["--media-free-calls"]
        fake = start(["fake-openai", *fake_args, "--port", str(fake_port)], fake_port)
        stack.callback(fake.kill)
        port = free_port()
        server = start(["serve", "--port", str(port)], port, {
            "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
            "VIVAVOCE_SIMULATOR": "0", "VIVAVOCE_DATA_DIR": tmp, "DATABASE_URL": "",
            "VIVAVOCE_LOG_LEVEL": "WARNING", "VIVAVOCE_MAX_LIVE_INTERVIEWS": "2000",
            "VIVAVOCE_TRANSPORT": "relay" if args.relay else "auto",
            "VIVAVOCE_MAX_INTERVIEW_SECONDS": "3000",
        })
        stack.callback(server.kill)
        url = f"ws://127.0.0.1:{port}/voice"
        counts: dict[str, int] = {}
        if args.relay:
            row = await run_level(lambda w, r: via_relay(url, args.seconds, 40, w, r,
                                                         wait_usage=True),
                                  clients, server.pid, stagger_s=args.stagger)
        else:
            row = await run_level(lambda w, r: via_webrtc(url, args.seconds, w, r, counts),
                                  clients, server.pid, stagger_s=args.stagger)
        return {"path": "relay" if args.relay else "webrtc", **row, "messages": counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="10,50",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--stagger", type=float, default=None,
                        help="spread the starts over this many seconds [default: N/20]")
    parser.add_argument("--relay", action="store_true",
                        help="the same level over the relay (no offer, paced PCM)")
    args = parser.parse_args()
    if args.stagger is None:
        args.stagger = max(args.clients) / 20

    async def run() -> None:
        load = os.getloadavg()
        print(f"{os.cpu_count()} CPUs; load average before: {load[0]:.2f}; Python "
              f"{sys.version.split()[0]}", flush=True)
        for clients in args.clients:
            row = await measure(args, clients)
            print(json.dumps(row), flush=True)
            per_core = clients / row["cpu"] if row["cpu"] > 0 else float("inf")
            print(f"| {row['path']} | {clients} | {row['start_failures']} | "
                  f"{row['start_p50_ms']:.0f} / {row['start_p99_ms']:.0f} | "
                  f"{row['cpu'] * 100:.1f} % | {per_core:,.0f} | "
                  f"{row['rss_per_interview_kb']:.0f} KB | {row['driver_cpu'] * 100:.0f} % | "
                  f"{os.getloadavg()[0]:.2f} |", flush=True)

    try:
        import uvloop

        uvloop.run(run())
    except ImportError:
        asyncio.run(run())


if __name__ == "__main__":
    main()
