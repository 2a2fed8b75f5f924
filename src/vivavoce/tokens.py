"""Per-interview tokens: the signed, expiring link a candidate needs and nothing else.

A token names one interview and when it stops being valid; it is signed with
``VIVAVOCE_SECRET_KEY`` (itsdangerous, HMAC-SHA1 over a salted, derived key), so the
server keeps no token table and any instance sharing the secret can check it. The expiry
travels inside the signed payload, so it is the one chosen when the link was issued.

A token may also carry a nonce (``n``) that the interview's row keeps (``token_nonce``):
re-issuing a link stores a new nonce, and a token whose nonce is not the stored one no
longer opens anything (:mod:`vivavoce.web.link_guard` checks it). Signing is
deterministic, so the row's nonce and expiry give the same link back when the operator
asks for it again.
"""

from __future__ import annotations

import secrets
import time
from typing import Literal

from itsdangerous import BadSignature, URLSafeSerializer

from vivavoce.config import Settings

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "MIN_SECRET_KEY_LENGTH",
    "InvalidInterviewToken",
    "issue_interview_token",
    "new_nonce",
    "secret_key_problem",
    "token_nonce",
    "token_expiry",
    "verify_interview_token",
]

DEFAULT_MAX_AGE_S = 7 * 24 * 3600
MIN_SECRET_KEY_LENGTH = 16  # the same floor as vivavoce.startup
_SALT = "vivavoce.interview-token.v1"


class InvalidInterviewToken(Exception):
    """The token is not one we issued (``reason="invalid"``) or is past its expiry
    (``reason="expired"``). The message is safe to show to the candidate."""

    def __init__(self, reason: Literal["invalid", "expired"], message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _serializer(secret_key: str) -> URLSafeSerializer:
    if not secret_key:
        raise ValueError("the secret key is empty")
    return URLSafeSerializer(secret_key, salt=_SALT)


def issue_interview_token(
    secret_key: str,
    interview_id: str,
    *,
    max_age_s: int = DEFAULT_MAX_AGE_S,
    now: float | None = None,
    nonce: str | None = None,
    expires_at: int | None = None,
) -> str:
    """A URL-safe token for ``interview_id`` valid for ``max_age_s`` seconds (or until the
    Unix time ``expires_at``), carrying ``nonce`` when given.

    Raises ValueError for an empty secret key or a non-positive ``max_age_s``.
    """
    if max_age_s <= 0:
        raise ValueError("max_age_s must be positive")
    issued = time.time() if now is None else now
    expiry = int(issued + max_age_s) if expires_at is None else int(expires_at)
    payload: dict[str, str | int] = {"i": interview_id, "e": expiry}
    if nonce is not None:
        payload["n"] = nonce
    return str(_serializer(secret_key).dumps(payload))


def new_nonce() -> str:
    """A fresh nonce for a link (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


def token_nonce(secret_key: str, token: str) -> str | None:
    """The nonce a validly signed token carries (None: issued without one). Raises
    InvalidInterviewToken."""
    nonce = _data(secret_key, token).get("n")
    return nonce if isinstance(nonce, str) else None


def _data(secret_key: str, token: str) -> dict[str, object]:
    try:
        data = _serializer(secret_key).loads(token)
    except BadSignature:
        raise InvalidInterviewToken(
            "invalid", "This interview link is not valid. Ask for a new link."
        ) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("i"), str)
        or not isinstance(data.get("e"), int)
    ):
        raise InvalidInterviewToken("invalid", "This interview link is not valid. Ask for a new link.")
    return data


def _payload(secret_key: str, token: str) -> tuple[str, int]:
    data = _data(secret_key, token)
    return str(data["i"]), int(data["e"])  # type: ignore[call-overload]


def verify_interview_token(secret_key: str, token: str, *, now: float | None = None) -> str:
    """The interview id the token was issued for.

    Raises :class:`InvalidInterviewToken` when the token was not signed with this key, is
    malformed, or has expired.
    """
    interview_id, expires = _payload(secret_key, token)
    current = time.time() if now is None else now
    if current >= expires:
        raise InvalidInterviewToken(
            "expired", "This interview link has expired. Ask for a new link."
        )
    return interview_id


def token_expiry(secret_key: str, token: str) -> int:
    """The Unix time a (validly signed) token expires at. Raises InvalidInterviewToken."""
    return _payload(secret_key, token)[1]


def secret_key_problem(settings: Settings) -> str | None:
    """Why the signing key is not fit for this deployment, or None when it is.

    Production needs ``VIVAVOCE_SECRET_KEY`` set (a generated one would differ between
    instances and change on redeploy, breaking every candidate link) and long enough to
    resist guessing. Outside production a missing key is fine: one is generated and kept
    in the data directory.
    """
    if not settings.is_production:
        return None
    value = settings.secret_key.get_secret_value().strip() if settings.secret_key else ""
    if not value:
        return (
            "VIVAVOCE_SECRET_KEY is not set. Production needs a fixed secret to sign candidate "
            "links (the same on every instance). Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if len(value) < MIN_SECRET_KEY_LENGTH:
        return (
            f"VIVAVOCE_SECRET_KEY is too short ({len(value)} characters; at least "
            f"{MIN_SECRET_KEY_LENGTH} needed). Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return None
