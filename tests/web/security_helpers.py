"""Helpers for the security tests: the whole app on a real loopback socket, driven with
httpx as a browser and as scripts would drive it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from tests.fixtures.app_server import RunningApp
from tests.fixtures.database import ADMIN_TOKEN
from vivavoce.store.database import Database

MakeApp = Callable[..., RunningApp]

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def base_url(app: RunningApp) -> str:
    return app.server.http_url


def same_origin(app: RunningApp) -> dict[str, str]:
    """The Origin a browser sends from one of the service's own pages."""
    return {"Origin": base_url(app)}


def from_address(address: str) -> dict[str, str]:
    # The test server believes X-Forwarded-For from loopback (uvicorn's default), as a
    # deployment believes its proxy: this is how another client address is simulated.
    return {"X-Forwarded-For": address}


def browser(app: RunningApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url(app), follow_redirects=False, timeout=30)


async def log_in(client: httpx.AsyncClient, app: RunningApp, **headers: str) -> httpx.Response:
    response = await client.post(
        "/admin/login",
        data={"token": ADMIN_TOKEN, "next": "/admin/interviews"},
        headers={**same_origin(app), **headers},
    )
    assert response.status_code == 303, response.text
    return response


async def csrf_of(client: httpx.AsyncClient) -> str:
    page = await client.get("/admin/setup")
    assert page.status_code == 200, page.status_code
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert found is not None
    return found.group(1)


async def rows(app: RunningApp, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    db = Database(app.database_url)
    try:
        async with db.session() as session:
            result = await session.execute(text(sql), params)
            if result.returns_rows:
                return list(result.all())
            await session.commit()
            return []
    finally:
        await db.dispose()
