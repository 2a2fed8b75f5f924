"""What one running service holds: settings, database, secrets and shared clients.

Built once by the app factory and kept on ``app.state.runtime``; the CLI builds the same
object for commands that need the database.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vivavoce.config import Settings
from vivavoce.store.database import Database

if TYPE_CHECKING:
    from vivavoce.webhooks.worker import WebhookWorker

__all__ = ["Runtime", "dev_secret_key", "resolve_admin_token"]

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
    # The webhook deliverer (vivavoce.webhooks), started by web/api_webhooks.py.
    webhooks: WebhookWorker | None = None
    # Filled by feature modules at startup (evaluation worker, simulator, caches…).
    extras: dict[str, Any] = field(default_factory=dict)


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
