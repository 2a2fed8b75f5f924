"""What one live interview holds in the relay's memory, by allocation site and by type.

    uv run python bench/relay_memory.py --clients 50 --seconds 30
    uv run python bench/relay_memory.py --clients 100 --no-tracemalloc    # RSS, heap, gc

relay_bench's browsers (echo fake, real-time 40 ms frames) on a ``vivavoce serve`` run
through this file, which adds one thing to it: on SIGUSR2 the process writes what it
holds (tracemalloc snapshot, gc-tracked objects by type, RSS, glibc's heap) to a file.
The steps: a few interviews run and end (a warm-up: first-use imports, caches, pools),
then a baseline is taken (tracing starts there), then ``--clients`` interviews stream
and, in their steady state, a second reading. The difference divided by the interviews
is what one live interview holds, with the relay keeping up (the bench's round trips and
lost frames are printed too, so a starved run is seen). tracemalloc slows the relay by
about half; without it (``--no-tracemalloc``) the RSS and heap readings are as in
production.

Unlike relay_bench's "RSS / interview" (growth from a fresh start, warm-up included),
these figures leave out what the first interviews pay once; ``--warmup 0`` takes the
baseline on the fresh process instead, as relay_bench does (``--stagger 2``: its storm).
Each reading also splits the RSS by kind of mapping (glibc's main heap, its other arenas,
thread stacks, pymalloc and mmap'd blocks, files) and counts the threads, so that what a
level leaves behind in arenas and threads is seen.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from relay_bench import (  # noqa: E402
    KEY,
    ClientResult,
    Window,
    free_port,
    listening,
    percentile,
    run_driver,
    start_fake,
    via_relay,
)

READING_ENV = "VIVAVOCE_MEMORY_READING"  # where the serve process writes a reading


# --- inside the serve process -------------------------------------------------------------

def _heap() -> dict[str, int]:
    """glibc's heap over every arena (malloc_info's totals): in use and held."""
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        fp = libc.fopen(f.name.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        xml = Path(f.name).read_text()
    tail = xml[xml.rfind("</heap>"):]  # the totals after the last arena
    found = {f"{kind}_{name}": int(size) for kind, name, size
             in re.findall(r'<(system|total) type="(\w+)"[^>]*size="(\d+)"', tail)}
    found["arenas"] = len(re.findall(r"<heap nr=", xml))
    return found


def _pymalloc() -> dict[str, int]:
    """pymalloc's arenas (small objects; mmap'd, outside glibc's heap), from
    ``sys._debugmallocstats``, which writes to stderr only."""
    with tempfile.TemporaryFile("w+") as f:
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read()
    found = {}
    for name, label in (("arenas", "arenas allocated current"),
                        ("arena_bytes", "bytes in allocated blocks")):
        match = re.search(rf"# {label}\s*=\s*([\d,]+)", text)
        if match:
            found[name] = int(match.group(1).replace(",", ""))
    return found


def _mappings() -> dict[str, int]:
    """RSS (bytes) by kind of mapping, from /proc/self/smaps: files by name, the main
    arena's ``[heap]``, thread stacks (8 MiB after a guard page), other glibc arenas'
    heaps (64 MiB reservations, partly ``---p``) and the rest of the anonymous memory
    (pymalloc's arenas and glibc's mmap'd blocks, which the kernel merges)."""
    rows: list[list[Any]] = []  # [start, end, perms, name, rss]
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
        if head:
            rows.append([int(head[1], 16), int(head[2], 16), head[3], head[4], 0])
        elif line.startswith("Rss:") and rows:
            rows[-1][4] = int(line.split()[1]) * 1024
    found: Counter[str] = Counter()
    for i, (start, end, perms, name, rss) in enumerate(rows):
        if name:
            kind = name if name.startswith("[") else "file " + name.rsplit("/", 1)[-1]
        elif perms.startswith("---"):
            continue
        elif (end - start == 8 << 20 and i and rows[i - 1][2].startswith("---")
              and rows[i - 1][1] == start):
            kind = "thread stacks"
        elif start % (64 << 20) == 0 and (end - start == 64 << 20 or (
                i + 1 < len(rows) and rows[i + 1][2].startswith("---")
                and rows[i + 1][0] == end and rows[i + 1][1] - start == 64 << 20)):
            # glibc's other arenas: 64 MiB-aligned reservations, the unused rest ---p.
            kind = "malloc arena heaps"
        else:
            kind = "anon (pymalloc, mmap'd blocks)"
        found[kind] += rss
    return dict(found)


def _reading(path: Path) -> None:
    import threading

    maps = _mappings()
    names = Counter(re.sub(r"[-\d]+", "#", t.name) for t in threading.enumerate())
    gc.collect()
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for o in gc.get_objects():
        name = type(o).__qualname__
        counts[name] += 1
        sizes[name] += sys.getsizeof(o)
    rss = threads = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
        if line.startswith("Threads:"):
            threads = int(line.split()[1])
    reading = {"rss": rss, "threads": threads, "maps": maps, "thread_names": dict(names),
               "heap": _heap(), "pymalloc": _pymalloc(), "gc": dict(counts),
               "gc_size": dict(sizes), "traced": tracemalloc.is_tracing()}
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(path.with_suffix(".snapshot")))
    path.write_text(json.dumps(reading))


