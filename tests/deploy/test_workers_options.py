"""``serve --workers``: a clear refusal for a count that cannot work, and the pieces the
parent and its workers share (the hand-down, reload requests, the fan-out of SIGHUP)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.fixtures.settings import MakeSettings
from vivavoce import supervisor
from vivavoce.cli import app
from vivavoce.worker_group import ENV_VARIABLE, WorkerGroup, take_reload_origins

_PREFIXES = ("VIVAVOCE_", "OPENAI_", "RAILWAY_", "DATABASE_URL", "PORT")


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    return {"VIVAVOCE_DATA_DIR": str(tmp_path / "data")}


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--workers", "0"], {}, "VIVAVOCE_WORKERS: Input should be greater than or equal to 1"),
        ([], {"VIVAVOCE_WORKERS": "-3"}, "VIVAVOCE_WORKERS: Input should be greater than"),
        ([], {"VIVAVOCE_WORKERS": "many"}, "VIVAVOCE_WORKERS: Input should be a valid integer"),
        (["--workers", "65"], {}, "VIVAVOCE_WORKERS: Input should be less than or equal to 64"),
        (["--workers", "two"], {}, "Invalid value for '--workers'"),
    ],
)
def test_a_count_that_cannot_work_is_refused_clearly(
    args: list[str], env: dict[str, str], says: str, clean: dict[str, str], tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["serve", "--port", "8999", *args], env={**clean, **env})
    assert result.exit_code == 2, result.output
    assert says in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_several_workers_cannot_share_an_in_memory_database(clean: dict[str, str]) -> None:
    env = {**clean, "DATABASE_URL": "sqlite+aiosqlite:///:memory:"}
    result = CliRunner().invoke(app, ["serve", "--port", "8999", "--workers", "2"], env=env)
    assert result.exit_code == 1, result.output
    assert "2 workers cannot share an in-memory SQLite database" in result.output
    assert "--workers 1" in result.output and "Traceback" not in result.output


def test_the_hand_down_is_read_once_and_leaves_the_environment() -> None:
    group = WorkerGroup(workers=3, parent_pid=1234, directory="/tmp/x",
                        generated_admin_token="tok-" + "x" * 20, overrides={"port": 8001})
    environ = dict(group.to_environ())
    assert WorkerGroup.take_from_environ(environ) == group
    assert ENV_VARIABLE not in environ  # what the worker starts later does not inherit it
    assert WorkerGroup.take_from_environ(environ) is None
    with pytest.raises(ValueError, match=ENV_VARIABLE):
        WorkerGroup.take_from_environ({ENV_VARIABLE: '{"workers": 2}'})


def test_reload_requests_name_the_workers_that_asked(tmp_path: Path) -> None:
    for name in ("101", "202", "stray"):
        (tmp_path / name).touch()
    assert take_reload_origins(tmp_path) == {101, 202}
    assert list(tmp_path.iterdir()) == []  # taken: the next signal starts afresh
    assert take_reload_origins(tmp_path / "missing") == set()


class _Worker(SimpleNamespace):
    def is_ready(self, timeout: float) -> bool:
        return bool(self.ready)


def _supervisor(tmp_path: Path, workers: list[_Worker]) -> Any:
    # Not started: no signal handlers, no processes; only the fan-out is exercised.
    group = WorkerGroup(workers=len(workers), parent_pid=os.getpid(), directory=str(tmp_path))
    group.reload_dir.mkdir(parents=True)
    sup = supervisor.GroupSupervisor.__new__(supervisor.GroupSupervisor)
    sup.group, sup.processes, sup._owed = group, workers, set()
    return sup


def test_sighup_reaches_every_worker_and_a_request_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(supervisor.os, "kill", lambda pid, sig: sent.append((pid, sig)))
    workers = [_Worker(pid=11, ready=True), _Worker(pid=12, ready=True),
               _Worker(pid=13, ready=False)]
    sup = _supervisor(tmp_path, workers)

    sup.handle_hup()
    assert sent == [(11, signal.SIGHUP), (12, signal.SIGHUP)]
    # The worker still starting is owed its reload, and gets it once it is up.
    workers[2].ready = True
    sup._send_owed_reloads()
    assert sent[-1] == (13, signal.SIGHUP) and not sup._owed

    sent.clear()
    (sup.group.reload_dir / "12").touch()  # worker 12 reloaded after a POST
    sup.handle_usr1()
    assert sent == [(11, signal.SIGHUP), (13, signal.SIGHUP)]

    # A worker gone before its turn is not owed anything any more.
    sent.clear()
    workers[0].ready = False
    sup.handle_hup()
    sup.processes = workers[1:]
    sup._send_owed_reloads()
    assert (11, signal.SIGHUP) not in sent and not sup._owed


_WORKER = """
import os
import sys
from vivavoce import metrics
print(os.getpid())
for _ in range(int(sys.argv[1])):
    metrics.interview_started()
