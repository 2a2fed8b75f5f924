"""The résumé parser host: a small interpreter of its own that parses each file in a
forked child with a deadline and a memory limit, so a hostile file can be stopped.

Started and spoken to by :mod:`vivavoce.resume.isolated` (never imported by the server
for its own use). It reads one job at a time on its stdin and answers each on its stdout:

* in: a frame holding a JSON header ``{"parse": "module:qualname", "timeout": seconds,
  "memory": bytes}``, then a frame holding the file's bytes;
* out: a frame ``{"started": child pid}`` as soon as the child exists (the server may
  kill it early, for a candidate who went away), then one frame holding a JSON outcome ``{"outcome": …, "pid": child pid, "logs": […]}``
  where the outcome is ``ok`` (with ``result``), ``error`` (a :class:`ResumeError`:
  ``status``, ``code``, ``message``), ``memory`` (the limit was hit), ``failed`` (the
  parser raised something else: ``error`` is its type name), ``timeout`` (killed at the
  deadline) or ``crashed`` (the child died without an answer: ``exit`` is its exit code,
  negative for a signal).

A frame is a 4-byte big-endian length and that many bytes. The answer is sent only after
the child has exited and been reaped, so when the server reads it the process is gone.

Why a fork per job from this host: the host is single-threaded and holds nothing but the
imported parsers (no event loop, sockets or locks), so ``fork`` is safe here and costs a
few milliseconds, where starting an interpreter and importing pypdf and python-docx
costs a second or more. Each child gets a fresh copy-on-write address space with its own
``RLIMIT_AS``, dies with its garbage, and can be killed without touching the host.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import math
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, BinaryIO

__all__ = ["MAX_FRAME", "read_frame", "resolve", "serve", "write_frame"]

MAX_FRAME = 16 * 1024 * 1024  # a job's file is at most 5 MB, an answer far less
_MAX_LOG_RECORDS = 20
_PRELOAD = ("vivavoce.resume.extract", "pypdf", "docx")


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(len(payload).to_bytes(4, "big"))
    stream.write(payload)


def read_frame(stream: BinaryIO, limit: int = MAX_FRAME) -> bytes | None:
    """One frame, or None at a clean end of stream. Raises ValueError for a frame over
    ``limit`` or a stream cut inside a frame."""
    head = _read_exact(stream, 4)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if size > limit:
        raise ValueError(f"frame of {size} bytes is over the limit of {limit}")
    body = _read_exact(stream, size)
    if body is None:
        raise ValueError("stream ended inside a frame")
    return body


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    parts: list[bytes] = []
    left = size
    while left:
        chunk = stream.read(left)
        if not chunk:
            if left == size:
                return None
            raise ValueError("stream ended inside a frame")
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def resolve(reference: str) -> Callable[[bytes], Any]:
    """The function named ``module:qualname``. Raises ImportError, AttributeError."""
    module_name, _, qualname = reference.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"{reference} is not callable")
    return target  # type: ignore[no-any-return]


def serve() -> None:
    """The host's main loop: jobs from stdin until it closes (the server went away)."""
    stdin = sys.stdin.buffer
    # Answers go out on a private copy of stdout; fd 1 itself becomes stderr, so a stray
    # print from a library can never corrupt the protocol.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # Nothing the host or a library logs may reach stderr raw (children send theirs back).
    logging.getLogger().addHandler(logging.NullHandler())
    for name in _PRELOAD:  # once here, so that no child pays for the imports
        importlib.import_module(name)
    _warm_up()
    while True:
        header = read_frame(stdin)
        data = read_frame(stdin)
        if header is None or data is None:
            return
        job = json.loads(header)

        def announce(pid: int) -> None:
            write_frame(answers, json.dumps({"started": pid}).encode())
            answers.flush()

        try:
            reply = _run_job(job, data, announce, keep_closed=(answers.fileno(),))
            write_frame(answers, json.dumps(reply).encode())
            answers.flush()
        except BrokenPipeError:
            return  # the server is gone; the child has been reaped already


def _warm_up() -> None:
    """Read a tiny PDF, DOCX and text file once, so that the modules and caches the
    parsers load lazily on first use are in the host, inherited by every child."""
    from vivavoce.resume.errors import ResumeError
    from vivavoce.resume.extract import read_resume

    for sample in (_tiny_pdf(), _tiny_docx(), b"Warm-up text\n"):
        with contextlib.suppress(ResumeError):
            read_resume(sample)


