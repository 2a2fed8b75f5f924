"""Webhook signing secrets (Standard Webhooks): ``whsec_`` then base64 of 24–64 random
bytes. Checked here once for the settings and the operator's pages alike."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from pydantic import SecretStr

__all__ = ["check_webhook_setting", "generate_webhook_secret", "webhook_secret_problem"]

_PREFIX = "whsec_"


def webhook_secret_problem(secret: str) -> str | None:
    """Why ``secret`` cannot sign webhooks (never quoting it), or None when it can."""
    if not secret.startswith(_PREFIX):
        return "must start with whsec_ (a Standard Webhooks secret: whsec_ and base64)"
    body = secret[len(_PREFIX):]
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return "must be whsec_ followed by base64 (A–Z, a–z, 0–9, +, /)"
    if not 24 <= len(raw) <= 64:
        return f"must hold 24 to 64 bytes after whsec_ (it holds {len(raw)})"
    return None


def generate_webhook_secret() -> str:
    """A new secret, 32 random bytes."""
    return _PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def check_webhook_setting(name: str, value: Any) -> Any:
    """``VIVAVOCE_WEBHOOK_URL`` / ``_SECRET`` as settings: stripped, empty = None. Raises
    ValueError (the message never holds the secret)."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw is None or not str(raw).strip():
        return None
    text = str(raw).strip()
    if name == "webhook_url":
        if not text.startswith(("http://", "https://")) or len(text) > 2000:
            raise ValueError("must be an http:// or https:// URL")
        return text
    problem = webhook_secret_problem(text)
    if problem:
        raise ValueError(problem)
    return SecretStr(text)
