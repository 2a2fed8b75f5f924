"""Production's default number of workers: the CPUs the container may use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.settings import MakeSettings
from vivavoce.cpus import usable_cpus
from vivavoce.supervisor import default_workers

AFFINITY = len(os.sched_getaffinity(0))


def cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "100000 100000\n"}, 1),             # v2: one CPU
        ({"cpu.max": "150000 100000\n"}, min(2, AFFINITY)),  # 1.5 CPUs: rounded up
        ({"cpu.max": "50000 100000\n"}, 1),              # half a CPU: still one worker
        ({"cpu.max": "max 100000\n"}, AFFINITY),         # no quota: what it may run on
        ({"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"}, 1),  # v1
        ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, AFFINITY),
        ({"cpu.max": "garbage\n"}, AFFINITY),            # unreadable: no quota assumed
        ({}, AFFINITY),                                  # no cgroup files at all
    ],
)
def test_the_quota_caps_the_cpus(tmp_path: Path, files: dict[str, str], expected: int) -> None:
    assert usable_cpus(cgroup(tmp_path, files)) == expected


def test_a_quota_above_the_affinity_does_not_add_cpus(tmp_path: Path) -> None:
    big = f"{(AFFINITY + 8) * 100000} 100000"
    assert usable_cpus(cgroup(tmp_path, {"cpu.max": big})) == AFFINITY  # never the host's count


def test_production_defaults_to_the_usable_cpus_development_to_one(
    make_settings: MakeSettings, tmp_path: Path,
) -> None:
    production = make_settings(VIVAVOCE_ENV="production",
                               DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3")
    assert default_workers(production, cpus=lambda: 3) == 3
    assert default_workers(make_settings(), cpus=lambda: 3) == 1
    in_memory = make_settings(VIVAVOCE_ENV="production",
                              DATABASE_URL="sqlite+aiosqlite:///:memory:")
    assert default_workers(in_memory, cpus=lambda: 3) == 1  # cannot be shared: one process
