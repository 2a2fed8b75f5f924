"""Relay latency, CPU and memory at hundreds of interviews, against the fake's ECHO mode.

    uv run python bench/relay_bench.py --clients 50,200,500 --seconds 15
    uv run python bench/relay_bench.py --storm 200            # 200 starts within 2 s
    uv run python bench/relay_bench.py --clients 200 --relay-url ws://127.0.0.1:9000/voice \
        --relay-pid 4242 --fake-port 9100                     # another relay (e.g. the Node one)

Three kinds of process, as in production: the fake (``vivavoce fake-openai --echo``, which
sends every appended audio chunk straight back as ``response.output_audio.delta``), the
relay (``vivavoce serve``; every process of it is counted, workers included) and this one,
the simulated browsers. Each browser starts an interview, waits for the greeting to pass,
then sends PCM frames at real time (as a microphone does; the browsers' phases spread
evenly over the frame period, ``--burst`` sends them all at once as this driver did
before 2026-12-04) and times each frame's round trip: browser → relay → fake → relay →
browser. The same browsers then run against the fake directly (no compression, appends
written as the relay writes them), so the difference is what the relay adds ("added"
columns). Every level gets a fresh relay and a fresh fake, so memory is measured from a
clean start. The browsers' sockets and their clock (``browser_socket.py``) and the
fake's ECHO mode are built to cost little per frame: they run on the relay's machine.

Columns: starts that failed (no ``interview_started`` within 15 s), frames lost (sent but
never echoed back), added latency per frame at p50/p99 (relay minus direct at the same
percentile), the relay's CPU over the steady window summed over all of its processes
(100 % = one core) and that CPU per echoed frame (which stays comparable on a shared
machine), its RSS growth per interview, this driver's own CPU and the fake's (so a
saturated driver or fake is seen, not mistaken for a slow relay), each also per echoed
frame, and the load average at the window's end.

``--json`` prints one JSON object per level instead of a table (the test suite's smoke
run reads it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browser_socket import BrowserSocket, Pacer, Stream
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from vivavoce.testing.scenarios import scenario_key

BYTES_PER_MS = 48
MAGIC = bytes([0x11, 0x00, 0x22, 0x00])  # two quiet samples: never speech to the VAD
KEY = scenario_key("ok", "bench")
START_TIMEOUT_S = 15.0
PROBE = 2**31
# What ends one browser's run without ending the benchmark (counted as a failed start or
# lost frames): a refused or dropped socket (a keepalive ping timeout under load, too).
FAILED = (OSError, TimeoutError, ConnectionError, ValueError, ConnectionClosed,
          InvalidHandshake)


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
    return listening(process, port, f"vivavoce {args[0]}")


def listening(process: subprocess.Popen[bytes], port: int, what: str) -> subprocess.Popen[bytes]:
    """Wait (up to 30 s) until ``process`` listens on ``port``; kill it if it never does."""
    for _ in range(1500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.02)
    process.kill()
    process.wait()
    raise RuntimeError(f"{what} did not start")


# --- /proc readings of a whole process tree ---------------------------------------------

def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with suppress(OSError):
            kids += [int(p) for p in (task / "children").read_text().split()]
    return kids


def process_tree(pid: int) -> list[int]:
    """``pid`` and every descendant (uvicorn workers, résumé parser hosts…)."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def stop_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` and every process under it. Killing only ``serve --workers N``'s
    parent left its workers running on their own (orphans still relaying, reconnecting,
    writing their heartbeat: CPU taken from every later run on the machine)."""
    pids = process_tree(process.pid)
    process.kill()  # first, so that it cannot start a worker in place of one killed below
    for pid in pids[1:]:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (Linux /proc)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def per_process_cpu(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds([pid]) for pid in pids}


def sockets_open(pid: int) -> int:
    """How many sockets ``pid`` holds: a relay worker holds two per interview (the
    browser's and the upstream one), so this shows how a worker group shared them."""
    count = 0
    with suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with suppress(OSError):
                count += os.readlink(fd).startswith("socket:")
    return count


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


# --- one simulated browser --------------------------------------------------------------

@dataclass
class Window:
    """Every client measures in the same window, so CPU is read around the steady state
    only (not connecting, greetings or teardown). Clients whose start failed still pass
    the barriers, so one failure does not hang the rest. The clients' frames are sent by
    one :class:`Pacer` for the level, started when the window opens."""

    clients: int
    start: asyncio.Barrier = field(init=False)
    end: asyncio.Barrier = field(init=False)
    pacer: Pacer = field(init=False, default_factory=Pacer)

    def __post_init__(self) -> None:
        self.start = asyncio.Barrier(self.clients + 1)
        self.end = asyncio.Barrier(self.clients + 1)


@dataclass
class ClientResult:
    started: bool = False
    start_ms: float | None = None
    passed_start: bool = False
    passed_end: bool = False
    sent: int = 0
    rtts: list[float] = field(default_factory=list)


# The frames of a level, built once and shared by its browsers: the driver allocates
# nothing per frame but the masked copy the WebSocket framing makes.
@functools.cache
def pcm_frames(count: int, ms: int) -> list[bytes]:
    return [frame(n, ms) for n in range(count)]


@functools.cache
def append_events(count: int, ms: int) -> list[str]:
    """The same frames as ``input_audio_buffer.append`` events, as the relay writes them."""
    return [append_event(pcm) for pcm in pcm_frames(count, ms)]


def append_event(pcm: bytes) -> str:
    return '{"type":"input_audio_buffer.append","audio":"' + base64.b64encode(pcm).decode() + '"}'


def relayed_number(message: str | bytes) -> int | None:
    """The frame number of a binary frame from the relay (``None``: not one of ours)."""
    return frame_number(message) if isinstance(message, bytes) else None


_DELTA_HEAD = '{"type":"response.output_audio.delta",'
_DELTA_MEMBER = '"delta":"'
_NUMBER_B64 = 16  # base64 characters holding a frame's first 12 bytes (magic + counter)


def echoed_number(message: str | bytes) -> int | None:
    """The frame number of an audio delta from the fake (``None``: another event). A
    delta as the fake writes it is read from its first base64 characters; anything else
    is parsed in full."""
    if not isinstance(message, str):
        return None
    if message.startswith(_DELTA_HEAD) and (at := message.find(_DELTA_MEMBER)) >= 0:
        at += len(_DELTA_MEMBER)
        head = message[at:at + _NUMBER_B64]
    else:
        event = json.loads(message)
        if event.get("type") != "response.output_audio.delta":
            return None
        head = str(event.get("delta", ""))[:_NUMBER_B64]
    try:
        return frame_number(base64.b64decode(head))
    except ValueError:
        return None


async def settle(socket: BrowserSocket, probe: str | bytes,
                 number: Callable[[str | bytes], int | None]) -> None:
    """Send one probe frame and wait for its echo: audio is relayed in order, so once it
    is back, nothing sent before it (the greeting) is still on its way."""
    socket.send(probe)
    while number(await socket.recv()) != PROBE:
        pass


async def paced_echo(socket: BrowserSocket, frames: list[str | bytes],
                     number: Callable[[str | bytes], int | None], window: Window,
                     result: ClientResult) -> None:
    """Hand this browser's frames to the level's pacer (real time, phases spread) and
    record each one's round trip in ms, timed in the loop's read callback."""
    stream = Stream(socket, frames, number, result.rtts)
    window.pacer.add(stream)
    await window.start.wait()
    result.passed_start = True
    try:
        await stream.finish(patience_s=10)  # what never came back is counted as lost
    finally:
        result.sent = stream.sent
    await window.end.wait()
    result.passed_end = True


async def pass_barriers(window: Window, result: ClientResult) -> None:
    """A client that failed (to start, or midway) still meets the others at the
    barriers, so one failure is counted instead of hanging the run."""
    if not result.passed_start:
        await window.start.wait()
    if not result.passed_end:
        await window.end.wait()


def frames_for(seconds: float, frame_ms: int) -> int:
    return int(seconds * 1000 / frame_ms)


async def via_relay(url: str, seconds: float, frame_ms: int, window: Window,
                    result: ClientResult, *, wait_usage: bool) -> None:
    """One browser on ``/voice``: the original protocol (binary PCM both ways). It
    offers permessage-deflate, as browsers do (vivavoce's ``/voice`` declines it)."""
    socket: BrowserSocket | None = None
    try:
        socket = await asyncio.wait_for(BrowserSocket.connect(url, deflate=True),
                                        START_TIMEOUT_S)
        await socket.recv()  # connected
        asked = time.perf_counter()
        socket.send(json.dumps({"type": "start_interview",
                                "candidateContext": {"name": "Bench", "major": "CS"}}))

        async def started(socket: BrowserSocket) -> None:
            while True:
                message = await socket.recv()
                if isinstance(message, str):
                    kind = json.loads(message).get("type")
                    if kind == "interview_started":
                        result.start_ms = (time.perf_counter() - asked) * 1000
                        if not wait_usage:
                            return
                    if kind == "usage" and result.start_ms is not None:
                        return  # the greeting is over
                    if kind == "interview_ended":
                        raise ConnectionError("ended before it started")

        await asyncio.wait_for(started(socket), START_TIMEOUT_S)
        await asyncio.wait_for(settle(socket, frame(PROBE, frame_ms), relayed_number),
                               START_TIMEOUT_S)
        result.started = True
        frames: list[str | bytes] = list(pcm_frames(frames_for(seconds, frame_ms), frame_ms))
        await paced_echo(socket, frames, relayed_number, window, result)
        socket.send(json.dumps({"type": "end_interview"}))
    except FAILED:
        pass  # counted: a start failure, or frames lost
    finally:
        await pass_barriers(window, result)
        if socket is not None:
            await socket.close()


async def direct(base_ws: str, seconds: float, frame_ms: int, window: Window,
                 result: ClientResult) -> None:
    """The same browser talking to the fake itself: what the relay's numbers are
    compared with. Start time here is connect + session.update → session.updated, which
    is what OpenAI's side of a start costs. Like the relay's own upstream connection, it
    asks for no compression, and its appends are written as the relay writes them."""
    socket: BrowserSocket | None = None
    try:
        asked = time.perf_counter()
        socket = await asyncio.wait_for(BrowserSocket.connect(
            f"{base_ws}/v1/realtime?model=gpt-realtime",
            [("Authorization", f"Bearer {KEY}")]), START_TIMEOUT_S)
        socket.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["audio"]}}))

        async def updated(socket: BrowserSocket) -> None:
            while json.loads(await socket.recv()).get("type") != "session.updated":
                pass

        await asyncio.wait_for(updated(socket), START_TIMEOUT_S)
        result.start_ms = (time.perf_counter() - asked) * 1000
        await asyncio.wait_for(
            settle(socket, append_event(frame(PROBE, frame_ms)), echoed_number),
            START_TIMEOUT_S)
        result.started = True
        frames: list[str | bytes] = list(append_events(frames_for(seconds, frame_ms), frame_ms))
        await paced_echo(socket, frames, echoed_number, window, result)
    except FAILED:
        pass  # counted: a start failure, or frames lost
    finally:
        await pass_barriers(window, result)
        if socket is not None:
            await socket.close()