def serve_child(argv: list[str], depth: int, trace_from: int) -> None:
    """``vivavoce serve`` with a reading on each SIGUSR2; ``depth`` > 0: tracemalloc
    starts at reading ``trace_from``, with tracebacks that deep."""
    target = Path(os.environ.pop(READING_ENV))
    taken = 0

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal taken
        if depth and taken == trace_from:
            tracemalloc.start(depth)
        _reading(target.with_name(f"{target.name}-{taken}.json"))
        taken += 1

    signal.signal(signal.SIGUSR2, on_signal)
    from vivavoce.cli import main

    sys.argv = ["vivavoce", *argv]
    main()


# --- the driver ------------------------------------------------------------------------

async def _interviews(url: str, clients: int, seconds: float, during: Any = None,
                      stagger_s: float | None = None) -> list[ClientResult]:
    window = Window(clients)
    results = [ClientResult() for _ in range(clients)]

    async def one(i: int) -> None:
        spread = clients / 20 if stagger_s is None else stagger_s  # relay_bench's stagger
        await asyncio.sleep(spread * i / max(clients, 1))
        await via_relay(url, seconds, 40, window, results[i], wait_usage=True)

    tasks = asyncio.gather(*(one(i) for i in range(clients)))
    await window.start.wait()
    pacer = asyncio.ensure_future(window.pacer.run(0.040, spread=True))  # as run_level
    if during is not None:
        await during()
    await window.end.wait()
    await tasks
    await pacer
    return results


async def _take(pid: int, base: Path, n: int) -> dict[str, Any]:
    os.kill(pid, signal.SIGUSR2)
    path = base.with_name(f"{base.name}-{n}.json")
    for _ in range(600):
        await asyncio.sleep(0.1)
        if path.exists():
            with_snapshot = path.with_suffix(".snapshot")
            reading: dict[str, Any] = json.loads(path.read_text())
            if reading["traced"]:
                reading["snapshot"] = tracemalloc.Snapshot.load(str(with_snapshot))
            return reading
    raise RuntimeError("the serve process gave no reading")


def _frame_label(frame: tracemalloc.Frame) -> str:
    name = frame.filename
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in name:
            name = name.split(marker, 1)[1]
            break
    return f"{name}:{frame.lineno}"


def report(before: dict[str, Any], after: dict[str, Any], clients: int, top: int) -> None:
    """``after`` minus ``before`` per interview (``clients``)."""
    kb = clients * 1024
    print(f"RSS: {(after['rss'] - before['rss']) / kb:.1f} KB")
    print(f"threads {before['threads']} -> {after['threads']}, malloc arenas "
          f"{before['heap']['arenas']} -> {after['heap']['arenas']}")
    print("Python threads: " + ", ".join(
        f"{name} {before['thread_names'].get(name, 0)} -> {n}"
        for name, n in sorted(after["thread_names"].items())))
    maps = Counter(after["maps"])
    maps.subtract(before["maps"])
    print("RSS by mapping: " + ", ".join(
        f"{kind} {size / kb:+.1f} KB" for kind, size in maps.most_common()
        if abs(size) >= 64 * 1024))
    heap_keys = sorted((set(before["heap"]) & set(after["heap"])) - {"arenas"})
    print("glibc heap (all arenas): " + ", ".join(
        f"{k} {(after['heap'][k] - before['heap'][k]) / kb:+.1f} KB" for k in heap_keys))
    arenas = after["pymalloc"].get("arenas", 0) - before["pymalloc"].get("arenas", 0)
    blocks = (after["pymalloc"].get("arena_bytes", 0)
              - before["pymalloc"].get("arena_bytes", 0))
    print(f"pymalloc: {arenas} arenas of 1 MiB more ({arenas * 1024 / clients:.1f} KB), "
          f"{blocks / kb:.1f} KB in its blocks")
    grown = Counter(after["gc"])
    grown.subtract(before["gc"])
    total = sum(grown.values())
    size = Counter(after["gc_size"])
    size.subtract(before["gc_size"])
    print(f"gc-tracked objects: {total / clients:.0f}, {size.total() / kb:.1f} KB "
          "(sys.getsizeof, the object itself); the most:")
    for name, n in size.most_common(top):
        print(f"  {grown[name] / clients:8.1f}  {n / kb:6.2f} KB  {name}")
    if "snapshot" not in after:
        return
    stats = after["snapshot"].statistics("traceback")
    size = sum(s.size for s in stats)
    print(f"tracemalloc: {size / kb:.1f} KB in {len(stats)} allocation sites "
          f"({sum(s.count for s in stats) / clients:.0f} blocks); the most:")
    for stat in stats[:top]:
        frames = [_frame_label(f) for f in stat.traceback]
        print(f"  {stat.size / kb:7.2f} KB  {stat.count / clients:6.1f} blocks  "
              + " < ".join(frames[-6:][::-1]))