def _tiny_pdf() -> bytes:
    text = b"BT /F1 12 Tf 20 100 Td (Warm-up text for the parser host, long enough to count as text) Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n%s\nendstream" % (len(text), text),
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _tiny_docx() -> bytes:
    import io

    import docx

    document = docx.Document()
    document.add_paragraph("Warm-up text for the parser host")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _run_job(
    job: dict[str, Any],
    data: bytes,
    announce: Callable[[int], None],
    keep_closed: tuple[int, ...],
) -> dict[str, Any]:
    timeout = float(job["timeout"])
    if not hasattr(os, "fork"):  # Windows: no per-job child; the server's guard kills us
        announce(os.getpid())
        return _parse(job, data)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: parse, answer, exit — never return into the host's loop
        code = 70
        try:
            os.close(read_end)
            for fd in keep_closed:
                os.close(fd)
            code = _child(job, data, write_end)
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        announce(pid)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        raise
    chunks: list[bytes] = []
    received = 0
    deadline = time.monotonic() + timeout
    # Until the child's answer ends (EOF), assume it must be killed: also if reading fails.
    stopped: str | None = "crashed"
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                stopped = "timeout"
                break
            chunk = os.read(read_end, 65536)
            if not chunk:
                stopped = None
                break
            chunks.append(chunk)
            received += len(chunk)
            if received > MAX_FRAME // 2:
                break  # no honest answer is this long
    finally:
        if stopped is not None:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(read_end)
    exit_code = os.waitstatus_to_exitcode(status)
    if stopped == "timeout":
        return {"outcome": "timeout", "pid": pid}
    try:
        reply = json.loads(b"".join(chunks)) if stopped is None else None
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        return {"outcome": "crashed", "pid": pid, "exit": exit_code}
    reply["pid"] = pid
    return reply


def _child(job: dict[str, Any], data: bytes, answer_fd: int) -> int:
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # the job stream belongs to the host
    _limit_resources(int(job["memory"]), float(job["timeout"]))
    payload = json.dumps(_parse(job, data)).encode()
    view = memoryview(payload)
    while view:
        view = view[os.write(answer_fd, view) :]
    return 0


def _limit_resources(memory: int, timeout: float) -> None:
    try:
        import resource
    except ImportError:  # not on this platform
        return
    for limit, value in (
        (resource.RLIMIT_AS, memory),
        # CPU seconds: a second line of defence should the host die with the child
        # still busy (SIGXCPU at the soft limit, SIGKILL one second later).
        (resource.RLIMIT_CPU, math.ceil(timeout) + 1),
        # A crash must not write the candidate's file to disk as a core dump.
        (resource.RLIMIT_CORE, 0),
    ):
        try:
            _, hard = resource.getrlimit(limit)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            extra = 1 if limit == resource.RLIMIT_CPU else 0
            hard_value = value + extra if hard == resource.RLIM_INFINITY else hard
            resource.setrlimit(limit, (value, hard_value))
        except (ValueError, OSError):  # e.g. macOS refuses some RLIMIT_AS values
            pass


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[list[Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < _MAX_LOG_RECORDS:
            self.records.append([record.name, record.levelno, record.getMessage()])


def _parse(job: dict[str, Any], data: bytes) -> dict[str, Any]:
    from vivavoce.resume.errors import ResumeError

    # Log lines (ours, e.g. why a PDF is unreadable; pypdf's warnings; Python warnings)
    # go back to the server, to be written in its format — never raw to stderr.
    collect = _Collect()
    root = logging.getLogger()
    root.addHandler(collect)
    root.setLevel(logging.WARNING)
    logging.getLogger("vivavoce").setLevel(logging.INFO)
    logging.captureWarnings(True)
    reply: dict[str, Any]
    try:
        result = resolve(str(job["parse"]))(data)
        reply = {
            "outcome": "ok",
            "result": {
                "kind": result.kind,
                "text": result.text,
                "truncated": result.truncated,
                "pages": result.pages,
            },
        }
    except ResumeError as exc:
        reply = {"outcome": "error", "status": exc.status, "code": exc.code, "message": exc.message}
    except MemoryError:
        reply = {"outcome": "memory"}
    except BaseException as exc:  # whatever it was, the server answers for it
        reply = {"outcome": "failed", "error": type(exc).__name__}
    finally:
        root.removeHandler(collect)
    reply["logs"] = collect.records
    return reply


if __name__ == "__main__":
    serve()