# --- levels -----------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run_level(make: Callable[[Window, ClientResult], Awaitable[None]], clients: int,
                    server_pid: int, *, stagger_s: float, fake_pid: int = 0,
                    frame_ms: int = 40, burst: bool = False) -> dict[str, Any]:
    """One level of ``clients`` browsers; CPU over the steady window of the server's
    processes, of this driver and (given ``fake_pid``) of the fake, so a saturated fake
    is seen too."""
    window = Window(clients)
    results = [ClientResult() for _ in range(clients)]
    pids = process_tree(server_pid)
    rss0 = rss_bytes(pids)

    async def one(i: int) -> None:
        await asyncio.sleep(stagger_s * i / max(clients, 1))
        await make(window, results[i])

    tasks = asyncio.gather(*(one(i) for i in range(clients)))
    await window.start.wait()
    pacer = asyncio.ensure_future(window.pacer.run(frame_ms / 1000, spread=not burst))
    pids = process_tree(server_pid)
    me = [os.getpid()]
    fake = process_tree(fake_pid) if fake_pid else []
    cpu0, mine0, wall0 = cpu_seconds(pids), cpu_seconds(me), time.perf_counter()
    fake0, each0 = cpu_seconds(fake), per_process_cpu(pids)
    await window.end.wait()
    pids = process_tree(server_pid)
    wall = time.perf_counter() - wall0
    each = {pid: (cpu - each0.get(pid, 0.0)) / wall for pid, cpu in per_process_cpu(pids).items()}
    sockets = {pid: sockets_open(pid) for pid in pids}
    cpu, mine = cpu_seconds(pids) - cpu0, cpu_seconds(me) - mine0
    fake_cpu = cpu_seconds(fake) - fake0
    rss = rss_bytes(pids)
    load = os.getloadavg()[0]
    await tasks
    await pacer
    rtts = [r for result in results for r in result.rtts]
    echoed = max(len(rtts), 1)
    starts = [r.start_ms for r in results if r.start_ms is not None]
    return {
        "clients": clients,
        "start_failures": sum(not r.started for r in results),
        "start_p50_ms": statistics.median(starts) if starts else float("nan"),
        "start_p99_ms": percentile(starts, 99),
        "frames_sent": sum(r.sent for r in results),
        "frames_lost": sum(r.sent - len(r.rtts) for r in results),
        "p50_ms": statistics.median(rtts) if rtts else float("nan"),
        "p99_ms": percentile(rtts, 99),
        "max_ms": max(rtts, default=float("nan")),
        "cpu": cpu / wall,
        # CPU per relayed frame (one each way per echo): unlike "cpu", it stays
        # comparable when the machine is shared and the relay gets less than it asks.
        "cpu_ms_per_frame": cpu * 1000 / echoed,
        "window_s": wall,
        "processes": len(pids),
        # Each process of the relay (the parent first): its share of a core and the
        # sockets it held at the window's end (is a worker group's load even?).
        "process_cpu": [round(each[pid], 3) for pid in pids],
        "process_sockets": [sockets[pid] for pid in pids],
        "rss_per_interview_kb": (rss - rss0) / max(clients, 1) / 1024,
        # The driver and the fake share the machine with the relay: what they burn per
        # frame is taken from it (docs/performance.md, "How it is measured").
        "driver_cpu": mine / wall,
        "driver_ms_per_frame": mine * 1000 / echoed,
        **({"fake_cpu": fake_cpu / wall, "fake_ms_per_frame": fake_cpu * 1000 / echoed}
           if fake_pid else {}),
        "load_average": load,
    }


