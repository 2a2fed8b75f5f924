"""Operator sessions: the login cookie holds a random session id, never the admin token.

Login stores the SHA-256 of a fresh 256-bit id with its absolute expiry; every request
that carries the cookie looks the session up (:func:`resolve`) and the server, not the
browser, decides whether it is still good: past ``VIVAVOCE_SESSION_MAX_SECONDS`` since
login, unused for ``VIVAVOCE_SESSION_IDLE_SECONDS``, logged out, or made with an admin
token that is no longer the service's (rotation revokes every session, on every instance,
because the check is a keyed hash of the token stored with the session).

The CSRF token for forms is an HMAC of the session id under the signing key: it needs no
storage and is useless without the cookie it belongs to.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import HTTPConnection
from starlette.responses import Response

from vivavoce.runtime import Runtime
from vivavoce.store import security as store
from vivavoce.store.models import utcnow

__all__ = [
    "ResolvedSession",
    "clear_cookie",
    "cookie_name",
    "csrf_token",
    "end_session",
    "resolve",
    "revoke_all",
    "start_session",
    "token_check",
]

log = logging.getLogger("vivavoce.sessions")

# last_seen_at is written at most this often: idle expiry needs minutes, not a write per
# request.
_TOUCH_EVERY_S = 60


@dataclass(frozen=True)
class ResolvedSession:
    id_hash: str
    csrf: str


def cookie_name(runtime: Runtime) -> str:
    # In production the cookie is always Secure, so the __Host- prefix can hold: the
    # browser then refuses it unless it is Secure, host-only and Path=/ (a sibling
    # subdomain cannot plant one).
    return "__Host-vivavoce_session" if runtime.settings.is_production else "vivavoce_session"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def token_check(runtime: Runtime) -> str:
    """A keyed hash of the current admin token (never the token itself)."""
    return hmac.new(
        runtime.secret_key.encode(), b"admin-token:" + runtime.admin_token.encode(), hashlib.sha256
    ).hexdigest()


def csrf_token(runtime: Runtime, id_hash: str) -> str:
    return hmac.new(
        runtime.secret_key.encode(), b"csrf:" + id_hash.encode(), hashlib.sha256
    ).hexdigest()[:40]


def _is_https(connection: HTTPConnection) -> bool:
    # uvicorn applies X-Forwarded-Proto from trusted proxies to the scope's scheme; the
    # header itself is also taken at its word here, because the only effect of a lie is
    # a Secure flag on the liar's own cookie.
    forwarded = connection.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return connection.url.scheme in ("https", "wss") or forwarded == "https"


async def start_session(runtime: Runtime, connection: HTTPConnection, response: Response) -> None:
    """Create a session and set its cookie on ``response``."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    max_age = runtime.settings.session_max_seconds
    async with runtime.db.session() as db:
        await store.create_session(
            db, _hash(session_id), token_check(runtime), now, now + timedelta(seconds=max_age)
        )
    response.set_cookie(
        cookie_name(runtime),
        session_id,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        # Production: always (the proxy speaks https to the browser even when the app
        # sees http). Elsewhere when the request itself came over https.
        secure=runtime.settings.is_production or _is_https(connection),
        path="/",
    )


async def resolve(runtime: Runtime, connection: HTTPConnection) -> ResolvedSession | None:
    """The live session the request's cookie names, or None. Expired or revoked sessions
    are deleted on the way. Never raises for a bad cookie."""
    session_id = connection.cookies.get(cookie_name(runtime))
    if not session_id or len(session_id) > 128:
        return None
    id_hash = _hash(session_id)
    now = utcnow()
    settings = runtime.settings
    async with runtime.db.session() as db:
        row = await store.get_session(db, id_hash)
        if row is None:
            return None
        idle_over = row.last_seen_at + timedelta(seconds=settings.session_idle_seconds) <= now
        # The stored expiry, and the setting as it is now (lowering it applies at once).
        absolute = min(
            row.expires_at, row.created_at + timedelta(seconds=settings.session_max_seconds)
        )
        rotated = not hmac.compare_digest(row.token_check, token_check(runtime))
        if idle_over or absolute <= now or rotated:
            await store.delete_session(db, id_hash)
            return None
        if (now - row.last_seen_at).total_seconds() >= _TOUCH_EVERY_S:
            await store.touch_session(db, id_hash, now)
    return ResolvedSession(id_hash, csrf_token(runtime, id_hash))


async def end_session(runtime: Runtime, resolved: ResolvedSession | None) -> None:
    if resolved is None:
        return
    async with runtime.db.session() as db:
        await store.delete_session(db, resolved.id_hash)


async def revoke_all(runtime: Runtime, why: str) -> int:
    """End every operator session (the admin token changed)."""
    async with runtime.db.session() as db:
        count = await store.delete_all_sessions(db)
    log.warning("operator sessions revoked (%s): %d ended", why, count)
    return count


def clear_cookie(runtime: Runtime, response: Response) -> None:
    response.delete_cookie(
        cookie_name(runtime),
        path="/",
        secure=runtime.settings.is_production,
        httponly=True,
        samesite="strict",
    )

