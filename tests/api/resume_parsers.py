"""Test-only parsers for the résumé reader, run in its parser process.

They are module-level functions because the process imports a parser by name. Each gets
the "file" as bytes: here, the path of a scratch file (UTF-8) where it writes its pid, so
that a test can check the process is gone afterwards.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from vivavoce.resume import ResumeText


def _announce(data: bytes) -> Path:
    path = Path(data.decode())
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(str(os.getpid()))
    scratch.replace(path)  # whole: a test that sees the file can read the pid
    return path


def spin_forever(data: bytes) -> ResumeText:
    """A parser stuck on a hostile file: busy for ever."""
    _announce(data)
    while True:
        pass


def hog_memory(data: bytes) -> ResumeText:
    """A decompression bomb in spirit: asks for far more memory than any résumé needs."""
    import resource

    _announce(data)
    limit, _ = resource.getrlimit(resource.RLIMIT_AS)
    if limit == resource.RLIM_INFINITY or limit > 2 * 1024**3:
        # No limit: do not eat the test machine's memory; the test fails on this text.
        return ResumeText(kind="txt", text=f"no memory limit ({limit})", truncated=False)
    chunks = [bytearray(64 * 1024 * 1024) for _ in range(64)]  # 4 GiB, 64 MiB at a time
    return ResumeText(kind="txt", text=str(len(chunks)), truncated=False)


def crash(data: bytes) -> ResumeText:
    """A parser that dies in C code (a segfault), with no answer."""
    _announce(data)
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(10)
    raise AssertionError("still alive")


def raise_unexpected(data: bytes) -> ResumeText:
    """A parser bug: an exception that is not a ResumeError."""
    _announce(data)
    raise KeyError("/Root")


def noisy(data: bytes) -> ResumeText:
    """Prints to stdout and stderr (libraries do), then answers."""
    path = _announce(data)
    print("some library chatter", flush=True)
    print("more chatter", file=sys.stderr, flush=True)
    return ResumeText(kind="txt", text=f"parsed {path.name}", truncated=False)


def wait_for_go(data: bytes) -> ResumeText:
    """Parses slowly: until a test creates ``<path>.go`` (at most 20 s)."""
    path = _announce(data)
    go = path.with_name(path.name + ".go")
    deadline = time.monotonic() + 20
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return ResumeText(kind="txt", text=f"parsed {path.name}", truncated=False)