ECHO_FAKE = ("--echo", "--audio-pace", "0")


def start_fake(stack: ExitStack, mode: tuple[str, ...] = ECHO_FAKE) -> tuple[int, int]:
    """A fresh fake OpenAI (ECHO mode unless ``mode`` says otherwise)."""
    port = free_port()
    fake = start(["fake-openai", *mode, "--port", str(port)], port)
    stack.callback(stop_tree, fake)
    return port, fake.pid


def start_relay(stack: ExitStack, fake_port: int, data_dir: str, extra: list[str],
                env: dict[str, str] | None = None) -> tuple[str, int]:
    """A fresh ``vivavoce serve`` on SQLite in ``data_dir``, talking to the fake."""
    port = free_port()
    relay = start(["serve", "--port", str(port), *extra], port, {
        "OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
        "VIVAVOCE_SIMULATOR": "0", "VIVAVOCE_DATA_DIR": data_dir,
        "VIVAVOCE_LOG_LEVEL": "WARNING", "DATABASE_URL": "", **(env or {}),
    })
    stack.callback(stop_tree, relay)
    return f"ws://127.0.0.1:{port}/voice", relay.pid


async def measure(args: argparse.Namespace, clients: int) -> dict[str, Any]:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if args.relay_url:
            fake_port, fake_pid = args.fake_port, 0
            url, relay_pid = args.relay_url, args.relay_pid
        else:
            fake_port, fake_pid = start_fake(stack)
            url, relay_pid = start_relay(stack, fake_port, tmp, args.serve_arg)
        return await compare(args, clients, url, relay_pid, fake_port, fake_pid,
                             wait_usage=not args.relay_url)


