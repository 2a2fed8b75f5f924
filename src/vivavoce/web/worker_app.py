"""The app of one worker process of ``vivavoce serve --workers N``.

uvicorn's supervisor (:mod:`vivavoce.supervisor`) starts each worker as a fresh
interpreter and calls :func:`create_worker_app` there. The worker reads its settings as
the parent did (the environment, ``.env``, the key file, plus the command's flags handed
down), takes what the parent generated (:mod:`vivavoce.worker_group`) and builds a full
app: its own database pool, heartbeat row, relay, evaluation and webhook loops. The
parent has already checked the configuration, printed the banner and migrated the
database.
"""

from __future__ import annotations

import os
import signal

from fastapi import FastAPI

from vivavoce.config import load_settings
from vivavoce.logs import setup_logging
from vivavoce.redact import register_secret
from vivavoce.web.app import build_runtime, create_app
from vivavoce.web.graceful import drain_before_shutdown, server_of_this_process
from vivavoce.worker_group import ENV_VARIABLE, WorkerGroup

__all__ = ["create_worker_app"]


def create_worker_app() -> FastAPI:
    """The app of this worker. Raises RuntimeError when not started by the parent."""
    if hasattr(signal, "SIGHUP"):
        # SIGHUP means "reload the key" once the app is up (web/ops.py); until then it
        # must not end the worker. The parent sends it only to workers that are up.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    group = WorkerGroup.take_from_environ(os.environ)
    if group is None:
        raise RuntimeError(f"a worker app needs {ENV_VARIABLE}, set by `vivavoce serve`")
    settings = load_settings(**group.overrides)
    setup_logging(settings)
    for secret in (group.generated_admin_token, group.generated_secret_key):
        if secret is not None:
            register_secret(secret)
    runtime = build_runtime(settings, group=group)
    runtime.options.settle_heap = True  # vivavoce.heap
    server = server_of_this_process()  # the worker's uvicorn server, created by uvicorn
    if server is not None:
        drain_before_shutdown(server, runtime)  # SIGTERM drains /voice (web/graceful.py)
    return create_app(runtime=runtime)
