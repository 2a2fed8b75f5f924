"""The store benchmark still runs: 3 interviews of 2 turns on SQLite.

Only that it works is checked (every write done, every count measured); what the numbers
are is docs/performance.md's business, never a test's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "store_bench.py"


@pytest.mark.slow
def test_the_store_bench_runs_a_small_level() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--interviews", "3", "--turns", "2", "--json"],
        capture_output=True, text=True, timeout=110, check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert (row["database"], row["interviews"], row["turns"]) == ("sqlite", 3, 6)
    assert row["errors"] == {}
    # Per interview: create, live, a turn and a usage per turn, the end.
    assert row["writes"] == 3 * (2 + 2 * 2 + 1)
    assert row["start_statements"] >= 2 and row["start_transactions"] >= 1
    assert row["turn_statements"] >= 1 and row["usage_statements"] >= 1
    assert row["cpu_ms_per_write"] > 0
    assert row["max_ms"] >= row["p99_ms"] >= row["p50_ms"] > 0