async def compare(args: argparse.Namespace, clients: int, url: str, relay_pid: int,
                  fake_port: int, fake_pid: int, *, wait_usage: bool) -> dict[str, Any]:
    """One level through the relay at ``url``, then (unless ``--no-direct``) the same
    browsers straight to the fake: the "added" columns are the difference.
    ``wait_usage``: the relay reports the greeting's end with a ``usage`` message
    (vivavoce does; a relay that does not is measured from ``interview_started``)."""
    relay = await run_level(
        lambda w, r: via_relay(url, args.seconds, args.frame_ms, w, r, wait_usage=wait_usage),
        clients, relay_pid, stagger_s=args.stagger, fake_pid=fake_pid, frame_ms=args.frame_ms,
        burst=args.burst)
    row = {"path": "relay", **relay}
    if not args.no_direct:
        direct_row = await run_level(
            lambda w, r: direct(f"ws://127.0.0.1:{fake_port}", args.seconds,
                                args.frame_ms, w, r),
            clients, fake_pid or os.getpid(), stagger_s=args.stagger, frame_ms=args.frame_ms,
            burst=args.burst)
        row["direct_p50_ms"], row["direct_p99_ms"] = direct_row["p50_ms"], direct_row["p99_ms"]
        row["direct_start_p50_ms"] = direct_row["start_p50_ms"]
        # On the direct path the fake is the server: its CPU is the row's "cpu".
        row["direct_driver_ms_per_frame"] = direct_row["driver_ms_per_frame"]
        row["direct_fake_ms_per_frame"] = direct_row["cpu_ms_per_frame"]
        row["added_p50_ms"] = relay["p50_ms"] - direct_row["p50_ms"]
        row["added_p99_ms"] = relay["p99_ms"] - direct_row["p99_ms"]
        row["start_overhead_p50_ms"] = relay["start_p50_ms"] - direct_row["start_p50_ms"]
    return row


