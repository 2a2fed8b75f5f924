"""Refuse a candidate link that was re-issued: one check in front of every route.

A token's signature says who issued it; whether it is still the interview's *current*
link is in the database (the nonce in ``interviews.token_nonce``, see
:mod:`vivavoce.web.links`). Rather than teach every token-reading route (pages, REST,
``/voice``) that rule, this ASGI middleware applies it to any request carrying a token
(the ``/i/{token}`` path, ``?token=``, or a non-admin ``Authorization: Bearer``):

* a superseded token on ``/api/…`` gets 401 ``token_revoked`` (the one error shape);
* on a page, the "link problem" page saying to ask for the new link (410);
* on the ``/voice`` WebSocket, the token is replaced by an invalid one, so the relay
  refuses it with its usual ``token_invalid`` words (the relay itself is left alone).

Tokens that are unsigned, expired or for a deleted interview pass through untouched: the
route behind gives its usual answer. A row without a nonce (a link issued before links
were kept) accepts its old tokens until the operator re-issues it.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from vivavoce.runtime import Runtime
from vivavoce.store.models import Interview
from vivavoce.tokens import InvalidInterviewToken, token_nonce, verify_interview_token
from vivavoce.web.errors import error_body

__all__ = ["REVOKED_MESSAGE", "LinkGuard", "superseded"]

log = logging.getLogger("vivavoce.web")

REVOKED_MESSAGE = (
    "This interview link has been replaced by a newer one. Ask the organiser for the new link."
)

PageRenderer = Callable[[Request, str], Any]

# Set on a WebSocket's scope whose token this guard replaced: /voice then knows the
# refused link was one we signed (re-issued), not a guess (web/auth_guard.py).
_SUPERSEDED = "vivavoce_link_superseded"


def superseded(connection: HTTPConnection) -> bool:
    """Whether this guard replaced the connection's token because its link was re-issued."""
    return bool(connection.scope.get("state", {}).get(_SUPERSEDED))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


class LinkGuard:
    def __init__(self, app: ASGIApp, *, runtime: Runtime, page: PageRenderer) -> None:
        self.app = app
        self.runtime = runtime
        self.page = page

    def _is_admin(self, bearer: str) -> bool:
        return hmac.compare_digest(bearer.encode(), self.runtime.admin_token.encode())

    def _token(self, scope: Scope) -> tuple[str | None, str | None]:
        """(token, where): ``path``, ``query`` or ``bearer``."""
        path: str = scope.get("path", "")
        if path.startswith("/i/") and path.count("/") == 2:
            return path[3:], "path"
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if query.get("token"):
            return query["token"], "query"
        scheme, _, value = _header(scope, b"authorization").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip(), "bearer"
        return None, None

    async def _superseded(self, token: str) -> bool:
        try:
            interview_id = verify_interview_token(self.runtime.secret_key, token)
            nonce = token_nonce(self.runtime.secret_key, token)
            uuid.UUID(interview_id)
        except (InvalidInterviewToken, ValueError):
            # Not ours to judge (unsigned, expired, or naming no possible interview: ids
            # are UUIDs): the route behind answers as usual.
            return False
        try:
            async with self.runtime.db.session() as s:
                stored = await s.scalar(
                    select(Interview.token_nonce).where(Interview.id == interview_id)
                )
        except SQLAlchemyError as exc:
            # The database is unreachable: whatever the route does next needs it too (the
            # relay, the API) and will say so; a page that does not need it still shows.
            log.warning("could not check whether a link was re-issued: %s", type(exc).__name__)
            return False
        return stored is not None and stored != nonce

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token, where = self._token(scope)
        if token is None or len(token) > 2048:
            await self.app(scope, receive, send)
            return
        if where == "bearer" and self._is_admin(token):
            await self.app(scope, receive, send)
            return
        if not await self._superseded(token):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            query = [
                (k, "revoked" if k == "token" else v)
                for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
            ]
            state = {**scope.get("state", {}), _SUPERSEDED: True}
            scope = dict(scope, query_string=urlencode(query).encode("latin-1"), state=state)
            await self.app(scope, receive, send)
            return
        await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        response: Callable[[Scope, Receive, Send], Awaitable[None]]
        if path.startswith("/api/"):
            response = JSONResponse(error_body("token_revoked", REVOKED_MESSAGE), status_code=401)
        else:
            response = self.page(Request(scope, receive), REVOKED_MESSAGE)
        await response(scope, receive, send)