def _start_serve(args: argparse.Namespace, port: int,
                 env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--serve-child", str(args.traceback_depth),
         "0" if args.trace_warmup else "1", "--",
         "serve", "--port", str(port), *args.serve_arg],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


async def main_async(args: argparse.Namespace) -> None:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        fake_port, _ = start_fake(stack)
        port = free_port()
        reading_base = Path(tmp) / "reading"
        env = {**os.environ, "OPENAI_API_KEY": KEY,
               "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
               "VIVAVOCE_SIMULATOR": "0", "VIVAVOCE_DATA_DIR": tmp,
               "VIVAVOCE_LOG_LEVEL": "WARNING", "DATABASE_URL": "",
               READING_ENV: str(reading_base), **dict(e.split("=", 1) for e in args.env)}
        serve = _start_serve(args, port, env)
        stack.callback(serve.kill)
        listening(serve, port, "vivavoce serve")
        url = f"ws://127.0.0.1:{port}/voice"
        cold = await _take(serve.pid, reading_base, 0)
        if args.warmup:
            await _interviews(url, args.warmup, 3)
            await asyncio.sleep(2)
        warm = await _take(serve.pid, reading_base, 1)
        readings: dict[str, Any] = {}

        async def steady() -> None:
            await asyncio.sleep(args.seconds / 2)
            readings["live"] = await _take(serve.pid, reading_base, 2)

        started = time.perf_counter()
        results = await _interviews(url, args.clients, args.seconds, steady, args.stagger)
        rtts = [r for result in results for r in result.rtts]
        starts = [r.start_ms for r in results if r.start_ms is not None]
        print(f"{args.clients} interviews, {time.perf_counter() - started:.0f} s; start "
              f"failures {sum(not r.started for r in results)}, start p50 "
              f"{statistics.median(starts) if starts else float('nan'):.1f} / p99 "
              f"{percentile(starts, 99):.1f} ms, frames lost "
              f"{sum(r.sent - len(r.rtts) for r in results)} of "
              f"{sum(r.sent for r in results)}, round trip p50 "
              f"{statistics.median(rtts) if rtts else float('nan'):.1f} ms, p99 "
              f"{percentile(rtts, 99):.1f} ms; load average {os.getloadavg()[0]:.2f}")
        if args.trace_warmup:
            print(f"\n== The warm-up ({args.warmup} interviews, ended), in all:")
            report(cold, warm, 1, args.top)
        else:
            print(f"\nThe warm-up ({args.warmup} interviews, ended): RSS "
                  f"{(warm['rss'] - cold['rss']) / 2**20:+.1f} MiB")
            print("\n== Per live interview:")
            report(warm, readings["live"], args.clients, args.top)
        if args.save:
            snapshot = (warm if args.trace_warmup else readings["live"]).get("snapshot")
            if snapshot is not None:
                snapshot.dump(args.save)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve-child":
        serve_child(sys.argv[5:], int(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=int, default=5,
                        help="interviews run and ended before the baseline (0: the baseline "
                        "is the fresh process, as relay_bench's column)")
    parser.add_argument("--stagger", type=float, default=None,
                        help="spread the starts over this many seconds [default: N/20; "
                        "relay_bench's --storm: 2]")
    parser.add_argument("--traceback-depth", type=int, default=12)
    parser.add_argument("--no-tracemalloc", dest="traceback_depth", action="store_const",
                        const=0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--trace-warmup", action="store_true",
                        help="report what the warm-up left behind instead")
    parser.add_argument("--save", help="keep the steady state's tracemalloc snapshot here")
    parser.add_argument("--serve-arg", action="append", default=[])
    parser.add_argument("--env", action="append", default=[],
                        help="NAME=VALUE for the serve process (repeatable)")
    run_driver(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