metrics.interview_ended("completed")
metrics.frames_relayed("to_openai", 5)
sys.stdout.write(metrics.render().decode())
"""


def _live_and_frames(text: str) -> tuple[float, float, int]:
    from prometheus_client.parser import text_string_to_metric_families

    values: dict[str, float] = {}
    builds = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = sample.value
            builds += sample.name == "vivavoce_build_info"
    return values["vivavoce_live_interviews"], values["vivavoce_frames_relayed_total"], builds


def test_metrics_add_up_over_worker_processes(tmp_path: Path) -> None:
    """Each process writes its values to the group's directory; render() in any of them
    (and the parent's registry) shows the totals; a dead worker's live gauge goes."""
    import subprocess
    import sys

    from prometheus_client import generate_latest
    from prometheus_client.multiprocess import mark_process_dead

    from vivavoce import metrics

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def worker(started: int) -> tuple[int, str]:
        process = subprocess.run([sys.executable, "-c", _WORKER, str(started)], env=env,
                                 capture_output=True, text=True, timeout=60, check=True)
        pid, text = process.stdout.split("\n", 1)
        return int(pid), text

    first, _ = worker(3)  # 3 started, 1 ended: 2 live
    _, text = worker(2)  # 2 started, 1 ended: 1 live, and it sees the first one's too
    assert _live_and_frames(text) == (3, 10, 1)  # one build series, not one per worker
    mark_process_dead(first, str(tmp_path))  # what the parent does when a worker is gone
    parent = generate_latest(metrics.multiprocess_registry(str(tmp_path))).decode()
    assert _live_and_frames(parent) == (1, 10, 1)  # its counters still count


@pytest.mark.parametrize(("workers", "says"), [
    ("1", "workers       1 process (--workers N or VIVAVOCE_WORKERS for more cores)"),
    ("3", "workers       3 processes share the port"),
])
def test_the_banner_says_how_many_workers(
    workers: str, says: str, make_settings: MakeSettings
) -> None:
    from vivavoce.banner import render_banner
    from vivavoce.runtime import Runtime
    from vivavoce.store.database import Database

    runtime = Runtime(settings=make_settings(VIVAVOCE_WORKERS=workers),
                      db=Database("sqlite+aiosqlite:///:memory:"), admin_token="t" * 24,
                      admin_token_generated=False, secret_key="k" * 32)
    assert says in render_banner(runtime)


def test_a_gone_worker_no_longer_counts_as_live(tmp_path: Path) -> None:
    sup = _supervisor(tmp_path, [_Worker(pid=22, ready=True)])
    sup.group.metrics_dir.mkdir()
    for pid in (21, 22):
        for kind in ("gauge_livesum", "counter"):
            (sup.group.metrics_dir / f"{kind}_{pid}.db").touch()
    sup._forget_gone({21, 22})  # 21 was replaced (or removed) since the last check
    assert sorted(p.name for p in sup.group.metrics_dir.iterdir()) == [
        "counter_21.db", "counter_22.db", "gauge_livesum_22.db"]
