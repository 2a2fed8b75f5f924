"""Résumé parsing that can be stopped: each file is read in a process of its own, killed
at a deadline, under a memory limit, and only a few at a time.

A hostile PDF or DOCX can keep pypdf or python-docx busy for minutes, or make them
allocate gigabytes. A worker thread cannot be stopped, so :class:`ResumeReader` runs
:func:`~vivavoce.resume.extract.read_resume` in a separate process:

* **Which process.** Each of the ``parallel`` slots owns one long-lived parser host (a
  small interpreter running :mod:`vivavoce.resume.worker`, started on first use, that has
  imported the parsers once); for each file the host forks a child that applies the
  limits, parses, answers and exits. Measured with ``bench/resume_bench.py`` (2 busy
  CPUs, see docs/performance.md): this adds 15–25 ms to an upload, where a fresh
  interpreter per file adds about 0.7 s (importing pypdf and python-docx).
  ``multiprocessing`` was measured too and rejected: its "spawn" and "forkserver" children
  re-run the server's main module (the ``vivavoce`` script imports the whole service),
  2.5–5 s per file, and "fork" from the threaded server is unsafe.
  ``ProcessPoolExecutor`` cannot kill one task.
* **Deadline.** The host kills the child at ``timeout_s`` (SIGKILL) and reaps it before
  answering, so when :meth:`ResumeReader.read` raises, the process is gone. A candidate
  who goes away mid-parse gets the child killed at once. A host that stops answering
  (which it should never do) is killed with its child after a grace period.
* **Memory.** ``RLIMIT_AS`` in the child (``memory_bytes``, 512 MiB by default): a
  decompression bomb meets a MemoryError (or dies) instead of swapping the host machine.
  ``RLIMIT_CPU`` slightly above the deadline is a second line of defence.
* **How many.** At most ``parallel`` files are parsed at once; a further upload waits up
  to ``queue_s`` for a slot, then gets a 503 ``busy``. So résumés can use at most
  ``parallel`` cores and ``parallel`` × ``memory_bytes`` of memory, whatever is uploaded.

The event loop never waits on a process: starting a host, sending the file and waiting
for the answer happen in a worker thread whose wait is bounded by the deadline.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

import anyio

from vivavoce.config import Settings
from vivavoce.resume.errors import ResumeError
from vivavoce.resume.extract import ResumeText, read_resume
from vivavoce.resume.worker import read_frame, resolve, write_frame

__all__ = ["ReaderLimits", "ResumeReader"]

log = logging.getLogger("vivavoce.resume")

# Beyond the deadline, how long a host may take to start (imports) and answer before it
# is deemed stuck and killed.
_HOST_GRACE_S = 30.0
_MAX_ANSWER = 4 * 1024 * 1024

_TOO_COMPLEX = (
    "This file takes too long to read. Paste your résumé text instead, or save it as a "
    "simpler PDF."
)
_TOO_MUCH_MEMORY = (
    "This file needs too much memory to read (it may be built to unpack into something "
    "huge). Paste your résumé text instead, or save it as a simpler PDF."
)
_UNREADABLE = (
    "This file could not be read: the reader stopped on it. Paste your résumé text "
    "instead, or save it as a simpler PDF."
)
_BUSY = (
    "Too many résumés are being read right now. Try again in a few seconds, or paste your "
    "résumé text instead."
)
_UNAVAILABLE = (
    "Résumés cannot be read right now. Try again in a minute, or paste your résumé text "
    "instead."
)


@dataclass(frozen=True)
class ReaderLimits:
    """How long, how much memory, how many at once, how long to queue."""

    timeout_s: float = 20.0
    memory_bytes: int = 512 * 1024 * 1024
    parallel: int = 2
    queue_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ReaderLimits:
        return cls(
            timeout_s=settings.resume_timeout_seconds,
            memory_bytes=settings.resume_memory_mb * 1024 * 1024,
            parallel=settings.resume_parallel,
            queue_s=settings.resume_queue_seconds,
        )


class ResumeReader:
    """Reads résumés in killable, memory-limited processes, ``limits.parallel`` at once.

    One per running service (the app keeps it on ``runtime.resume_reader``). Call :meth:`close`
    to stop its processes; otherwise they stop when the reader is garbage-collected or
    the server exits (a host ends when its stdin closes).
    """

    def __init__(self, limits: ReaderLimits | None = None) -> None:
        self.limits = limits if limits is not None else ReaderLimits()
        self._slots = anyio.Semaphore(self.limits.parallel)
        # Hosts not in use; appended from worker threads, popped in the event loop
        # (deque appends and pops are atomic).
        self._idle: collections.deque[_Host] = collections.deque()
        self._hosts: set[_Host] = set()
        self._finalizer = weakref.finalize(self, _close_all, self._hosts)

    async def read(
        self, data: bytes, *, parse: Callable[[bytes], ResumeText] = read_resume
    ) -> ResumeText:
        """Text out of a résumé file, parsed by ``parse`` (a module-level function, as it
        is imported by name in the child) in a separate process.

        Raises :class:`ResumeError`: whatever ``parse`` raises; 422 ``too_complex`` at the
        deadline; 422 ``too_much_memory`` past the memory limit; 422 ``unreadable`` when
        the parser crashes or fails unexpectedly; 503 ``busy`` when no slot frees up in
        time; 503 ``unavailable`` when no parser process can run. TypeError for a
        ``parse`` that cannot be imported by name.
        """
        header = json.dumps(
            {
                "parse": _reference(parse),
                "timeout": self.limits.timeout_s,
                "memory": self.limits.memory_bytes,
            }
        ).encode()
        if not await self._acquire_slot():
            raise ResumeError(503, "busy", _BUSY)
        answer: dict[str, Any] = {}
        try:
            with anyio.move_on_after(self.limits.timeout_s + _HOST_GRACE_S) as guard:
                for _ in range(2):
                    host = self._idle.pop() if self._idle else self._new_host()
                    job = _Job(header, data)
                    try:
                        answer = await anyio.to_thread.run_sync(
                            self._run, host, job, abandon_on_cancel=True
                        )
                    except BaseException:
                        # Cancelled: the candidate went away (or the guard fired). The
                        # child is killed; the thread ends once the host has reaped it.
                        job.cancel()
                        raise
                    if answer.get("outcome") != "host_lost" or not answer.get("early"):
                        break
                    # An idle host had died (say, killed by an operator): one more try
                    # on a fresh one before telling the candidate.
            if guard.cancelled_caught:
                log.error(
                    "the résumé parser process did not answer within %.0f s; killed it",
                    self.limits.timeout_s + _HOST_GRACE_S,
                )
                host.kill()
                raise ResumeError(422, "too_complex", _TOO_COMPLEX)
        finally:
            self._slots.release()
        return self._interpret(answer)

    def close(self) -> None:
        """Stop every parser process (and wait for them). Idempotent."""
        self._finalizer()

    # --- internals -----------------------------------------------------------------
    async def _acquire_slot(self) -> bool:
        try:
            self._slots.acquire_nowait()
            return True
        except anyio.WouldBlock:
            pass
        with anyio.move_on_after(self.limits.queue_s):
            await self._slots.acquire()
            return True
        return False

    def _new_host(self) -> _Host:
        host = _Host()
        self._hosts.add(host)
        return host

    def _run(self, host: _Host, job: _Job) -> dict[str, Any]:
        """In a worker thread: one job on one host; the host goes back to the idle list
        (or away) when the job ends, even if the caller has stopped waiting."""
        try:
            return host.run(job)
        finally:
            # A job given up on (the candidate went away) frees its slot before its host
            # is back, so a new host may have been started meanwhile: keep no more idle
            # hosts than slots.
            if host.usable and len(self._idle) < self.limits.parallel:
                self._idle.append(host)
            else:
                host.close()
                self._hosts.discard(host)

    def _interpret(self, answer: dict[str, Any]) -> ResumeText:
        _replay_logs(answer.get("logs"))
        outcome = answer.get("outcome")
        pid = answer.get("pid")
        if outcome == "ok":
            result = answer.get("result")
            if isinstance(result, dict) and result.get("kind") in ("pdf", "docx", "txt"):
                pages = result.get("pages")
                return ResumeText(
                    kind=result["kind"],
                    text=str(result.get("text", "")),
                    truncated=bool(result.get("truncated")),
                    pages=pages if isinstance(pages, int) else None,
                )
            log.error("the résumé parser answered something unexpected (pid %s)", pid)
            raise ResumeError(422, "unreadable", _UNREADABLE)
        if outcome == "error":
            raise ResumeError(
                int(answer.get("status", 422)),
                str(answer.get("code", "unreadable")),
                str(answer.get("message", _UNREADABLE)),
            )
        if outcome == "timeout":
            log.warning(
                "résumé parsing stopped after %g s: the parser process (pid %s) was killed",
                self.limits.timeout_s,
                pid,
            )
            raise ResumeError(422, "too_complex", _TOO_COMPLEX)
        if outcome == "memory":
            log.warning(
                "résumé parsing hit the memory limit of %d MiB (pid %s)",
                self.limits.memory_bytes // (1024 * 1024),
                pid,
            )
            raise ResumeError(422, "too_much_memory", _TOO_MUCH_MEMORY)
        if outcome == "crashed":
            exit_code = answer.get("exit")
            if exit_code == -getattr(signal, "SIGXCPU", -1):
                log.warning("résumé parsing used up its CPU time (pid %s)", pid)
                raise ResumeError(422, "too_complex", _TOO_COMPLEX)
            log.warning("the résumé parser process (pid %s) died, exit code %s", pid, exit_code)
            raise ResumeError(422, "unreadable", _UNREADABLE)
        if outcome == "failed":
            log.error("the résumé parser raised %s (pid %s)", answer.get("error"), pid)
            raise ResumeError(422, "unreadable", _UNREADABLE)
        # "unavailable" (no process could start) or "host_lost" (the host died).
        raise ResumeError(503, "unavailable", _UNAVAILABLE)


class _Job:
    """One file to parse, and the child parsing it once the host has forked it.

    ``cancel`` is called from the event loop: it only sends a signal, never waits."""

    def __init__(self, header: bytes, data: bytes) -> None:
        self.header = header
        self.data = data
        self._lock = threading.Lock()
        self._child: int | None = None
        self._cancelled = False

    def started(self, child: int) -> None:
        with self._lock:
            self._child = child
            cancelled = self._cancelled
        if cancelled:
            _kill(child)

    def finished(self) -> None:
        with self._lock:
            self._child = None  # reaped: the pid may be reused from now on

    def cancel(self) -> None:
        """Stop the job: kill its child (the host reaps it and stays usable), now or as
        soon as it exists."""
        with self._lock:
            self._cancelled = True
            child = self._child
        if child is not None:
            _kill(child)


class _Host:
    """One parser host process, started on first use; runs one job at a time.

    ``run`` is called in a worker thread; ``kill`` from the event loop (it only sends a
    signal)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._dead = False
        self._jobs = 0

    @property
    def usable(self) -> bool:
        return not self._dead

    def run(self, job: _Job) -> dict[str, Any]:
        try:
            proc = self._started()
        except OSError as exc:
            log.error("cannot start a résumé parser process: %s", exc)
            self._dead = True
            return {"outcome": "unavailable"}
        stdin, stdout = _pipes(proc)
        child: object = None
        answer: dict[str, Any] | None = None
        try:
            write_frame(stdin, job.header)
            write_frame(stdin, job.data)
            stdin.flush()
            started = _read_json(stdout)
            child = started.get("started") if started is not None else None
            if isinstance(child, int):
                job.started(child)
                answer = _read_json(stdout)
        except (OSError, ValueError):
            answer = None
        finally:
            job.finished()
        self._jobs += 1
        if answer is None:
            log.error("the résumé parser process stopped answering; it will be replaced")
            self._dead = True
            # "early": nothing was parsed yet, and this host had worked before (it died
            # while idle), so the job may be tried again on a fresh host.
            return {"outcome": "host_lost", "early": child is None and self._jobs > 1}
        return answer

    def kill(self) -> None:
        """Kill the host and its child (their process group). For a host that no longer
        answers; the thread running its job then ends and closes it."""
        self._dead = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            try:
                if hasattr(os, "killpg"):
                    os.killpg(proc.pid, signal.SIGKILL)
                else:  # pragma: no cover - Windows
                    proc.kill()
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        """Stop the host (it exits when its stdin closes; killed if it does not) and
        reap it. Blocking: call from a worker thread or at shutdown."""
        self._dead = True
        proc = self._proc
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            proc.wait()

    def _started(self) -> subprocess.Popen[bytes]:
        if self._dead:
            raise OSError("this parser process was stopped")
        if self._proc is None:
            self._proc = subprocess.Popen(
                _host_command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # Its own process group: a terminal's Ctrl-C does not reach it (it ends
                # when the server closes its stdin), and kill() takes the child along.
                start_new_session=True,
            )
        return self._proc


