"""Run ``vivavoce serve`` as a real process, as a platform would, and wait until it is up."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["ServeProcess", "base_env", "free_port", "run_serve", "serve_process"]

# Generous: two processes migrating one after the other on a loaded 2-core machine.
_START_DEADLINE_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A clean environment: nothing from the developer's shell but PATH and HOME."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp)),
        "VIVAVOCE_DATA_DIR": str(tmp / "data"),
        "VIVAVOCE_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def _command(port: int | None, args: tuple[str, ...]) -> list[str]:
    command = [sys.executable, "-m", "vivavoce.cli", "serve", *args]
    if port is not None:
        command += ["--port", str(port)]
    return command


@dataclass
class ServeProcess:
    process: subprocess.Popen[str]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def run_serve(env: Mapping[str, str], cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``vivavoce serve`` expecting it to exit by itself (e.g. refused to start)."""
    return subprocess.run(
        _command(None, args), env=dict(env), cwd=cwd, capture_output=True, text=True,
        timeout=timeout, check=False,
    )


@contextlib.contextmanager
def serve_process(
    env: Mapping[str, str],
    cwd: Path,
    *,
    port: int | None = None,
    name: str = "serve",
    command: list[str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[ServeProcess]:
    """Start ``vivavoce serve`` on ``port`` and yield once ``/healthz`` answers; stop it
    (SIGTERM, then SIGKILL) afterwards. ``command`` replaces the whole command line (it
    must then listen on ``port`` by itself, e.g. through ``PORT``); ``args`` are added to
    the default one (e.g. ``("--workers", "2")``). Raises RuntimeError
    with its output if it exits or does not come up."""
    port = port or free_port()
    log_path = cwd / f"{name}-{port}.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            command or _command(port, ("--host", "127.0.0.1", *args)),
            env=dict(env), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
    running = ServeProcess(process, port, log_path)
    try:
        _wait_until_up(running)
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait_until_up(running: ServeProcess) -> None:
    deadline = time.monotonic() + _START_DEADLINE_S
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise RuntimeError(
                f"vivavoce serve exited with {running.process.returncode}:\n{running.output()}"
            )
        try:
            if httpx.get(f"{running.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"vivavoce serve did not come up:\n{running.output()}")
