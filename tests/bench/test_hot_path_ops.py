"""bench/hot_path_ops.py still runs every section (at a tiny scale: that it runs, never
what it measures; docs/performance.md, "The hot path (session 6)")."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "hot_path_ops.py"


def test_every_section_of_the_hot_path_timings_runs() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH)], capture_output=True, text=True, timeout=110, check=False,
        env={**os.environ, "HOT_PATH_OPS_SCALE": "0.001"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    figures = re.findall(r"^(outbox|append|receive|browser|core|\s+of which).*?([\d.]+) µs",
                         run.stdout, re.M)
    assert {section for section, _ in figures} >= {"outbox", "append", "receive", "browser", "core"}
    assert all(float(value) > 0 for _, value in figures), run.stdout
