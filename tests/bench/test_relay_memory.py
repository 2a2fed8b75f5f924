"""bench/relay_memory.py still runs: 2 live interviews after a 1-interview warm-up. Only
that it reports each measure is checked, never what they are (docs/performance.md,
"Memory per interview (session 6)")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "relay_memory.py"


@pytest.mark.slow
def test_the_memory_probe_reports_what_a_live_interview_holds() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--clients", "2", "--seconds", "4", "--warmup", "1",
         "--top", "3"],
        capture_output=True, text=True, timeout=110, check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = run.stdout.split("== Per live interview:", 1)[-1]
    assert re.search(r"^RSS: -?[\d.]+ KB$", report, re.M), run.stdout
    assert re.search(r"^RSS by mapping: .*KB", report, re.M), run.stdout
    assert re.search(r"^Python threads: MainThread 1 -> 1", report, re.M), run.stdout
    objects = re.search(r"^gc-tracked objects: (\d+), ", report, re.M)
    assert objects is not None and int(objects.group(1)) > 0, run.stdout
    assert re.search(r"^tracemalloc: [\d.]+ KB in \d+ allocation sites", report, re.M)
