"""One webhook attempt: sign the body (the ``standardwebhooks`` package) and POST it.

Headers per Standard Webhooks: ``webhook-id`` (the event id: the receiver's idempotency
key, the same on every attempt), ``webhook-timestamp`` (this attempt, Unix seconds),
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``). Redirects are
not followed (a signed body must not wander), and nothing about the secret ever goes into
an error: the error text is the receiver's status or the transport's exception type and
redacted message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from vivavoce import __version__
from vivavoce.redact import redact

__all__ = ["AttemptResult", "send_webhook", "signed_headers"]


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str | None


def signed_headers(secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    at = at.astimezone(UTC)
    return {
        "content-type": "application/json",
        "user-agent": f"vivavoce-webhooks/{__version__}",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


async def send_webhook(
    client: httpx.AsyncClient, url: str, secret: str, msg_id: str, body: str, *, at: datetime
) -> AttemptResult:
    """POST once; never raises for the receiver's or the network's trouble."""
    headers = signed_headers(secret, msg_id, body, at)
    try:
        response = await client.post(url, content=body.encode("utf-8"), headers=headers)
    except httpx.HTTPError as exc:
        return AttemptResult(None, f"{type(exc).__name__}: {redact(str(exc))[:300]}")
    if 200 <= response.status_code < 300:
        return AttemptResult(response.status_code, None)
    said = redact(response.text[:200].strip()) if response.text else ""
    return AttemptResult(
        response.status_code, f"HTTP {response.status_code}" + (f": {said}" if said else "")
    )
