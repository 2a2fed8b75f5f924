"""The fake OpenAI server: REST under ``/v1`` plus the Realtime WebSocket.

``FakeOpenAI(FakeConfig(...))`` holds the configuration (mutable while serving), what
was observed (``requests``, ``sessions``) and the ASGI app (``.app``). Behaviour per key
is described in ``vivavoce.testing.scenarios``; faults and quirks in ``FakeConfig``.

Routers from other modules are included with the ``/v1`` prefix: ``fake_responses.router``
declares ``/responses`` and guards it with ``fake_rest.guard(request, Endpoint.GENERATE)``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vivavoce.testing import fake_calls, fake_responses
from vivavoce.testing import fake_errors as errors
from vivavoce.testing.fake_access import IssuedSecret, bearer_key
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_errors import FakeOpenAIError, new_request_id
from vivavoce.testing.fake_records import (
    RealtimeSessionRecord,
    RestRequestRecord,
    key_fingerprint,
    masked_or_none,
)
from vivavoce.testing.fake_rest import router as rest_router
from vivavoce.testing.realtime_ws import handle_realtime
from vivavoce.testing.webrtc_call import Call, CallRecord

__all__ = ["FakeConfig", "FakeOpenAI", "create_fake_openai_app"]


class FakeOpenAI:
    """One fake OpenAI server: configuration, observations and the ASGI app."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config if config is not None else FakeConfig()
        self.sessions: list[RealtimeSessionRecord] = []
        self.requests: list[RestRequestRecord] = []
        self.client_secrets: dict[str, IssuedSecret] = {}
        self.calls: list[CallRecord] = []
        """WebRTC calls placed with ``POST /v1/realtime/calls`` (see testing/fake_calls.py)."""
        self.live_calls: dict[str, Call] = {}
        """Calls not yet ended, by id (they run on the server's event loop)."""
        self.app = _build_app(self)

    @property
    def last_session(self) -> RealtimeSessionRecord:
        """The most recent Realtime connection. Raises LookupError if there was none."""
        if not self.sessions:
            raise LookupError("no Realtime session has connected to the fake yet")
        return self.sessions[-1]

    @property
    def last_call(self) -> CallRecord:
        """The most recent WebRTC call. Raises LookupError if there was none."""
        if not self.calls:
            raise LookupError("no WebRTC call has been placed with the fake yet")
        return self.calls[-1]

    def end_calls(self, timeout: float = 5.0) -> None:
        """End every live call from another thread than the server's (a test's teardown).

        Calls run on the server's event loop; each is ended there. Never call this
        from that loop itself (it would wait on itself): await ``Call.end`` instead.
        """
        for call in list(self.live_calls.values()):
            if call.loop.is_closed():  # the server is gone, and its calls with it
                self.live_calls.pop(call.record.call_id, None)
                continue
            future = asyncio.run_coroutine_threadsafe(call.end("server_shutdown", 1001, "Server shutting down"), call.loop)
            with contextlib.suppress(TimeoutError, concurrent.futures.TimeoutError):
                future.result(timeout)

    def reset(self) -> None:
        """Forget observations and issued secrets (the configuration is kept)."""
        self.sessions.clear()
        self.requests.clear()
        self.client_secrets.clear()
        self.calls.clear()


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
