"""The fake OpenAI server: REST under ``/v1`` plus the Realtime WebSocket.

``FakeOpenAI(FakeConfig(...))`` holds the configuration (mutable while serving), what
was observed (``requests``, ``sessions``, ``calls``) and the ASGI app (``.app``). Behaviour per key
is described in ``vivavoce.testing.scenarios``; faults and quirks in ``FakeConfig``.

Routers from other modules are included with the ``/v1`` prefix: ``fake_responses.router``
declares ``/responses`` and guards it with ``fake_rest.guard(request, Endpoint.GENERATE)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vivavoce.testing import fake_calls, fake_responses
from vivavoce.testing import fake_errors as errors
from vivavoce.testing.fake_access import bearer_key
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_errors import FakeOpenAIError, new_request_id
from vivavoce.testing.fake_records import RestRequestRecord, key_fingerprint, masked_or_none
from vivavoce.testing.fake_rest import router as rest_router
from vivavoce.testing.fake_state import FakeState
from vivavoce.testing.realtime_ws import handle_realtime

__all__ = ["FakeConfig", "FakeOpenAI", "create_fake_openai_app"]


class FakeOpenAI(FakeState):
    """One fake OpenAI server: configuration, observations (``FakeState``) and the ASGI app."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        super().__init__(config)
        self.app = _build_app(self)


def create_fake_openai_app(config: FakeConfig | None = None) -> FastAPI:
    """A fresh fake's ASGI app (its FakeOpenAI is at ``app.state.fake``)."""
    return FakeOpenAI(config).app


def _error_response(error: errors.FakeError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=dict(error.headers))


def _build_app(fake: FakeOpenAI) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # Live calls hold peer connections and tasks on this loop: end them with it.
        for call in list(fake.live_calls.values()):
            await call.end("server_shutdown", 1001, "Server shutting down")

    app = FastAPI(title="Fake OpenAI", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.fake = fake

    @app.middleware("http")
    async def record_and_tag(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        key = bearer_key(request.headers)
        record = RestRequestRecord(
            method=request.method,
            path=request.url.path,
            key_masked=masked_or_none(key),
            key_fingerprint=key_fingerprint(key),
            organization=request.headers.get("openai-organization"),
            project=request.headers.get("openai-project"),
            beta=request.headers.get("openai-beta"),
            user_agent=request.headers.get("user-agent"),
            request_id=new_request_id(),
        )
        fake.requests.append(record)
        response = await call_next(request)
        response.headers["x-request-id"] = record.request_id
        record.status = response.status_code
        return response

    @app.exception_handler(FakeOpenAIError)
    async def openai_error(request: Request, exc: FakeOpenAIError) -> JSONResponse:
        return _error_response(exc.error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # OpenAI answers unknown routes with its usual error body.
        message = f"Invalid URL ({request.method} {request.url.path})"
        if exc.status_code == 405:
            message = f"Method not allowed ({request.method} {request.url.path})"
        return _error_response(errors.FakeError(exc.status_code, "invalid_request_error", None, message))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first: dict[str, Any] = dict(exc.errors()[0]) if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return _error_response(errors.invalid_request(f"Invalid request: {first.get('msg', 'bad input')}.", param=param))

    app.include_router(rest_router, prefix="/v1")
    app.include_router(fake_responses.router, prefix="/v1")
    app.include_router(fake_calls.router, prefix="/v1")

    @app.websocket("/v1/realtime")
    async def realtime(websocket: WebSocket) -> None:
        await handle_realtime(websocket, fake)

    return app
