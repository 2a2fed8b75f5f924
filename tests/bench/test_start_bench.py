"""The start benchmark still runs: 3 starts, spread over a second.

Only that it works is checked (every start done, every number measured); what the
numbers are is docs/performance.md's business, never a test's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "start_bench.py"


@pytest.mark.slow
def test_the_start_bench_runs_a_small_level() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--starts", "3", "--within", "1", "--json"],
        capture_output=True, text=True, timeout=110, check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert row["starts"] == 3 and row["start_failures"] == 0
    assert row["cpu_ms_per_start"] > 0
    assert row["start_p99_ms"] >= row["start_p50_ms"] > 0
    assert row["direct_start_p50_ms"] > 0 and "start_overhead_p50_ms" in row
