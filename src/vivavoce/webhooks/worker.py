"""The webhook worker: fans out new outbox events, claims due deliveries and sends them.

One per instance, started and stopped with the app (``web/api_webhooks.py``). It polls
(events are written by other instances too, and by store functions that cannot wake it),
so an event leaves within ``poll_interval_s``. Claims make sure each delivery is sent by
one instance at a time. A database or network outage is logged and waited out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from vivavoce.config import Settings
from vivavoce.redact import redact
from vivavoce.store.database import Database
from vivavoce.store.models import WebhookEndpoint, WebhookEvent, utcnow
from vivavoce.webhooks.deliveries import (
    Backoff,
    DeliveryClaim,
    claim_next,
    fan_out,
    prune,
    record_attempt,
)
from vivavoce.webhooks.payloads import event_body
from vivavoce.webhooks.sender import AttemptResult, send_webhook

__all__ = ["WebhookOptions", "WebhookWorker", "url_origin"]

log = logging.getLogger("vivavoce.webhooks")


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, without user, path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


@dataclass(frozen=True)
class WebhookOptions:
    poll_interval_s: float = 2.0
    lease: timedelta = timedelta(seconds=60)
    timeout_s: float = 10.0
    backoff: Backoff = field(default_factory=Backoff)
    keep_for: timedelta = timedelta(days=30)


class WebhookWorker:
    def __init__(self, db: Database, settings: Settings, options: WebhookOptions | None = None) -> None:
        self.db = db
        self.settings = settings
        self.options = options or WebhookOptions()
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="vivavoce-webhooks")

    def wake(self) -> None:
        """Look now (the operator pressed "send again", say)."""
        self._wakeup.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: no proxy variables redirect signed bodies elsewhere.
            self._client = httpx.AsyncClient(
                timeout=self.options.timeout_s, follow_redirects=False, trust_env=False
            )
        return self._client

    async def run_once(self) -> bool:
        """Fan out new events, then send one due delivery; False when none was due."""
        await fan_out(self.db, settings_url=self.settings.webhook_url)
        claim = await claim_next(self.db, lease=self.options.lease)
        if claim is None:
            return False
        outcome = await self._attempt(claim)
        status = await record_attempt(
            self.db, claim, status_code=outcome.status_code, error=outcome.error,
            backoff=self.options.backoff,
        )
        if status is not None and status != "delivered":
            # The host only: some receivers (chat tools) put their own secret in the path.
            log.warning("webhook %s to %s: attempt %d failed (%s); now %s", claim.event_id,
                        url_origin(claim.url), claim.attempts, outcome.error, status)
        return True

    async def _attempt(self, claim: DeliveryClaim) -> AttemptResult:
        async with self.db.session() as s:
            event = await s.get(WebhookEvent, claim.event_id)
            secret: str | None
            if claim.endpoint_id is None:
                configured = self.settings.webhook_secret
                secret = configured.get_secret_value() if configured is not None else None
            else:
                secret = await s.scalar(
                    select(WebhookEndpoint.secret).where(WebhookEndpoint.id == claim.endpoint_id)
                )
        if event is None:
            return AttemptResult(None, "The event no longer exists.")
        if not secret:
            return AttemptResult(
                None, "No signing secret: set VIVAVOCE_WEBHOOK_SECRET (whsec_…)."
            )
        body = event_body(event, self.settings.public_url)
        return await send_webhook(self._http(), claim.url, secret, event.id, body, at=utcnow())

    async def _loop(self) -> None:
        pruned_at = utcnow() - timedelta(days=1)
        while True:
            self._wakeup.clear()
            try:
                worked = await self.run_once()
                if utcnow() - pruned_at > timedelta(hours=1):
                    pruned_at = utcnow()
                    await prune(self.db, older_than=self.options.keep_for)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down, a bug: log, wait, go on
                log.error("webhook worker: %s", redact(repr(exc))[:500])
                worked = False
            if worked:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.options.poll_interval_s)
