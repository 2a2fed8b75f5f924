"""How many CPUs this process may use: the container's CPU limit (cgroup ``cpu.max``, or
v1's ``cpu.cfs_quota_us``/``cpu.cfs_period_us``), never more than the CPUs it may run on
(its affinity), never the host's count. Production's default number of workers.

Read by hand because ``os.cpu_count()`` is the host's and ``os.process_cpu_count()``
(3.13+) follows affinity but not the cgroup quota; no small, kept library does both.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["usable_cpus"]


def _quota(cgroup_root: Path) -> float | None:
    """The CPU quota in CPUs, or None when there is none (or it cannot be read)."""
    try:
        fields = (cgroup_root / "cpu.max").read_text().split()  # v2: "max 100000"
        if len(fields) == 2 and fields[0] != "max":
            return int(fields[0]) / int(fields[1])
        if fields:
            return None
    except (OSError, ValueError, ZeroDivisionError):
        pass
    try:  # v1
        quota = int((cgroup_root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((cgroup_root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def usable_cpus(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """At least 1: the quota rounded up (1.5 CPUs → 2 workers), capped by the affinity."""
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        available = os.cpu_count() or 1
    quota = _quota(cgroup_root)
    if quota is not None:
        available = min(available, math.ceil(quota))
    return max(1, available)