def processes(row: dict[str, Any]) -> str:
    """``4: 1/57/57/0 %``: each process's share of a core, the parent first (one: ``1``)."""
    shares = row.get("process_cpu", [])
    if len(shares) < 2:
        return str(row["processes"])
    return f"{row['processes']}: " + "/".join(f"{share * 100:.0f}" for share in shares) + " %"


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"{args.frame_ms} ms frames at real time, {args.seconds:g} s per interview, starts "
          f"spread over {args.stagger:g} s; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    named = any("relay" in r for r in rows)  # rows of several relays side by side
    print(("| relay " if named else "")
          + "| interviews | start failures | start p50 / p99 ms | start overhead p50 ms "
          "| frames lost | added p50 / p99 ms | relay p99 ms | relay CPU (processes) "
          "| CPU ms / frame | RSS / interview | driver CPU | fake CPU "
          "| driver / fake ms / frame | load average |")
    print(("| --- " if named else "") + "|" + " ---: |" * 14)
    for r in rows:
        fake_cpu = f"{r['fake_cpu'] * 100:.0f} %" if "fake_cpu" in r else "—"
        fake_ms = f"{r['fake_ms_per_frame']:.3f}" if "fake_ms_per_frame" in r else "—"
        print((f"| {r.get('relay', '')} " if named else "")
              + f"| {r['clients']} | {r['start_failures']} | {r['start_p50_ms']:.1f} / "
              f"{r['start_p99_ms']:.1f} | {r.get('start_overhead_p50_ms', float('nan')):.1f} | "
              f"{r['frames_lost']} of {r['frames_sent']} | "
              f"{r.get('added_p50_ms', float('nan')):.1f} / "
              f"{r.get('added_p99_ms', float('nan')):.1f} | {r['p99_ms']:.1f} | "
              f"{r['cpu'] * 100:.0f} % ({processes(r)}) | {r['cpu_ms_per_frame']:.3f} | "
              f"{r['rss_per_interview_kb']:.0f} KB | {r['driver_cpu'] * 100:.0f} % | "
              f"{fake_cpu} | {r['driver_ms_per_frame']:.3f} / {fake_ms} | "
              f"{r['load_average']:.1f} |")


async def main_async(args: argparse.Namespace) -> None:
    rows = []
    levels = [args.storm] if args.storm else args.clients
    for clients in levels:
        row = await measure(args, clients)
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
    if not args.json:
        print_table(rows, args)


def driver_options(parser: argparse.ArgumentParser, clients: str = "1,10,50") -> None:
    """The options of the simulated browsers and of ``vivavoce serve``, shared with
    bench/node_relay.py so that both measure with the same driver."""
    parser.add_argument("--clients", default=clients,
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--frame-ms", type=int, default=40)
    parser.add_argument("--stagger", type=float, default=None,
                        help="spread the starts over this many seconds [default: N/20]")
    parser.add_argument("--no-direct", action="store_true", help="skip the direct rows")
    parser.add_argument("--burst", action="store_true",
                        help="every browser's frame at the same instant each period, as the "
                        "driver did before 2026-12-04 [default: phases spread]")
    parser.add_argument("--serve-arg", action="append", default=[],
                        help="extra argument for `vivavoce serve` (repeatable)")
    parser.add_argument("--json", action="store_true", help="one JSON line per level")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    driver_options(parser)
    parser.add_argument("--storm", type=int, default=0,
                        help="one level of N interviews all started within 2 s")
    parser.add_argument("--relay-url", help="measure an already running relay instead")
    parser.add_argument("--relay-pid", type=int, help="its process id (CPU and memory)")
    parser.add_argument("--fake-port", type=int, help="the port of the echo fake it uses")
    args = parser.parse_args()
    if args.relay_url and not (args.relay_pid and args.fake_port):
        parser.error("--relay-url needs --relay-pid and --fake-port")
    if args.stagger is None:
        args.stagger = 2.0 if args.storm else max(level for level in args.clients) / 20
    run_driver(main_async(args))


def run_driver(main: Coroutine[Any, Any, None]) -> None:
    """Run the driver on uvloop: it must not be the bottleneck at 500 interviews."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


if __name__ == "__main__":
    main()
