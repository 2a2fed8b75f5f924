"""The request-body limit: 413 in the one error shape, before or while the body is read.

Driven through the whole app (httpx on the ASGI app, as the API tests are, and once on a
real uvicorn socket), on SQLite and PostgreSQL; a tiny app checks what must pass through
untouched (WebSocket messages, streamed responses).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from tests.fixtures.database import ApiClient, make_runtime
from tests.fixtures.settings import MakeSettings
from vivavoce.resume import MAX_BYTES
from vivavoce.store.database import Database
from vivavoce.testing import serve_in_background
from vivavoce.web.app import create_app
from vivavoce.web.limits import RESUME_BODY_LIMIT, BodyLimit, BodyLimitMiddleware

LIMIT = 4096
CHUNK = 1024
CANDIDATE = {"name": "Ada Example", "major": "Computer Science", "year": "3rd year"}

MakeApiClient = Callable[..., Any]


def _create_body(size: int) -> bytes:
    """A valid create request of exactly ``size`` bytes (JSON padded with spaces)."""
    raw = json.dumps({"candidate": CANDIDATE}).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def _assert_too_large(response: httpx.Response, says: str) -> None:
    assert response.status_code == 413, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "too_large"
    assert says in body["error"]["message"], body


async def _stored(client: ApiClient) -> int:
    listed = await client.get("/api/interviews", headers=client.admin_headers)
    assert listed.status_code == 200, listed.text
    total: int = listed.json()["total"]
    return total


class Chunks:
    """A request body handed over ``CHUNK`` bytes at a time, counting what was taken."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.pulled < self.total:
            size = min(CHUNK, self.total - self.pulled)
            self.pulled += size
            yield b" " * size


async def _limited_client(make_api_client: MakeApiClient) -> tuple[ApiClient, list[Any]]:
    """A client on an app with LIMIT, plus a probe route recording every call."""
    client: ApiClient = await make_api_client(VIVAVOCE_MAX_BODY_BYTES=str(LIMIT))
    calls: list[Any] = []

    async def probe(payload: dict[str, Any]) -> dict[str, bool]:
        calls.append(payload)
        return {"ok": True}

    client.app.add_api_route("/probe", probe, methods=["POST"])
    return client, calls


async def test_declared_length_over_the_limit_is_refused_before_reading(
    make_api_client: MakeApiClient,
) -> None:
    client, calls = await _limited_client(make_api_client)
    for path in ("/api/interviews", "/probe"):
        body = Chunks(LIMIT + 1)
        response = await client.post(
            path,
            content=body,
            headers={
                **client.admin_headers,
                "Content-Type": "application/json",
                "Content-Length": str(LIMIT + 1),
            },
        )
        _assert_too_large(response, "4 KiB")
        assert body.pulled == 0  # not a byte of the body was read
    assert calls == []
    assert await _stored(client) == 0


async def test_chunked_over_the_limit_stops_reading_and_never_runs_the_handler(
    make_api_client: MakeApiClient,
) -> None:
    client, calls = await _limited_client(make_api_client)
    for path in ("/api/interviews", "/probe"):
        body = Chunks(64 * LIMIT)
        response = await client.post(
            path,
            content=body,
            headers={**client.admin_headers, "Content-Type": "application/json"},
        )
        assert "content-length" not in response.request.headers
        _assert_too_large(response, "4 KiB")
        # Reading stopped at the first chunk past the limit.
        assert LIMIT < body.pulled <= LIMIT + CHUNK
    assert calls == []
    assert await _stored(client) == 0


async def test_a_body_at_the_limit_is_served_one_byte_more_is_not(
    make_api_client: MakeApiClient,
) -> None:
    client, calls = await _limited_client(make_api_client)
    headers = {**client.admin_headers, "Content-Type": "application/json"}
    at_limit = await client.post("/api/interviews", content=_create_body(LIMIT), headers=headers)
    assert at_limit.status_code == 201, at_limit.text
    over = await client.post("/api/interviews", content=_create_body(LIMIT + 1), headers=headers)
    _assert_too_large(over, "4 KiB")
    probed = await client.post("/probe", content=_create_body(LIMIT), headers=headers)
    assert probed.status_code == 200 and len(calls) == 1
    assert await _stored(client) == 1  # the one at the limit, not the one over it


async def test_the_default_limit_is_one_mebibyte(make_api_client: MakeApiClient) -> None:
    client: ApiClient = await make_api_client()
    headers = {**client.admin_headers, "Content-Type": "application/json"}
    size = 1024 * 1024
    at_limit = await client.post("/api/interviews", content=_create_body(size), headers=headers)
    assert at_limit.status_code == 201, at_limit.text
    over = await client.post("/api/interviews", content=_create_body(size + 1), headers=headers)
    _assert_too_large(over, "1 MiB")
    assert await _stored(client) == 1


