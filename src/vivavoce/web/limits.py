"""A size limit on every HTTP request body, refused with 413 in the one error shape.

Why our own middleware: the installed FastAPI (0.165) and Starlette (1.10) do offer
``max_body_size`` (app-wide and per route), but it checks ``Content-Length`` only when
the app reads the body or starts its response. An endpoint that ignores its body still
runs (its side effects happen) before the 413, and that 413 is plain text
"Content Too Large", neither our JSON error shape nor a message saying the limit.
uvicorn has no body limit at all (``h11_max_incomplete_event_size`` bounds the request
head, not the body). So :class:`BodyLimitMiddleware`:

* refuses a declared ``Content-Length`` over the limit before the app runs and before a
  byte of the body is read (uvicorn then sends no ``100 Continue``);
* counts a body sent without ``Content-Length`` (chunked) as the app reads it, and
  stops at the first message past the limit — the body is never buffered here;
* leaves WebSocket and lifespan scopes alone, and passes responses through untouched
  (streaming ones included).

The résumé upload (``POST /api/resume``) gets the résumé limit of
:mod:`vivavoce.resume` plus the route's multipart allowance; every other path gets
``VIVAVOCE_MAX_BODY_BYTES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vivavoce.config import Settings
from vivavoce.resume import MAX_BYTES as RESUME_MAX_BYTES
from vivavoce.web.errors import error_body

__all__ = [
    "MULTIPART_ENVELOPE",
    "RESUME_BODY_LIMIT",
    "BodyLimit",
    "BodyLimitMiddleware",
    "RequestBodyTooLarge",
    "body_limits",
    "install",
]

# Multipart framing adds a little to the file itself.
MULTIPART_ENVELOPE = 64 * 1024
# The largest request the résumé route accepts (the file and its framing); the route
# itself measures only the file.
RESUME_BODY_LIMIT = RESUME_MAX_BYTES + MULTIPART_ENVELOPE


@dataclass(frozen=True)
class BodyLimit:
    """The most bytes a request body may have, and what the 413 says past it."""

    max_bytes: int
    message: str


class RequestBodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit.

    An ``HTTPException`` on purpose: FastAPI turns any other exception raised while it
    reads a body into a 400, and re-raises this one, so the app's own handler renders
    it in the one error shape (and the endpoint never runs).
    """

    def __init__(self, limit: BodyLimit) -> None:
        super().__init__(status_code=413, detail=limit.message)
        self.limit = limit


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


def body_limits(settings: Settings) -> tuple[BodyLimit, dict[str, BodyLimit]]:
    """The default limit and the per-path exceptions, from the settings."""
    default = BodyLimit(
        settings.max_body_bytes,
        f"The request body is larger than the {_size(settings.max_body_bytes)} "
        "this server accepts.",
    )
    resume = BodyLimit(
        RESUME_BODY_LIMIT,
        # The route's own wording, so the candidate reads the same sentence whichever
        # check stops the upload.
        f"The file is larger than {RESUME_MAX_BYTES // (1024 * 1024)} MB.",
    )
    return default, {"/api/resume": resume}


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    # uvicorn refuses a malformed Content-Length itself; anything odd here is ignored.
    return int(value) if value is not None and value.isdigit() else None


def _too_large_error(exc: BaseException) -> RequestBodyTooLarge | None:
    """The limit error in ``exc``, also when a task group wrapped it (and nothing else)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, RequestBodyTooLarge) else None


class BodyLimitMiddleware:
    """Pure ASGI middleware enforcing :class:`BodyLimit` per request path."""

    def __init__(
        self, app: ASGIApp, *, default: BodyLimit, per_path: Mapping[str, BodyLimit]
    ) -> None:
        self.app = app
        self.default = default
        self.per_path = dict(per_path)

    def limit_for(self, path: str) -> BodyLimit:
        return self.per_path.get(path.rstrip("/") or "/", self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await _refuse(limit, scope, receive, send)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise RequestBodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BaseException as exc:
            # Normally the app's handler has already answered; this catches the error
            # when it escapes (read outside a route, or from inside a task group).
            error = _too_large_error(exc)
            if error is None or response_started:
                raise
            await _refuse(error.limit, scope, receive, send)


async def _refuse(limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(error_body("too_large", limit.message), status_code=413)
    await response(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the middleware (call it after every other ``add_middleware``: it goes
    outermost, so nothing reads a body before the limit applies)."""
    default, per_path = body_limits(settings)
    app.add_middleware(BodyLimitMiddleware, default=default, per_path=per_path)
