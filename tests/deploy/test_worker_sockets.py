"""``serve --workers N`` on Linux: each worker listens on a socket of its own
(``SO_REUSEPORT``), so the kernel spreads connections over the workers instead of the
busiest one taking most (``supervisor.bind_worker_sockets``); a replacement worker gets
the socket of the one it replaces."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn.supervisors.multiprocess as uvicorn_multiprocess
from uvicorn import Config

from tests.deploy.processes import base_env, serve_process
from vivavoce import supervisor
from vivavoce.testing.scenarios import scenario_key
from vivavoce.worker_group import WorkerGroup

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT balances on Linux")


def _config(workers: int) -> Config:
    return Config("vivavoce.web.worker_app:create_worker_app", host="127.0.0.1", port=0,
                  workers=workers)


def test_each_worker_gets_a_socket_of_the_port_and_the_kernel_spreads_connections() -> None:
    sockets = supervisor.bind_worker_sockets(_config(2), 2)
    try:
        assert len(sockets) == 2
        assert sockets[0].getsockname() == sockets[1].getsockname()
        assert all(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for s in sockets)
        for sock in sockets:
            sock.listen(128)
            sock.setblocking(False)
        clients = [socket.create_connection(sockets[0].getsockname()) for _ in range(64)]
        accepted = [0, 0]
        deadline = time.monotonic() + 10
        while sum(accepted) < len(clients) and time.monotonic() < deadline:
            for i, sock in enumerate(sockets):
                try:
                    sock.accept()[0].close()
                    accepted[i] += 1
                except BlockingIOError:
                    pass
        for client in clients:
            client.close()
        # By a hash of each connection's addresses: both get some (one getting none of
        # 64 is a chance of 2 in 2**64).
        assert sum(accepted) == 64 and min(accepted) > 0, accepted
    finally:
        for sock in sockets:
            sock.close()


def test_one_worker_keeps_uvicorns_one_socket() -> None:
    (sock,) = supervisor.bind_worker_sockets(_config(1), 1)
    sock.close()


class _FakeProcess:
    """Stands in for uvicorn's worker ``Process``: records the sockets it was given."""

    started: list[_FakeProcess] = []

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        self.sockets, self.exitcode, self.alive = sockets, None, True
        self.pid = 1000 + len(self.started)

    def start(self) -> None:
        self.started.append(self)

    def is_alive(self, timeout: float = 5) -> bool:
        return self.alive

    def kill(self) -> None:
        self.alive, self.exitcode = False, -9

    def join(self) -> None:
        pass


def test_uvicorns_supervisor_gives_each_worker_its_socket_and_a_replacement_the_dead_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # uvicorn's own init_processes and keep_subprocess_alive run here (only its Process
    # is replaced): this pins the order GroupSupervisor.sockets relies on.
    monkeypatch.setattr(uvicorn_multiprocess, "Process", _FakeProcess)
    monkeypatch.setattr(uvicorn_multiprocess.signal, "signal", lambda *args: None)
    monkeypatch.setattr(_FakeProcess, "started", [])
    sockets: list[Any] = [object(), object()]
    group = WorkerGroup(workers=2, parent_pid=os.getpid(), directory=str(tmp_path))
    sup = supervisor.GroupSupervisor(_config(2), sockets, group)

    sup.init_processes()
    first, second = _FakeProcess.started
    assert (first.sockets, second.sockets) == ([sockets[0]], [sockets[1]])

    sup.keep_subprocess_alive()  # both alive: nothing started
    assert len(_FakeProcess.started) == 2

    first.alive = False  # died: its replacement takes its place and its socket
    sup.keep_subprocess_alive()
    replacement = _FakeProcess.started[2]
    assert sup.processes == [replacement, second]
    assert replacement.sockets == [sockets[0]]

    second.alive = False
    sup.keep_subprocess_alive()
    assert _FakeProcess.started[3].sockets == [sockets[1]]
    assert sup.processes == [replacement, _FakeProcess.started[3]]


def test_with_one_shared_socket_every_worker_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(uvicorn_multiprocess, "Process", _FakeProcess)
    monkeypatch.setattr(uvicorn_multiprocess.signal, "signal", lambda *args: None)
    monkeypatch.setattr(_FakeProcess, "started", [])
    shared: list[Any] = [object()]
    group = WorkerGroup(workers=2, parent_pid=os.getpid(), directory=str(tmp_path))
    supervisor.GroupSupervisor(_config(2), shared, group).init_processes()
    assert [p.sockets for p in _FakeProcess.started] == [shared, shared]


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    return inodes


def _sockets_of(pid: int, inodes: set[str]) -> set[str]:
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held.add(target[8:-1])
    return held


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_each_worker_of_serve_listens_on_a_socket_of_its_own(tmp_path: Path) -> None:
    env = base_env(tmp_path, OPENAI_API_KEY=scenario_key("ok", "sockets"))
    with serve_process(env, tmp_path, name="sockets", args=("--workers", "2")) as server:
        parent = server.process.pid
        deadline = time.monotonic() + 90
        while True:  # the second worker may still be starting
            inodes = _listening_inodes(server.port)
            children = [int(c) for c in Path(f"/proc/{parent}/task/{parent}/children")
                        .read_text().split()]
            # The workers (multiprocessing's resource tracker is a child too).
            held = [h for h in (_sockets_of(child, inodes) for child in children) if h]
            if len(held) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(inodes) == 2, server.output()
        assert len(held) == 2 and all(len(h) == 1 for h in held), held  # one each
        assert held[0] != held[1]


@pytest.mark.parametrize("reuseport", [False, True], ids=["plain", "another-group"])
def test_a_port_already_listened_on_is_refused_not_joined(reuseport: bool) -> None:
    """Another ``serve --workers N`` (its sockets bound with ``SO_REUSEPORT`` too) or any
    other listener on the port: this one stops with a start-up failure instead of
    sharing the port's connections with it."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen(8)
    config = Config("vivavoce.web.worker_app:create_worker_app", host="127.0.0.1",
                    port=holder.getsockname()[1], workers=2)
    try:
        with pytest.raises(SystemExit):
            supervisor.bind_worker_sockets(config, 2)
    finally:
        holder.close()
    # Once the port is free again, the group binds it.
    sockets = supervisor.bind_worker_sockets(config, 2)
    for sock in sockets:
        sock.close()
    assert len(sockets) == 2