async def test_the_resume_upload_has_its_own_larger_limit(make_api_client: MakeApiClient) -> None:
    client, _ = await _limited_client(make_api_client)
    resume = b"Grace Hopper\nSkills: COBOL, compilers\n" + b"Navy programmer. " * 6000
    assert len(resume) > 20 * LIMIT
    accepted = await client.post(
        "/api/resume", files={"file": ("cv.txt", resume, "text/plain")}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["fields"]["name"] == "Grace Hopper"
    # Past the résumé limit it is refused from the declared length, in the route's words.
    body = Chunks(RESUME_BODY_LIMIT + 1)
    refused = await client.post(
        "/api/resume",
        content=body,
        headers={
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(RESUME_BODY_LIMIT + 1),
        },
    )
    _assert_too_large(refused, f"{MAX_BYTES // (1024 * 1024)} MB")
    assert body.pulled == 0


def test_on_a_real_socket(make_settings: MakeSettings, tmp_path: Path) -> None:
    settings = make_settings(VIVAVOCE_MAX_BODY_BYTES=str(LIMIT), VIVAVOCE_SIMULATOR="1")
    url = f"sqlite+aiosqlite:///{tmp_path / 'socket.db'}"
    app = create_app(runtime=make_runtime(settings, Database(url)))
    with serve_in_background(app) as server:

        def connect() -> contextlib.closing[http.client.HTTPConnection]:
            return contextlib.closing(
                http.client.HTTPConnection(server.host, server.port, timeout=10)
            )

        # Only the head is sent, announcing 30 MB and asking to be told to go on: the
        # first thing back is the 413, not "100 Continue", and no body was sent at all.
        with socket.create_connection((server.host, server.port), timeout=10) as raw:
            raw.sendall(
                b"POST /api/interviews HTTP/1.1\r\nHost: vivavoce\r\n"
                b"Content-Type: application/json\r\nContent-Length: 31457280\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            received = b""
            while b"\r\n\r\n" not in received:
                received += raw.recv(65536)
            head, _, body = received.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 413 "), head
            length = int(next(
                line.split(b":")[1] for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ))
            while len(body) < length:
                body += raw.recv(65536)
            error = json.loads(body)["error"]
            assert error["code"] == "too_large" and "4 KiB" in error["message"]

        # Chunked, and never finished: answered once the limit is passed.
        with connect() as chunked:
            chunked.putrequest("POST", "/api/interviews")
            chunked.putheader("Content-Type", "application/json")
            chunked.putheader("Transfer-Encoding", "chunked")
            chunked.endheaders()
            for _ in range(LIMIT // CHUNK + 1):
                chunked.send(b"%x\r\n%s\r\n" % (CHUNK, b" " * CHUNK))
            response = chunked.getresponse()
            assert response.status == 413
            assert json.loads(response.read())["error"]["code"] == "too_large"

        # A normal request on the same server is served.
        with connect() as normal:
            normal.request(
                "POST", "/api/interviews", body=_create_body(LIMIT),
                headers={"Content-Type": "application/json"},
            )
            created = normal.getresponse()
            assert created.status == 201, created.read()

    async def count() -> int:
        from sqlalchemy import func, select

        from vivavoce.store.models import Interview

        database = Database(url)
        try:
            async with database.session() as session:
                return int((await session.execute(select(func.count(Interview.id)))).scalar_one())
        finally:
            await database.dispose()

    assert asyncio.run(count()) == 1


# --- what the middleware leaves alone ----------------------------------------------------


def _tiny_app() -> Starlette:
    async def stream(request: Request) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for n in range(50):
                yield b"%d:" % n + b"x" * 100 + b"\n"

        return StreamingResponse(parts(), media_type="text/plain")

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_bytes(await websocket.receive_bytes())
        await websocket.close()

    limit = BodyLimit(16, "too big")
    return Starlette(
        routes=[Route("/stream", stream), WebSocketRoute("/ws", echo)],
        middleware=[Middleware(BodyLimitMiddleware, default=limit, per_path={})],
    )


async def test_streamed_responses_pass_through() -> None:
    transport = httpx.ASGITransport(app=_tiny_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/stream")
    assert response.status_code == 200
    lines = response.text.splitlines()
    assert len(lines) == 50 and lines[-1].startswith("49:")


def test_websocket_messages_are_not_request_bodies() -> None:
    with TestClient(_tiny_app()) as client, client.websocket_connect("/ws") as ws:
        message = b"m" * 1000  # far past the 16-byte body limit
        ws.send_bytes(message)
        assert ws.receive_bytes() == message


async def test_a_body_read_outside_any_route_is_refused_in_the_error_shape() -> None:
    # A bare ASGI app (no FastAPI handler to render the error), reading in a task group:
    # the middleware itself answers, in the one error shape.
    handled: list[int] = []

    async def bare(scope: Scope, receive: Receive, send: Send) -> None:
        async def drain() -> None:
            size = 0
            while True:
                message = await receive()
                size += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
            handled.append(size)

        async with anyio.create_task_group() as group:
            group.start_soon(drain)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read"})

    app = BodyLimitMiddleware(bare, default=BodyLimit(16, "Over 16 bytes."), per_path={})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        small = await client.post("/", content=b"x" * 16)
        assert small.status_code == 200 and handled == [16]
        body = Chunks(4 * CHUNK)
        big = await client.post("/", content=body)
    _assert_too_large(big, "Over 16 bytes.")
    assert body.pulled == CHUNK and handled == [16]
