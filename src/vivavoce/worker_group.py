"""What ``vivavoce serve --workers N``'s parent hands to its worker processes, and the one
thing a worker asks of the parent (reload the others).

The parent (:mod:`vivavoce.supervisor`) generates what development generates once — the
admin token, and the signing key when it cannot keep one in the data directory — so every
worker accepts the same token and the same links. It passes them down in one environment variable,
:data:`ENV_VARIABLE` (JSON), which the worker reads and removes at once
(:meth:`WorkerGroup.take_from_environ`): nothing the worker starts later (résumé parser
hosts, the simulator) inherits it, and it is never logged.

The group's directory (a temporary directory the parent creates and deletes) holds the
Prometheus files of every worker (``metrics/``) and reload requests (``reload/``).

Key reload across workers. ``SIGHUP`` to the parent is sent on by the parent to every
worker. ``POST /api/admin/reload`` lands on one worker, which reloads and then calls
:func:`ask_siblings_to_reload`: it leaves a file named by its process id in ``reload/``
and sends ``SIGUSR1`` to the parent, which sends ``SIGHUP`` to every worker but the ones
that left a file. Two workers asking at once are both left out (each has reloaded
already), and no request can be lost between the file and the signal, because the
parent reads the directory only after the signal. Each worker checks the key itself
(the doctor runs once per worker), so a worker whose check fails keeps its key and says
so in its log.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_VARIABLE",
    "WorkerGroup",
    "ask_siblings_to_reload",
    "take_reload_origins",
]

ENV_VARIABLE = "_VIVAVOCE_WORKER_GROUP"


@dataclass(frozen=True)
class WorkerGroup:
    """One worker's view of the group it belongs to."""

    workers: int
    parent_pid: int
    directory: str
    # What the parent generated because the settings hold none (None = configured: each
    # worker reads it from its settings, so a worker restarted after a change to the
    # configured value gets the new one, as a reload would).
    generated_admin_token: str | None = None
    generated_secret_key: str | None = None
    # The command's flags (--host, --port), applied on top of each worker's settings.
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def metrics_dir(self) -> Path:
        return Path(self.directory) / "metrics"

    @property
    def reload_dir(self) -> Path:
        return Path(self.directory) / "reload"

    def to_environ(self) -> dict[str, str]:
        return {ENV_VARIABLE: json.dumps(asdict(self))}

    @classmethod
    def take_from_environ(cls, environ: MutableMapping[str, str]) -> WorkerGroup | None:
        """The group handed down to this process (removed from ``environ``), or None when
        this process is not a worker of a group. Raises ValueError for a malformed value."""
        raw = environ.pop(ENV_VARIABLE, None)
        if raw is None:
            return None
        try:
            return cls(**json.loads(raw))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{ENV_VARIABLE} is not what the parent hands down") from exc


def ask_siblings_to_reload(group: WorkerGroup) -> bool:
    """From a worker that has just reloaded: ask the parent to reload every other worker.
    False (nothing sent) when the parent is gone. Never raises."""
    if os.getppid() != group.parent_pid:
        return False  # orphaned: never signal whoever adopted us
    try:
        group.reload_dir.mkdir(parents=True, exist_ok=True)
        (group.reload_dir / str(os.getpid())).touch()
        os.kill(group.parent_pid, signal.SIGUSR1)
    except OSError:
        return False
    return True


def take_reload_origins(group: WorkerGroup | Path) -> set[int]:
    """In the parent, after ``SIGUSR1``: the workers that asked (and reloaded already);
    their requests are removed."""
    directory = group.reload_dir if isinstance(group, WorkerGroup) else group
    origins: set[int] = set()
    try:
        entries = list(directory.iterdir())
    except OSError:
        return origins
    for entry in entries:
        try:
            entry.unlink()
        except OSError:
            continue
        if entry.name.isdigit():
            origins.add(int(entry.name))
    return origins
