"""Interview tokens never reach the log: uvicorn's access and WebSocket lines included.

Logging is set up as ``vivavoce serve`` sets it up (``setup_logging``, then uvicorn with
``log_config=None`` and its access log on), and real requests go through a real socket.
"""

from __future__ import annotations

import http.client
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect

from tests.diagnosis.logging_state import preserved_logging
from tests.fixtures.database import SECRET_KEY, make_runtime
from tests.fixtures.settings import MakeSettings
from vivavoce.keys import mask_key
from vivavoce.logs import mask_interview_tokens, setup_logging
from vivavoce.store.database import Database
from vivavoce.testing import serve_in_background
from vivavoce.testing.scenarios import scenario_key
from vivavoce.tokens import issue_interview_token
from vivavoce.web.app import create_app

KEY = scenario_key("ok", "logtokens")
INTERVIEW_ID = "0b4f2c8e-6a57-4d0e-9d61-5b1f0f3c2a11"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    with preserved_logging():
        yield


def _wait_for(stream: io.StringIO, needle: str) -> str:
    # The server thread writes the line; give it a moment rather than racing it.
    deadline = time.monotonic() + 10
    while needle not in stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    return stream.getvalue()


def _get(host: str, port: int, path: str) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_tokens_in_paths_and_queries_are_masked_in_every_line(
    make_settings: MakeSettings, tmp_path: Path, log_format: str
) -> None:
    settings = make_settings(
        VIVAVOCE_LOG_FORMAT=log_format, OPENAI_API_KEY=KEY, VIVAVOCE_SIMULATOR="1"
    )
    stream = io.StringIO()
    setup_logging(settings, stream=stream)
    token = issue_interview_token(SECRET_KEY, INTERVIEW_ID)
    masked = token[:4] + "…"
    runtime = make_runtime(
        settings, Database(f"sqlite+aiosqlite:///{tmp_path / 'logs.db'}"), api_key=KEY
    )
    with serve_in_background(create_app(runtime=runtime)) as server:
        host, port = server.host, server.port
        assert _get(host, port, f"/i/{token}") == 200  # the candidate link opens the room
        assert _get(host, port, f"/results/{INTERVIEW_ID}?token={token}") == 200
        assert _get(host, port, f"/api/interviews/{INTERVIEW_ID}/transcript?format=json&token={token}") == 404
        # The key still comes out masked, wherever it was put.
        assert _get(host, port, f"/nowhere?k={KEY}") == 404
        # /voice: uvicorn logs the WebSocket's path and query on its error logger.
        try:
            with connect(f"{server.ws_url}/voice?token={token}", open_timeout=10) as ws:
                ws.close()
        except (InvalidStatus, WebSocketException, OSError):
            pass  # refused or closed: either way uvicorn has written its line
        out = _wait_for(stream, "/voice?token=")

    assert token not in out
    assert KEY not in out
    assert f"/i/{masked}" in out
    assert f"/results/{INTERVIEW_ID}?token={masked}" in out
    assert f"format=json&token={masked}" in out
    assert f"/voice?token={masked}" in out
    assert mask_key(KEY) in out
    lines = out.splitlines()
    access = [line for line in lines if f"/i/{masked}" in line]
    assert access, out
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        assert any(r["logger"] == "uvicorn.access" and f"/i/{masked}" in r["message"]
                   for r in records)
    else:
        assert "uvicorn.access" in access[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"GET /i/eyJpIjoiYWJjIn0.sIgNaTuRe HTTP/1.1" 200', '"GET /i/eyJp… HTTP/1.1" 200'),
        ("https://talk.example.org/i/eyJpIjoi.x-_~9", "https://talk.example.org/i/eyJp…"),
        ("/voice?token=eyJpIjoi.sig&x=1", "/voice?token=eyJp…&x=1"),
        ("/api/interviews/7?format=markdown&token=abcdefgh", "/api/interviews/7?format=markdown&token=abcd…"),
        ("/api/interviews/7?mytoken=abcdefgh", "/api/interviews/7?mytoken=abcdefgh"),
        ("/api/interviews/7 and w/i/o", "/api/interviews/7 and w/i/o"),
    ],
)
def test_mask_interview_tokens(text: str, expected: str) -> None:
    assert mask_interview_tokens(text) == expected
    assert mask_interview_tokens(expected) == expected  # idempotent
