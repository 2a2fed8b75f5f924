"""The WebRTC benchmark still runs: a quick smoke level (5 interviews, 3 s) on WebRTC.

Only that it works is checked here (every start on WebRTC, the sideband's messages on
/voice and no audio, each reading present); its speed is the benchmark's business
(docs/performance.md), never a test's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "webrtc_bench.py"


@pytest.mark.slow
def test_the_webrtc_bench_runs_a_small_level_end_to_end() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--clients", "5", "--seconds", "3", "--paths", "webrtc",
         "--json"],
        capture_output=True, text=True, timeout=150, check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (row,) = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert row["path"] == "webrtc" and row["clients"] == 5
    # Every browser got its answer, reported connected and started on WebRTC (the driver
    # counts an interview relayed instead, or fallen back, as a failed start).
    assert row["start_failures"] == 0, row
    # The fake's sideband drove the interviews: the AI's greeting reached every browser
    # over /voice, with its usage, and no audio came that way.
    assert row["messages"].get("usage", 0) >= 5
    assert row["messages"].get("ai_transcription", 0) >= 5
    assert "audio" not in row["messages"]
    assert not [kind for kind in row["messages"] if kind.startswith("failed")], row
    # Every reading the table prints is there and was measured, not a placeholder.
    # (The driver and the fake may use less than one clock tick, 10 ms, in 3 s: present,
    # not necessarily above zero.)
    assert row["cpu"] > 0, row
    assert row["driver_cpu"] >= 0 and row["fake_cpu"] >= 0, row
    assert row["processes"] >= 1
    assert row["start_p99_ms"] >= row["start_p50_ms"] > 0
    assert row["interviews_per_core"] == pytest.approx(5 / row["cpu"])
    assert row["load_average"] >= 0
