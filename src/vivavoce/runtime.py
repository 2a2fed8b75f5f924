"""What one running service holds: settings, database, secrets and shared services.

Built once by the app factory and kept on ``app.state.runtime``; the CLI builds the same
object for commands that need the database. Every service a feature module starts is a
typed field here (no string-keyed bag), so a reader sees in one place what the running
app holds and mypy checks every use.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openai import AsyncOpenAI

from vivavoce.config import Settings
from vivavoce.diagnosis.cache import DiagnosticsCache
from vivavoce.evaluation.runner import EvaluationOptions
from vivavoce.evaluation.worker import EvaluationWorker
from vivavoce.interview.session import Limits
from vivavoce.pricing import PriceTable
from vivavoce.realtime.relay import RelayLimits, VoiceRelay
from vivavoce.reload import ReloadState
from vivavoce.resume.isolated import ResumeReader
from vivavoce.store.database import Database
from vivavoce.store.heartbeat import HeartbeatService
from vivavoce.webhooks.worker import WebhookWorker
from vivavoce.worker_group import WorkerGroup

if TYPE_CHECKING:
    # Only the type: the simulator pulls in the fake OpenAI server, which a service
    # talking to OpenAI never loads (web/voice.py imports it when it starts one).
    from vivavoce.simulator import Simulator

__all__ = ["Runtime", "RuntimeOptions", "dev_secret_key", "resolve_admin_token"]

log = logging.getLogger("vivavoce")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    admin_token: str
    admin_token_generated: bool
    secret_key: str
    # The normalised OpenAI key new interviews use (None = none configured). Replaced on
    # reload; live interviews keep the key they started with.
    api_key: str | None = None
    # Set before start-up by tests and embedders; the defaults come from the settings.
    options: RuntimeOptions = field(default_factory=lambda: RuntimeOptions())

    # --- the interview relay (web/voice.py) ---
    # The Realtime price table, loaded at start-up (a broken price file stops the start).
    prices: PriceTable | None = None
    # One SDK client per (key, base URL), closed at shutdown.
    openai_clients: dict[tuple[str, str | None], AsyncOpenAI] = field(default_factory=dict)
    # Interviews this instance serves right now, and the relay serving each.
    open_interviews: dict[str, VoiceRelay] = field(default_factory=dict)
    # Every /voice connection this process serves (prepared or not), and whether it is
    # stopping: on SIGTERM each is drained and new ones are refused (web/graceful.py).
    voice_relays: list[VoiceRelay] = field(default_factory=list)
    draining: bool = False
    sweeper: asyncio.Task[None] | None = None
    # The spend-limit watch over live interviews (web/budget_watch.py): its task, and the
    # event a recorded usage sets to have the spend checked soon.
    budget_watch: asyncio.Task[None] | None = None
    budget_check_due: asyncio.Event | None = None
    # This process's heartbeat row; the leases of the interviews it relays hang on it
    # (web/voice_leases.py).
    heartbeat: HeartbeatService | None = None
    # The built-in simulator, started by the first interview (or evaluation) needing it.
    simulator: Simulator | None = None
    simulator_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # --- other features ---
    evaluation_worker: EvaluationWorker | None = None  # web/api_evaluation.py
    resume_reader: ResumeReader | None = None  # web/api_resume.py
    diagnostics: DiagnosticsCache = field(default_factory=DiagnosticsCache)  # web/health.py
    reload: ReloadState = field(default_factory=ReloadState)  # reload.py
    # web/ops.py: reloads started by SIGHUP (kept referenced until done), whether the
    # SIGHUP handler is installed, the unauthenticated metrics server and its thread.
    reload_tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    sighup_installed: bool = False
    metrics_server: tuple[Any, threading.Thread] | None = None
    # The webhook deliverer (vivavoce.webhooks), started by web/api_webhooks.py.
    webhooks: WebhookWorker | None = None
    # Set in a worker of ``vivavoce serve --workers N`` (web/worker_app.py): the group's
    # shared directory and parent, for reloads and metrics (vivavoce.worker_group).
    worker_group: WorkerGroup | None = None


@dataclass
class RuntimeOptions:
    """Bounds a test or an embedder sets before start-up (None = from the settings)."""

    interview_limits: Limits | None = None
    relay_limits: RelayLimits | None = None
    evaluation: EvaluationOptions | None = None
    # A serving process (``vivavoce serve`` and its workers): once started, the start-up
    # objects are frozen out of the garbage collector's scans (vivavoce.heap). Off in
    # tests and embedders, whose process holds more than this app.
    settle_heap: bool = False


def resolve_admin_token(settings: Settings) -> tuple[str, bool]:
    """The admin token, or (outside production) a fresh one to print once at startup."""
    if settings.admin_token is not None and settings.admin_token.get_secret_value().strip():
        return settings.admin_token.get_secret_value().strip(), False
    return secrets.token_urlsafe(24), True


def dev_secret_key(settings: Settings) -> str:
    """The signing key. Outside production an unset key is generated once and kept in the
    data directory, so candidate links survive restarts."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        return settings.secret_key.get_secret_value().strip()
    path = Path(settings.data_dir) / "secret_key"
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except OSError:
        existing = ""
    if existing:
        return existing
    value = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value, encoding="utf-8")
        path.chmod(0o600)
    except OSError as exc:
        log.warning("could not keep the generated secret key in %s (%s); links will not "
                    "survive a restart", path, exc.strerror)
    return value
