"""Fixtures for the deploy tests: an app on SQLite whose settings the test chooses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.database import ADMIN_TOKEN, ApiClient, make_runtime
from tests.fixtures.settings import MakeSettings
from vivavoce.store.database import Database

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def make_app_client(
    make_settings: MakeSettings, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """make_app_client(**ENV) -> an ApiClient on a fresh app on SQLite (lifespan started)."""
    from vivavoce.web.app import create_app

    async with AsyncExitStack() as stack:

        async def make(**environ: str) -> ApiClient:
            settings = make_settings(**environ)
            database = Database(f"sqlite+aiosqlite:///{tmp_path / 'ops' / 'vivavoce.db'}")
            runtime = make_runtime(
                settings,
                database,
                api_key=settings.openai_api_key.get_secret_value().strip()
                if settings.openai_api_key
                else None,
            )
            app = create_app(runtime=runtime)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = ApiClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
            await stack.enter_async_context(client)
            client.admin_headers = dict(ADMIN)
            client.app = app
            client.runtime = runtime
            return client

        yield make
