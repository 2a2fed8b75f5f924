"""The relay benchmark still runs: a quick smoke level (5 interviews, 3 s).

Only that it works is checked here (every start, every frame back, each reading
present); its speed is the benchmark's business (docs/performance.md), never a test's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "relay_bench.py"


@pytest.mark.slow
def test_the_relay_bench_runs_a_small_level_end_to_end() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--clients", "5", "--seconds", "3", "--json"],
        capture_output=True, text=True, timeout=110, check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert row["clients"] == 5
    assert row["start_failures"] == 0
    assert row["frames_sent"] == 5 * 3000 // 40
    assert row["frames_lost"] == 0
    # Every reading the table prints is there and was measured, not a placeholder.
    assert row["cpu"] > 0 and row["driver_cpu"] > 0
    assert row["processes"] >= 1
    assert len(row["process_cpu"]) == len(row["process_sockets"]) == row["processes"]
    assert row["process_sockets"][0] > 0
    assert row["p99_ms"] >= row["p50_ms"] > 0
    assert row["direct_p99_ms"] >= row["direct_p50_ms"] > 0
    assert row["start_p50_ms"] > 0 and row["direct_start_p50_ms"] > 0
