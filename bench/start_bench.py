"""What one interview's start costs the relay: CPU per start, and start time, no streaming.

    uv run python bench/start_bench.py --starts 200 --within 2     # a storm, nothing else
    uv run python bench/start_bench.py --starts 100 --within 20    # spread starts
    uv run python bench/start_bench.py --starts 100 --one-by-one   # each start alone

The same three processes as bench/relay_bench.py (the echo fake, ``vivavoce serve`` on
SQLite, this driver), but the browsers never stream: each opens ``/voice`` first (all
of them, before any start), then sends ``start_interview`` at its moment within
``--within`` seconds and waits for ``interview_started`` and the end of the greeting
(``usage``), then stays idle until every start is done. So the relay's CPU over the
start phase is the starts' own (the greeting's few audio deltas included; an idle
interview's one-second tick is a rounding error), divided per start it stays comparable
on a loaded machine where wall times do not. The socket opening (HTTP upgrade, checks,
admission) is measured apart, as CPU per connection.

Start time: ``start_interview`` → ``interview_started``; the direct path's (connect +
``session.update`` → ``session.updated`` on the fake itself, as in relay_bench) is then
measured the same way, and "start overhead" is the difference at p50.

``--json`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from relay_bench import (  # noqa: E402
    FAILED,
    KEY,
    START_TIMEOUT_S,
    cpu_seconds,
    percentile,
    process_tree,
    run_driver,
    start_fake,
    start_relay,
)


async def open_browser(url: str) -> ClientConnection:
    ws = await connect(url, max_size=None, open_timeout=START_TIMEOUT_S)
    await ws.recv()  # connected
    return ws


async def start_one(ws: ClientConnection) -> float | None:
    """``start_interview`` → ``interview_started`` in ms (None: it failed), returning
    once the greeting has ended."""
    asked = time.perf_counter()
    await ws.send(json.dumps({"type": "start_interview",
                              "candidateContext": {"name": "Bench", "major": "CS"}}))
    started: float | None = None
    while True:
        message = await ws.recv()
        if not isinstance(message, str):
            continue
        kind = json.loads(message).get("type")
        if kind == "interview_started":
            started = (time.perf_counter() - asked) * 1000
        elif kind == "usage" and started is not None:
            return started
        elif kind == "interview_ended":
            return None


async def start_direct(base_ws: str) -> float | None:
    """The direct path's start, as relay_bench measures it."""
    asked = time.perf_counter()
    async with connect(f"{base_ws}/v1/realtime?model=gpt-realtime", max_size=None,
                       additional_headers={"Authorization": f"Bearer {KEY}"},
                       open_timeout=START_TIMEOUT_S) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["audio"]}}))
        while json.loads(await ws.recv()).get("type") != "session.updated":
            pass
        return (time.perf_counter() - asked) * 1000


async def paced(count: int, within: float, one_by_one: bool,
                run: Any) -> list[float | None]:
    """``run(i)`` for every i, each at its moment within ``within`` s (or one by one)."""
    if one_by_one:
        return [await run(i) for i in range(count)]

    async def at(i: int) -> float | None:
        await asyncio.sleep(within * i / max(count, 1))
        try:
            return await asyncio.wait_for(run(i), START_TIMEOUT_S)  # type: ignore[no-any-return]
        except FAILED:
            return None

    return list(await asyncio.gather(*(at(i) for i in range(count))))


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if args.relay_url:
            fake_port, url, relay_pid = args.fake_port, args.relay_url, args.relay_pid
        else:
            fake_port, _fake_pid = start_fake(stack)
            # The warm-up's interviews may still be ending when the starts come.
            url, relay_pid = start_relay(
                stack, fake_port, tmp, args.serve_arg,
                {"VIVAVOCE_MAX_LIVE_INTERVIEWS": str(args.starts + 10)})
        pids = process_tree(relay_pid)
        # A few starts first: imports, the bank's first read, the client, the pool.
        warm = [await open_browser(url) for _ in range(3)]
        for ws in warm:
            await start_one(ws)
            await ws.close()

        cpu0, wall0 = cpu_seconds(pids), time.perf_counter()
        browsers = await asyncio.gather(*(open_browser(url) for _ in range(args.starts)))
        connect_cpu, connect_wall = cpu_seconds(pids) - cpu0, time.perf_counter() - wall0

        # For a profiler attached by hand (docs/performance.md): which process, and when.
        print(f"relay pid {relay_pid}: starting", file=sys.stderr, flush=True)
        cpu0, wall0 = cpu_seconds(pids), time.perf_counter()
        starts = await paced(args.starts, args.within, args.one_by_one,
                             lambda i: start_one(browsers[i]))
        start_cpu, start_wall = cpu_seconds(pids) - cpu0, time.perf_counter() - wall0
        for ws in browsers:
            await ws.close()

        direct = (await paced(args.starts, args.within, args.one_by_one,
                              lambda i: start_direct(f"ws://127.0.0.1:{fake_port}"))
                  if not args.no_direct else [])
    done = [s for s in starts if s is not None]
    direct_done = [s for s in direct if s is not None]
    row: dict[str, Any] = {
        "starts": args.starts, "within_s": 0.0 if args.one_by_one else args.within,
        "one_by_one": args.one_by_one,
        "start_failures": args.starts - len(done),
        "cpu_ms_per_start": start_cpu * 1000 / max(len(done), 1),
        "cpu_ms_per_connection": connect_cpu * 1000 / args.starts,
        "start_phase_s": start_wall, "connect_phase_s": connect_wall,
        "start_p50_ms": statistics.median(done) if done else float("nan"),
        "start_p99_ms": percentile(done, 99),
    }
    if direct_done:
        row["direct_start_p50_ms"] = statistics.median(direct_done)
        row["start_overhead_p50_ms"] = row["start_p50_ms"] - row["direct_start_p50_ms"]
    return row


async def main_async(args: argparse.Namespace) -> None:
    row = await measure(args)
    if args.json:
        print(json.dumps(row), flush=True)
        return
    print(f"{row['starts']} starts "
          + ("one by one" if args.one_by_one else f"within {args.within:g} s")
          + f": {row['start_failures']} failed; CPU {row['cpu_ms_per_start']:.2f} ms per "
          f"start, {row['cpu_ms_per_connection']:.2f} ms per connection; start p50 / p99 "
          f"{row['start_p50_ms']:.1f} / {row['start_p99_ms']:.1f} ms; overhead p50 "
          f"{row.get('start_overhead_p50_ms', float('nan')):.1f} ms (direct "
          f"{row.get('direct_start_p50_ms', float('nan')):.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=100)
    parser.add_argument("--within", type=float, default=2.0,
                        help="spread the starts over this many seconds")
    parser.add_argument("--one-by-one", action="store_true",
                        help="each start alone, after the previous one's greeting")
    parser.add_argument("--no-direct", action="store_true", help="skip the direct starts")
    parser.add_argument("--serve-arg", action="append", default=[],
                        help="extra argument for `vivavoce serve` (repeatable)")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    parser.add_argument("--relay-url", help="measure an already running relay instead "
                        "(e.g. one started under a profiler)")
    parser.add_argument("--relay-pid", type=int, help="its process id (CPU)")
    parser.add_argument("--fake-port", type=int, help="the port of the echo fake it uses")
    args = parser.parse_args()
    if args.relay_url and not (args.relay_pid and args.fake_port):
        parser.error("--relay-url needs --relay-pid and --fake-port")
    run_driver(main_async(args))


if __name__ == "__main__":
    main()