def _host_command() -> list[str]:
    # -I: no environment variables or user site; the server's import path is handed over
    # instead, so the host imports exactly what the server would.
    code = (
        f"import sys; sys.path[:] = {sys.path!r}; "
        "from vivavoce.resume.worker import serve; serve()"
    )
    return [sys.executable, "-I", "-c", code]


def _pipes(proc: subprocess.Popen[bytes]) -> tuple[BinaryIO, BinaryIO]:
    if proc.stdin is None or proc.stdout is None:  # pragma: no cover - always piped
        raise OSError("the parser process has no pipes")
    return proc.stdin, proc.stdout  # type: ignore[return-value]


def _read_json(stream: BinaryIO) -> dict[str, Any] | None:
    raw = read_frame(stream, _MAX_ANSWER)
    if raw is None:
        return None
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))


def _reference(parse: Callable[[bytes], ResumeText]) -> str:
    module = getattr(parse, "__module__", None)
    qualname = getattr(parse, "__qualname__", None)
    reference = f"{module}:{qualname}"
    try:
        found = resolve(reference) if module and qualname and "<" not in qualname else None
    except (ImportError, AttributeError, TypeError):
        found = None
    if found is not parse:
        raise TypeError(
            f"{parse!r} cannot be run in the parser process: it must be a module-level "
            "function (the process imports it by name)"
        )
    return reference


def _replay_logs(records: Any) -> None:
    """The child's log lines (ours and the parsers'), logged here as if said here."""
    if not isinstance(records, list):
        return
    for record in records[:20]:
        if isinstance(record, list) and len(record) == 3:
            name, level, message = record
            if isinstance(name, str) and isinstance(level, int):
                logging.getLogger(name or "vivavoce.resume").log(level, "%s", message)


def _close_all(hosts: Iterable[_Host]) -> None:
    for host in list(hosts):
        host.close()
