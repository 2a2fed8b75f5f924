"""FastAPI dependencies shared by every router: settings, database, admin auth."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.config import Settings
from vivavoce.runtime import Runtime
from vivavoce.store.database import Database
from vivavoce.web.errors import ApiError
from vivavoce.web.security import session_of

__all__ = [
    "AdminDep",
    "DatabaseDep",
    "RuntimeDep",
    "SessionDep",
    "SettingsDep",
    "bearer_token",
    "get_runtime",
    "is_admin",
    "require_admin",
]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_database(runtime: RuntimeDep) -> Database:
    return runtime.db


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(db: DatabaseDep) -> AsyncIterator[AsyncSession]:
    async with db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def bearer_token(request: Request) -> str | None:
    """The token from ``Authorization: Bearer …`` (or None)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def is_admin(request: Request, runtime: Runtime) -> bool:
    """The operator: the admin token as Bearer, or a live operator session (resolved once
    per request by web/security.py; the cookie holds a session id, never the token)."""
    token = bearer_token(request)
    if token:
        return hmac.compare_digest(token.encode(), runtime.admin_token.encode())
    return session_of(request) is not None


def require_admin(request: Request, runtime: RuntimeDep) -> None:
    if not is_admin(request, runtime):
        raise ApiError(
            401,
            "unauthorized",
            "This needs the admin token: send 'Authorization: Bearer <VIVAVOCE_ADMIN_TOKEN>'.",
        )


AdminDep = Annotated[None, Depends(require_admin)]
