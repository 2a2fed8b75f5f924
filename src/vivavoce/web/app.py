"""The application factory: one FastAPI app with every router, on one Runtime."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from vivavoce import __version__, heap
from vivavoce.config import Settings, load_settings
from vivavoce.runtime import Runtime, dev_secret_key, resolve_admin_token
from vivavoce.store.database import Database
from vivavoce.web import (
    api_budget,
    api_docs,
    api_evaluation,
    api_interviews,
    api_invites,
    api_webhooks,
    health,
    limits,
    ops,
    pages,
    voice,
)
from vivavoce.web.errors import install_error_handlers
from vivavoce.web.security import SecurityMiddleware
from vivavoce.worker_group import WorkerGroup

__all__ = ["build_runtime", "create_app"]

log = logging.getLogger("vivavoce")


def build_runtime(settings: Settings, *, group: WorkerGroup | None = None) -> Runtime:
    """The runtime of one process; in a worker of a group (``serve --workers``), with
    what the parent generated, so that every worker has the same admin token and key."""
    if group is not None and group.generated_admin_token is not None:
        admin_token, generated = group.generated_admin_token, True
    else:
        admin_token, generated = resolve_admin_token(settings)
    if group is not None and group.generated_secret_key is not None:
        secret_key = group.generated_secret_key
    else:
        secret_key = dev_secret_key(settings)
    return Runtime(
        settings=settings,
        db=Database(settings.effective_database_url),
        admin_token=admin_token,
        admin_token_generated=generated,
        secret_key=secret_key,
        worker_group=group,
        api_key=(
            settings.openai_api_key.get_secret_value().strip() or None
            if settings.openai_api_key is not None
            else None
        ),
    )


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. Migrations run at startup (the lifespan), not here."""
    if runtime is None:
        runtime = build_runtime(settings if settings is not None else load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.db.migrate()
        for module in _FEATURES:
            await module.on_startup(app, runtime)
        if runtime.options.settle_heap:
            heap.settle()
        try:
            yield
        finally:
            for module in reversed(_FEATURES):
                await module.on_shutdown(app, runtime)
            await runtime.db.dispose()

    app = FastAPI(
        title="vivavoce",
        version=__version__,
        summary="Live AI voice interviews over the OpenAI Realtime API.",
        lifespan=lifespan,
        # web/api_docs.py serves these without a CDN (and operator-only in production).
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for module in _FEATURES:
        module.install(app, runtime)
    # Sessions, CSRF, limits on guessing, headers: inside the body limit, outside routes.
    app.add_middleware(SecurityMiddleware, runtime=runtime)
    # Last, so it is the outermost middleware: no body is read before the limit applies.
    limits.install(app, runtime.settings)
    return app


# Each feature module exposes install(app, runtime), on_startup(app, runtime) and
# on_shutdown(app, runtime); the order is the order routes are matched in.
_FEATURES = (
    health, api_interviews, api_invites, api_evaluation, api_webhooks, api_budget, voice, ops,
    api_docs, pages,
)
