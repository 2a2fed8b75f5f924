"""Key rotation without downtime: re-read the OpenAI key, check it, then switch to it.

Triggered by ``SIGHUP`` (handler installed by web/ops.py) and ``POST /api/admin/reload``.
One reload:

1. re-reads the settings from where they came from (the environment, ``.env``, the file
   named by ``OPENAI_API_KEY_FILE`` — a mounted secret is the usual thing that rotates);
2. inspects the new key offline (:func:`vivavoce.keys.inspect_key`);
3. runs the doctor against the new key (the same live checks as ``vivavoce doctor``);
4. only if all of that passes, sets ``runtime.api_key`` (and the key's companions,
   ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID``, on ``runtime.settings``).

New interviews read ``runtime.api_key`` when they start; live interviews keep the key they
started with, so nothing is interrupted. A refused reload changes nothing: the service
keeps the key it had, and the result names the cause and the fix.

The key moves, and so does the admin token: a changed ``VIVAVOCE_ADMIN_TOKEN`` is taken
at once (unless production would refuse it as trivially weak) and every operator session
is ended, on every instance, since sessions are rows in the database (issue 14). Everything
else (database, ports, the signing key) needs a restart, because changing it under
running connections cannot be done safely.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import SecretStr, ValidationError

from vivavoce import metrics
from vivavoce.config import Settings, describe_settings_errors, load_settings
from vivavoce.diagnosis.catalogue import CAUSES
from vivavoce.diagnosis.offline import cause_for_key
from vivavoce.keys import KeyReport, inspect_key
from vivavoce.redact import redact, register_secret
from vivavoce.secret_strength import weakness
from vivavoce.store.database import Database
from vivavoce.store.security import delete_all_sessions

__all__ = [
    "Doctor",
    "ReloadResult",
    "ReloadState",
    "ReloadTarget",
    "SettingsLoader",
    "last_reload",
    "reload_key",
    "set_settings_loader",
]

log = logging.getLogger("vivavoce.reload")

Trigger = Literal["api", "sighup"]
# Re-reads the settings from their sources (default: os.environ and ./.env).
SettingsLoader = Callable[[], Settings]
# Runs the live checks for ``settings`` with ``api_key``; returns the doctor's JSON shape
# ({"ok", "checks", "causes", "key"}).
Doctor = Callable[[Settings, str], Awaitable[dict[str, Any]]]

@dataclass(frozen=True)
class ReloadResult:
    """What a reload did. Holds the key only masked and as a fingerprint."""

    applied: bool
    changed: bool  # the checked key differs from the one in use before
    message: str
    trigger: Trigger
    at: datetime
    key: dict[str, Any] | None = None  # {"masked", "fingerprint", "type", "source"}
    previous_fingerprint: str | None = None
    causes: list[dict[str, Any]] = field(default_factory=list)  # as the doctor reports them

    def to_json(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "changed": self.changed,
            "message": redact(self.message),
            "trigger": self.trigger,
            "at": self.at.isoformat(),
            "key": self.key,
            "previous_fingerprint": self.previous_fingerprint,
            "causes": self.causes,
        }


@dataclass
class ReloadState:
    """What reloads keep on one running service (``Runtime.reload``)."""

    # Where reloads read the settings from (tests and embedders; default load_settings).
    loader: SettingsLoader = load_settings
    # One reload at a time.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last: ReloadResult | None = None


class ReloadTarget(Protocol):
    """What a reload reads and switches: ``vivavoce.runtime.Runtime`` (a protocol, so this
    module sits below the runtime that holds its state)."""

    settings: Settings
    api_key: str | None
    reload: ReloadState
    db: Database
    admin_token: str
    admin_token_generated: bool


def set_settings_loader(runtime: ReloadTarget, loader: SettingsLoader) -> None:
    """Where reloads read the settings from (tests and embedders; default load_settings)."""
    runtime.reload.loader = loader


def last_reload(runtime: ReloadTarget) -> ReloadResult | None:
    """The outcome of the latest reload on this instance (None = none since start)."""
    return runtime.reload.last


async def _default_doctor(settings: Settings, api_key: str) -> dict[str, Any]:
    # Imported when first needed: the doctor pulls in the SDK's realtime client, which a
    # process that never reloads does not need at start-up.
    from vivavoce.diagnosis import run_doctor

    report = await run_doctor(
        settings,
        api_key=api_key,
        key_source=settings.source_of("openai_api_key").describe() + " (re-read)",
    )
    return report.to_json()


def _cause_json(cause_id: str, settings: Settings) -> dict[str, Any]:
    cause = CAUSES[cause_id]
    return {
        "id": cause.id,
        "title": cause.title,
        "explanation": cause.explanation,
        "fix": cause.fix(settings.platform),
    }


def _key_json(report: KeyReport, settings: Settings) -> dict[str, Any]:
    return {
        "masked": report.masked,
        "fingerprint": report.fingerprint,
        "type": report.key_type,
        "source": settings.source_of("openai_api_key").describe(),
    }


def _with_key(old: Settings, new: Settings, key: str) -> Settings:
    """The running settings with the key and its companions taken from ``new``; the rest
    (base URL, models, database…) stays as it runs."""
    sources = dict(old.sources)
    for name in ("openai_api_key", "openai_org_id", "openai_project_id"):
        if name in new.sources:
            sources[name] = new.sources[name]
        else:
            sources.pop(name, None)
    updated = old.model_copy(
        update={
            "openai_api_key": SecretStr(key),
            "openai_org_id": new.openai_org_id,
            "openai_project_id": new.openai_project_id,
        }
    )
    updated.sources = sources
    moved = ("openai_api_key", "openai_org_id", "openai_project_id")
    updated.conflicts = [c for c in old.conflicts if c.setting not in moved] + [
        c for c in new.conflicts if c.setting in moved
    ]
    return updated


async def reload_key(
    runtime: ReloadTarget, *, trigger: Trigger = "api", doctor: Doctor | None = None
) -> ReloadResult:
    """Re-read the OpenAI key, run the doctor on it, and use it for new interviews if it
    passes. Never raises for a bad configuration or a failing key: the result says why it
    was refused (``applied`` False) and the running key stays in use.
    """
    async with runtime.reload.lock:
        await _rotate_admin_token(runtime)
        result = await _reload(runtime, trigger, doctor or _default_doctor)
        runtime.reload.last = result
    metrics.key_reload(result.applied)
    if result.applied:
        log.info("key reload (%s): %s", trigger, result.message)
    else:
        log.warning("key reload (%s) refused: %s", trigger, result.message)
    return result


async def _rotate_admin_token(runtime: ReloadTarget) -> None:
    """Take a changed admin token and end every operator session. Never raises."""
    loader = runtime.reload.loader
    try:
        new = await asyncio.to_thread(loader)
    except Exception:  # reported by the key reload, which reads the same settings
        return
    token = new.admin_token.get_secret_value().strip() if new.admin_token else ""
    if not token or token == runtime.admin_token:
        return
    if runtime.settings.is_production and (len(token) < 16 or weakness(token)):
        log.warning("the new VIVAVOCE_ADMIN_TOKEN is too weak for production; the old one "
                    "stays in use (generate one with `vivavoce secret`)")
        return
    register_secret(token)
    runtime.admin_token = token
    runtime.admin_token_generated = False
    try:
        async with runtime.db.session() as db:
            ended = await delete_all_sessions(db)
    except Exception as exc:  # the new token is in force; old sessions fail its check
        log.warning("could not delete the operator sessions (%s); they stay unusable "
                    "because they were made with the old token", type(exc).__name__)
        return
    log.warning("the admin token changed: %d operator session(s) ended", ended)


async def _reload(runtime: ReloadTarget, trigger: Trigger, doctor: Doctor) -> ReloadResult:
    now = datetime.now(UTC)
    previous = inspect_key(runtime.api_key).fingerprint if runtime.api_key else None
    loader = runtime.reload.loader

    def refused(message: str, **extra: Any) -> ReloadResult:
        return ReloadResult(
            applied=False,
            changed=False,
            message=message + " The service keeps using the key it had.",
            trigger=trigger,
            at=now,
            previous_fingerprint=previous,
            **extra,
        )

    if runtime.settings.use_simulator:
        return refused(
            "This instance runs the built-in simulator, which uses no key; restart it to "
            "switch to OpenAI."
        )
    try:
        # Reading a .env or a mounted file is a few small reads; a thread keeps even a
        # slow network filesystem off the event loop.
        new = await asyncio.to_thread(loader)
    except ValidationError as exc:
        problems = "; ".join(describe_settings_errors(exc))
        return refused(f"The configuration is not valid any more ({problems}).")
    except Exception as exc:  # an unreadable .env, a broken loader: report, do not crash
        return refused(f"The settings could not be read again ({type(exc).__name__}: {exc}).")

    raw = new.openai_api_key.get_secret_value() if new.openai_api_key else None
    report = inspect_key(raw)
    if report.normalised is not None:
        # Mask the new key in every log line from now on, even before it is in use.
        register_secret(report.normalised)
    key_info = _key_json(report, new) if report.normalised is not None else None
    if not report.usable or report.normalised is None:
        cause_id = cause_for_key(report) or "key_malformed"
        details = " ".join(f.message for f in report.errors)
        return refused(
            f"The new key cannot be used: {CAUSES[cause_id].title}. {details}".rstrip(),
            key=key_info,
            causes=[_cause_json(cause_id, new)],
        )

    key = report.normalised
    # The doctor checks exactly what new interviews would run with.
    candidate = _with_key(runtime.settings, new, key)
    try:
        verdict = await doctor(candidate, key)
    except Exception as exc:  # the doctor itself broke: that is not a pass
        return refused(
            f"The doctor could not check the new key ({type(exc).__name__}: {exc}).",
            key=key_info,
        )
    if not verdict.get("ok", False):
        causes = list(verdict.get("causes") or [])
        titles = "; ".join(str(c.get("title", c.get("id", "?"))) for c in causes)
        return refused(
            f"The doctor found a problem with the new key: {titles or 'a check failed'}.",
            key=key_info,
            causes=causes,
        )

    changed = key != runtime.api_key
    # The key and the settings change together, with no await in between: an interview
    # starting now sees either the old pair or the new one.
    runtime.settings = candidate
    runtime.api_key = key
    what = (
        f"New interviews now use {report.masked} (fingerprint {report.fingerprint}); "
        "live interviews keep the key they started with."
        if changed
        else f"The key is unchanged ({report.masked}); the doctor found nothing wrong."
    )
    return ReloadResult(
        applied=True,
        changed=changed,
        message=what,
        trigger=trigger,
        at=now,
        key=key_info,
        previous_fingerprint=previous,
    )
