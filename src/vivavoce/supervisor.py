"""``vivavoce serve --workers N``: N worker processes on one port, so one service uses
several cores.

Why uvicorn's own supervisor (``uvicorn.supervisors.Multiprocess``, what ``uvicorn
--workers`` runs) rather than one of our own: it is maintained with uvicorn, binds the
port in the parent and hands it to the workers, checks every worker's health over a
pipe, replaces a worker that dies or hangs, and stops the service when a worker cannot
start at all (the same failure would repeat). This module changes three things about it:

* Each worker listens on a socket of its own (:func:`bind_worker_sockets`, Linux's
  ``SO_REUSEPORT``: the kernel spreads new connections over them by a hash of their
  addresses), not on one socket shared by all. On a shared socket every worker is woken
  for each new connection and the first to accept it takes it, and the busier worker is
  the one most often awake: at 500 interviews on two workers one took 311 and the other
  177, and the busier one's latency is the service's (docs/performance.md, "500
  interviews (session 7)"). What that costs: connections already queued on a worker that
  dies wait for its replacement (the parent keeps the socket, so none is refused), and
  another process of the same user could join the port's group (Linux lets only the
  same user). Elsewhere (no ``SO_REUSEPORT``, or one that does not balance, as on macOS)
  the workers share one socket as before.

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
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from uvicorn import Config
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from vivavoce import metrics
from vivavoce.config import Settings
from vivavoce.cpus import usable_cpus
from vivavoce.runtime import Runtime
from vivavoce.worker_group import WorkerGroup, take_reload_origins

__all__ = [
    "APP_FACTORY",
    "GroupSupervisor",
    "bind_worker_sockets",
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


def bind_worker_sockets(config: Config, count: int) -> list[socket.socket]:
    """The port's listening sockets: one per worker, bound with ``SO_REUSEPORT`` (see the
    module); where that does not balance, uvicorn's one socket. Exits (uvicorn's way)
    when the port cannot be bound."""
    if count < 2 or sys.platform != "linux" or not hasattr(socket, "SO_REUSEPORT"):
        return [config.bind_socket()]
    host, port = config.host, config.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        if port:
            _port_is_free(family, host, port)
        for _ in range(count):
            sock = socket.socket(family=family)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]  # port 0: the others join the one it got
            sock.set_inheritable(True)  # as uvicorn's: the workers are spawned
    except OSError as exc:
        for sock in sockets:
            sock.close()
        log.error("%s", exc)
        sys.exit(STARTUP_FAILURE)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    log.info("listening on http://%s:%d, one socket per worker (%d)", shown, port, count)
    return sockets


def _port_is_free(family: socket.AddressFamily, host: str, port: int) -> None:
    """Raise ``OSError`` (address in use) when something already listens on the port.
    Sockets bound with ``SO_REUSEPORT`` by the same user share a port silently, so a
    second ``serve --workers N`` on a port this one's group holds would join it and take
    half of its connections; a socket bound without it is refused while anything listens
    there, as uvicorn's one socket would be. (``SO_REUSEADDR`` only lets it past the
    closed connections a restart leaves in TIME_WAIT.)"""
    with socket.socket(family=family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


class GroupSupervisor(Multiprocess):
    """uvicorn's supervisor with a socket of its own for each worker and key reloads
    sent on, not restarts (see the module)."""

    def __init__(self, config: Config, sockets: list[socket.socket], group: WorkerGroup) -> None:
        # ``sockets``: one shared by every worker, or one per worker (bind_worker_sockets).
        self.worker_sockets = sockets if len(sockets) == config.workers > 1 else None
        self._listens_on: dict[Process, socket.socket] = {}  # live workers' sockets
        self._handed: socket.socket | None = None  # to the worker started last
        super().__init__(config, sockets)
        self.group = group
        # Workers owed a SIGHUP (sent once each is up).
        self._owed: set[int] = set()

    # --- which socket a worker listens on ---
    # uvicorn's supervisor starts every worker, first or replacement, with
    # ``Process(self.config, self.sockets)``, then puts it in ``self.processes`` (appended
    # by ``init_processes``; by ``keep_subprocess_alive`` in the place of the dead worker,
    # once that one is killed and joined). So each reading of ``sockets`` here is for one
    # new worker, and by the next reading that worker is in ``processes``: it is given
    # the socket no live worker listens on. tests/deploy/test_workers_options.py pins
    # that order in uvicorn's code.
    @property
    def sockets(self) -> list[socket.socket]:
        worker_sockets = self.worker_sockets
        if worker_sockets is None:
            return self._shared
        processes = self.__dict__.get("processes", [])
        listens_on = {process: self._listens_on.get(process, self._handed)
                      for process in processes}  # the one new since the last reading
        self._listens_on = {p: sock for p, sock in listens_on.items() if sock is not None}
        taken = {id(sock) for process, sock in self._listens_on.items()
                 if process.exitcode is None}
        free = [sock for sock in worker_sockets if id(sock) not in taken]
        self._handed = free[0] if free else None
        # A worker beyond the count (SIGTTIN): every socket.
        return [self._handed] if self._handed is not None else worker_sockets

    @sockets.setter
    def sockets(self, sockets: list[socket.socket]) -> None:
        self._shared = sockets

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
            sockets = bind_worker_sockets(config, settings.workers)
            try:
                GroupSupervisor(config, sockets, group).run()
            finally:
                for sock in sockets:
                    sock.close()
