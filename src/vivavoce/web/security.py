"""The security middleware: operator session, CSRF, limits on guessing, response headers.

One pure ASGI middleware (inside the body limit) that, for each HTTP request:

1. resolves the operator's session cookie once (web/sessions.py) and leaves the result on
   the request's state, where ``web/deps.is_admin`` reads it;
2. refuses a state-changing request that the cookie authenticates unless it comes from
   one of the service's own origins (web/csrf.py) — Bearer requests are not checked;
3. limits guessing (web/auth_guard.py): an address that is waiting gets 429 with
   ``Retry-After`` before any credential it sends is looked at; a wrong Bearer token, a
   ``?token=`` or an ``/i/{token}`` that we did not sign counts as a failure;
4. adds ``Cache-Control: no-store`` and ``X-Content-Type-Options: nosniff`` to every API
   response (they carry candidates' personal data) and, in production, HSTS.

WebSockets pass through untouched: ``/voice`` does its own checks.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vivavoce.runtime import Runtime
from vivavoce.tokens import InvalidInterviewToken, verify_interview_token
from vivavoce.web import auth_guard, csrf, sessions
from vivavoce.web.errors import error_body

__all__ = ["SESSION_STATE", "SecurityMiddleware", "session_of"]

SESSION_STATE = "vivavoce_session"
# Static files and probes never need the operator: no session lookup (a page's dozen
# assets would otherwise each cost a database read).
_NO_SESSION_PREFIXES = ("/static/", "/docs-assets/", "/favicon.ico", "/healthz", "/readyz")
HSTS = "max-age=31536000"
_PERSONAL_PREFIXES = ("/api/", "/openapi.json")


def session_of(connection: HTTPConnection) -> sessions.ResolvedSession | None:
    """The operator session the middleware resolved for this request (None: none)."""
    value = connection.scope.get("state", {}).get(SESSION_STATE)
    return value if isinstance(value, sessions.ResolvedSession) else None


def _bearer(connection: HTTPConnection) -> str | None:
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _link_token_valid(runtime: Runtime, token: str) -> bool:
    """Whether we signed ``token`` (an expired one was still ours: not a guess)."""
    try:
        verify_interview_token(runtime.secret_key, token)
    except InvalidInterviewToken as exc:
        return exc.reason == "expired"
    except ValueError:
        return False
    return True


def _credentials(runtime: Runtime, connection: HTTPConnection) -> list[tuple[auth_guard.Kind, bool]]:
    """The credentials this request presents: (kind, valid) for each."""
    found: list[tuple[auth_guard.Kind, bool]] = []
    bearer = _bearer(connection)
    if bearer is not None:
        if hmac.compare_digest(bearer.encode(), runtime.admin_token.encode()):
            found.append(("admin", True))
        elif _link_token_valid(runtime, bearer):
            found.append(("link", True))
        else:
            # Interview tokens are "payload.signature"; admin tokens have no dot.
            found.append(("link" if "." in bearer else "admin", False))
    tokens = [connection.query_params.get("token", "")]
    path = connection.url.path
    if path.startswith("/i/"):
        tokens.append(path[3:])
    for token in tokens:
        if token:
            found.append(("link", _link_token_valid(runtime, token)))
    return found


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        runtime = self.runtime
        connection = HTTPConnection(scope)
        path: str = scope["path"]
        resolved = (
            None
            if path.startswith(_NO_SESSION_PREFIXES)
            else await sessions.resolve(runtime, connection)
        )
        scope.setdefault("state", {})[SESSION_STATE] = resolved
        wrapped = self._with_headers(send, path)

        if (
            resolved is not None
            and scope["method"] not in csrf.SAFE_METHODS
            and _bearer(connection) is None
            and not csrf.same_origin(connection, runtime.settings)
        ):
            await _json(wrapped, 403, "csrf_failed",
                        "This change was not sent from one of this service's own pages "
                        "(Origin/Referer); reload the page and try again.")
            return

        credentials = _credentials(runtime, connection)
        if credentials:
            subject = auth_guard.client_subject(connection)
            for kind in dict.fromkeys(kind for kind, _ in credentials):
                wait = await auth_guard.retry_after(runtime, kind, subject)
                if wait is not None:
                    await _too_many(wrapped, wait)
                    return
            for kind, valid in credentials:
                if not valid:
                    await auth_guard.record_failure(runtime, kind, subject)
        await self.app(scope, receive, wrapped)

    def _with_headers(self, send: Send, path: str) -> Send:
        production = self.runtime.settings.is_production
        personal = path.startswith(_PERSONAL_PREFIXES) or path in ("/docs", "/redoc")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if personal:
                    headers["Cache-Control"] = "no-store"
                    headers["X-Content-Type-Options"] = "nosniff"
                if production:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        return wrapped


async def _json(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(error_body(code, message)).encode()
    raw: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": raw}
    await send(start)
    await send({"type": "http.response.body", "body": body})


async def _too_many(send: Send, wait: int) -> None:
    # One JSON shape for the API and the pages alike: a person who hits this is already
    # trying far more links or tokens than a person would.
    await _json(
        send,
        429,
        "rate_limited",
        f"Too many failed attempts from this address; try again in {wait} s.",
        {"Retry-After": str(wait)},
    )
