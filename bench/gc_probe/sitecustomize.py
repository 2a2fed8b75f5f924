"""Garbage-collector pauses of a ``vivavoce serve`` under a bench (docs/performance.md,
"The garbage collector").

Put this directory on ``PYTHONPATH`` for a bench run (the bench's ``serve`` inherits the
environment); Python imports ``sitecustomize`` at start. In a ``serve`` process (and in
each worker of ``serve --workers N``) it times every collection and writes, every 5 s,
``gc_probe.<pid>`` into ``GC_PROBE_DIR`` (default: the temporary directory): per generation the count, total, p50 and longest pause, and
when each full collection happened (seconds since start) and how long it took::

    PYTHONPATH=bench/gc_probe uv run python bench/relay_bench.py --clients 200 --seconds 15
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_began = time.perf_counter()
_pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
_full: list[tuple[float, float]] = []
_start = 0.0


def _timed(phase: str, info: dict[str, Any]) -> None:
    global _start
    now = time.perf_counter()
    if phase == "start":
        _start = now
        return
    pause_ms = (now - _start) * 1000
    _pauses[info["generation"]].append(pause_ms)
    if info["generation"] == 2:
        _full.append((round(now - _began, 1), round(pause_ms, 1)))


def _report(path: Path) -> None:
    while True:
        time.sleep(5)
        lines = []
        for generation, pauses in _pauses.items():
            if pauses:
                ordered = sorted(pauses)
                lines.append(f"gen{generation}: {len(ordered)} collections, {sum(ordered):.0f} ms in "
                             f"all, p50 {ordered[len(ordered) // 2]:.2f} ms, longest {ordered[-1]:.1f} ms")
        lines.append(f"full collections (s since start, ms): {_full}")
        lines.append(f"tracked objects {len(gc.get_objects())}, frozen {gc.get_freeze_count()}")
        path.write_text("\n".join(lines) + "\n")


# A ``serve`` process, or a worker of ``serve --workers N`` (started by multiprocessing's
# spawn, so not "serve" in its arguments; it has its group's variable until it reads it).
if "serve" in sys.argv or "_VIVAVOCE_WORKER_GROUP" in os.environ:
    gc.callbacks.append(_timed)
    _out = Path(os.environ.get("GC_PROBE_DIR", tempfile.gettempdir())) / f"gc_probe.{os.getpid()}"
    threading.Thread(target=_report, args=(_out,), daemon=True).start()
