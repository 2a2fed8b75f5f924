"""A fresh network namespace with only loopback, for the WebRTC browser tests.

Chromium offers the addresses of every interface it finds and sends ICE checks from
them; on a host with another interface those reach the fake's loopback peer, which
would answer them (its loopback guard drops and counts the answers). The strongest
guarantee that WebRTC stays on loopback (shared/BROWSER-TESTS.md) is to run Chromium
and the servers it talks to where loopback is the only interface: a namespace made by
``unshare -n`` as root, ``lo`` up.

- A holder process keeps the namespace alive (``/proc/PID/ns/net``).
- :meth:`NetNamespace.run` runs a function on a thread that has joined the namespace
  (``setns``): sockets it opens — and threads it starts, such as the background servers'
  — live there. The test's own HTTP calls to the servers go through it too.
- :meth:`NetNamespace.chromium` is a wrapper script that starts Chromium inside it.

Unavailable (not root, no ``unshare``): :func:`open_namespace` says why, and the tests
skip unless ``VIVAVOCE_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["NetNamespace", "open_namespace"]

T = TypeVar("T")

CLONE_NEWNET = 0x40000000


class NetNamespace:
    def __init__(self, holder: subprocess.Popen[bytes], workdir: Path) -> None:
        self.holder = holder
        self.path = f"/proc/{holder.pid}/ns/net"
        self.workdir = workdir
        self.executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="netns", initializer=self._join
        )

    def _join(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
        finally:
            os.close(fd)

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the namespace's thread; its result or exception."""
        return self.executor.submit(fn, *args, **kwargs).result(timeout=60)

    def chromium(self, executable: Path) -> Path:
        """A script that runs ``executable`` (with its arguments) inside the namespace."""
        script = self.workdir / "chromium-in-netns"
        script.write_text(f'#!/bin/sh\nexec nsenter --net={self.path} {executable} "$@"\n')
        script.chmod(0o755)
        return script

    def interfaces(self) -> list[str]:
        """The namespace's interfaces, as ``ip -br link`` names them (tests: only lo)."""
        out = subprocess.run(
            ["nsenter", f"--net={self.path}", "ip", "-br", "link"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    @contextlib.contextmanager
    def udp_blocked(self) -> Iterator[None]:
        """Drop every UDP datagram in the namespace meanwhile (a network that blocks UDP:
        WebRTC media cannot connect; TCP — the app, /voice, the fake's API — works)."""
        rule = ["INPUT", "-p", "udp", "-j", "DROP"]
        subprocess.run(["nsenter", f"--net={self.path}", "iptables", "-I", *rule], check=True)
        try:
            yield
        finally:
            subprocess.run(["nsenter", f"--net={self.path}", "iptables", "-D", *rule], check=True)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.holder.kill()
        self.holder.wait(timeout=10)
        for stream in (self.holder.stdout, self.holder.stderr):
            if stream is not None:
                stream.close()


def open_namespace(workdir: Path) -> NetNamespace | str:
    """A new namespace, or why there cannot be one here."""
    if os.geteuid() != 0:
        return "a network namespace needs root"
    for tool in ("unshare", "nsenter", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is missing"
    holder = subprocess.Popen(
        ["unshare", "-n", "sh", "-c", "ip link set lo up && echo ready && exec sleep 86400"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert holder.stdout is not None
    if holder.stdout.readline().strip() != b"ready":
        holder.kill()
        _, err = holder.communicate(timeout=10)
        return f"unshare -n failed: {err.decode(errors='replace').strip()}"
    return NetNamespace(holder, workdir)
