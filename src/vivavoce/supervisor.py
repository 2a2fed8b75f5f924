"""``vivavoce serve --workers N``: N worker processes on one port, so one service uses
several cores.

Why uvicorn's own supervisor (``uvicorn.supervisors.Multiprocess``, what ``uvicorn
--workers`` runs) rather than one of our own with ``SO_REUSEPORT``: it is maintained with
uvicorn, binds the port once in the parent and hands the socket to every worker (nothing
else can bind the port beside them, unlike ``SO_REUSEPORT``), checks every worker's
health over a pipe, replaces a worker that dies or hangs, and stops the service when a
worker cannot start at all (the same failure would repeat). This module changes two
things about it:

* ``SIGHUP`` to the parent is a key reload sent on to every worker (uvicorn would restart
  them all, dropping every live interview); ``SIGUSR1`` is a worker's request to reload
  the others after a ``POST /api/admin/reload`` (:mod:`vivavoce.worker_group`). A worker
  still starting gets its ``SIGHUP`` once it is up.
* The Prometheus files of a worker that is gone are cleaned up (its live interviews no
  longer count), and the parent serves ``VIVAVOCE_METRICS_PORT`` once for all of them.

Each worker is one instance as far as the database is concerned: its own heartbeat row,
and the leases of the interviews it relays (docs/reliability.md), so a link opened again
on another worker takes its interview over as it would on another instance.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from uvicorn import Config
from uvicorn.supervisors.multiprocess import Multiprocess

from vivavoce import metrics
from vivavoce.config import Settings
from vivavoce.cpus import usable_cpus
from vivavoce.runtime import Runtime
from vivavoce.worker_group import WorkerGroup, take_reload_origins

__all__ = [
    "APP_FACTORY",
    "GroupSupervisor",
    "serve_workers",
    "worker_group_for",
    "default_workers",
    "workers_problem",
]

log = logging.getLogger("vivavoce.supervisor")

# The worker's app, as uvicorn imports it in each worker process.
APP_FACTORY = "vivavoce.web.worker_app:create_worker_app"
# How long a worker may take to answer the parent's health check before it is replaced.
WORKER_HEALTHCHECK_S = 60


def default_workers(settings: Settings, cpus: Callable[[], int] = usable_cpus) -> int:
    """Workers when none are configured: in production, the CPUs the container may use
    (cgroup quota, affinity); in development one process. One as well where several
    cannot work (an in-memory database)."""
    if not settings.is_production:
        return 1
    workers = cpus()
    if workers > 1 and workers_problem(settings) is not None:
        return 1
    return workers


def workers_problem(settings: Settings) -> str | None:
    """Why ``settings`` cannot run several workers, or None."""
    url = make_url(settings.effective_database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or database.startswith("file::memory:")
    ):
        return (
            f"vivavoce will not start: {settings.workers} workers cannot share an in-memory "
            "SQLite database (each process would have its own, empty one).\n"
            "How to fix it: use a database file (unset DATABASE_URL for the default one) or "
            "PostgreSQL, or run one worker (--workers 1 / VIVAVOCE_WORKERS=1)."
        )
    return None


def worker_group_for(runtime: Runtime, directory: str, overrides: dict[str, Any]) -> WorkerGroup:
    """What the parent hands down: only what it generated (a configured secret is read by
    each worker from its own settings)."""
    settings = runtime.settings
    configured_key = (
        settings.secret_key is not None and settings.secret_key.get_secret_value().strip()
    )
    return WorkerGroup(
        workers=settings.workers,
        parent_pid=os.getpid(),
        directory=directory,
        generated_admin_token=runtime.admin_token if runtime.admin_token_generated else None,
        generated_secret_key=None if configured_key else runtime.secret_key,
        overrides=overrides,
    )


class GroupSupervisor(Multiprocess):
    """uvicorn's supervisor with key reloads sent on, not restarts (see the module)."""

    def __init__(self, config: Config, sockets: list[socket.socket], group: WorkerGroup) -> None:
        super().__init__(config, sockets)
        self.group = group
        # Workers owed a SIGHUP (sent once each is up).
        self._owed: set[int] = set()

    # --- reloads ---
    def handle_hup(self) -> None:
        log.info("SIGHUP: every worker reloads the key")
        self._reload_all(exclude=set())

    def handle_usr1(self) -> None:
        origins = take_reload_origins(self.group)
        log.info("a worker reloaded the key; the others follow")
        self._reload_all(exclude=origins)

    def _reload_all(self, exclude: set[int]) -> None:
        for process in self.processes:
            if process.pid is not None and process.pid not in exclude:
                self._owed.add(process.pid)
        self._send_owed_reloads()

    def _send_owed_reloads(self) -> None:
        alive = {process.pid: process for process in self.processes}
        self._owed &= set(alive)
        for pid in sorted(self._owed):
            # Only a worker that is up has its SIGHUP handler; one still starting is
            # asked again at the next check (every half second).
            if alive[pid].is_ready(timeout=1):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGHUP)
                self._owed.discard(pid)

    # --- workers coming and going ---
    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        self._forget_gone(before)
        if self._owed:
            self._send_owed_reloads()

    def handle_ttou(self) -> None:
        before = {process.pid for process in self.processes}
        super().handle_ttou()
        self._forget_gone(before)

    def _forget_gone(self, before: set[int | None]) -> None:
        from prometheus_client.multiprocess import mark_process_dead

        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                # Its live-interview gauge goes; its counters stay (they counted).
                mark_process_dead(pid, str(self.group.metrics_dir))  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def _group_directory() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="vivavoce-workers-")
    try:
        (Path(directory) / "metrics").mkdir()
        (Path(directory) / "reload").mkdir()
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def _metrics_port(runtime: Runtime, group: WorkerGroup) -> Iterator[None]:
    """The unauthenticated metrics port, served once by the parent for every worker.
    Raises OSError (with the variable named) when the port cannot be bound."""
    port = runtime.settings.metrics_port
    if port is None:
        yield
        return
    from prometheus_client import start_http_server

    host = runtime.settings.host
    try:
        server, thread = start_http_server(
            port, addr=host, registry=metrics.multiprocess_registry(str(group.metrics_dir))
        )
    except OSError as exc:
        raise metrics.port_unusable(exc, host, port) from None
    log.info("metrics of every worker served without a token on http://%s:%d/metrics", host, port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def serve_workers(runtime: Runtime, overrides: dict[str, Any], **uvicorn_options: Any) -> None:
    """Run ``runtime.settings.workers`` workers on the port until SIGINT/SIGTERM. Raises
    OSError when the metrics port cannot be bound; exits (uvicorn's way) when the port
    cannot be, or when a worker cannot start."""
    settings = runtime.settings
    with _group_directory() as directory:
        group = worker_group_for(runtime, directory, overrides)
        # Inherited by every worker (uvicorn starts them from this environment): where
        # prometheus_client keeps their values, and what they share.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(group.metrics_dir)
        os.environ.update(group.to_environ())
        config = Config(
            APP_FACTORY,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            # A worker answers the parent's health check only once it has imported the
            # service (seconds on a busy machine); uvicorn's 5 s would kill it mid-start.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
            **uvicorn_options,
        )
        with _metrics_port(runtime, group):
            sock = config.bind_socket()
            try:
                GroupSupervisor(config, [sock], group).run()
            finally:
                sock.close()
