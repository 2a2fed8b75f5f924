"""`vivavoce serve` end to end: the admin token, the signing key and the database URL.

Development: with no VIVAVOCE_ADMIN_TOKEN the service generates one, prints it once in the
banner, and that token (and only it) opens the operator API; the fresh database is
migrated by `serve` itself. Production: a missing VIVAVOCE_SECRET_KEY or admin token
stops the start with the cause and the fix. A DATABASE_URL vivavoce cannot use is a
message, never a traceback.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from vivavoce.cli import app

# Every variable that could leak in from the machine running the tests and change what
# `serve` does (a real .env is avoided by running in an empty directory).
_PREFIXES = ("VIVAVOCE_", "OPENAI_", "RAILWAY_", "DATABASE_URL", "PORT")
_KEY = "sk-test-" + "a1B2c3D4e5F6g7H8i9J0" * 2
_PRODUCTION = {
    "VIVAVOCE_ENV": "production",
    "OPENAI_API_KEY": _KEY,
    "VIVAVOCE_ADMIN_TOKEN": "serve-admin-token-0123456789ABCDEF",
    "VIVAVOCE_SECRET_KEY": "serve-secret-key-0123456789abcdefXYZ",
    "VIVAVOCE_ALLOWED_ORIGINS": "https://interviews.example.com",
}


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_dev_generates_an_admin_token_prints_it_once_and_it_works(
    database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    # Written the way hosting platforms hand URLs out (postgres://…?sslmode=…): `serve`
    # must convert them for the async drivers.
    platform_url = database_url.replace("postgresql+asyncpg://", "postgres://").replace(
        "sqlite+aiosqlite://", "sqlite://"
    )
    if platform_url.startswith("postgres://"):
        platform_url += "?sslmode=disable"
    env = {
        **_clean_environ(),
        "PYTHONUNBUFFERED": "1",
        "VIVAVOCE_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": platform_url,
    }
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vivavoce.cli", "serve", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=stdout, stderr=stderr,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        token = None
        # Bounded wait for the start (not a speed assertion: 60 s is only a safety net).
        for _ in range(600):
            assert proc.poll() is None, err.read_text()
            match = re.search(r"admin token\s+(\S+)", out.read_text())
            if match:
                token = match.group(1)
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        assert token is not None and len(token) >= 24, out.read_text()
        admin = {"Authorization": f"Bearer {token}"}
        # `serve` migrated the empty database: an interview can be created and listed.
        created = httpx.post(
            f"{base}/api/interviews", json={"candidate": {"name": "Ada"}}, headers=admin,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        listed = httpx.get(f"{base}/api/interviews", headers=admin, timeout=10)
        assert listed.status_code == 200
        assert [i["id"] for i in listed.json()["items"]] == [created.json()["id"]]
        assert httpx.get(f"{base}/api/interviews", timeout=10).status_code == 401
        wrong = {"Authorization": f"Bearer {token[::-1]}"}
        assert httpx.get(f"{base}/api/interviews", headers=wrong, timeout=10).status_code == 401
        # /voice declines permessage-deflate, which browsers offer: PCM audio barely
        # compresses and deflating every frame cost a fifth of the relay's CPU.
        assert _voice_extensions(f"ws://127.0.0.1:{port}/voice") is None
        # Its start-up objects are frozen out of the collector's scans (vivavoce.heap):
        # a full collection mid-interview no longer pauses every relay for ~0.2 s.
        scrape = httpx.get(f"{base}/metrics", headers=admin, timeout=10).text
        frozen = re.search(r"^vivavoce_gc_frozen_objects (\S+)$", scrape, re.M)
        assert frozen is not None and float(frozen.group(1)) > 10_000, scrape[-2000:]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    everything = out.read_text() + err.read_text()
    assert everything.count(token) == 1  # printed once, never logged
    assert "Traceback" not in everything


def _voice_extensions(url: str) -> str | None:
    """The extensions `serve`'s /voice agrees to when the client offers deflate."""
    from websockets.sync.client import connect

    with connect(url, compression="deflate", open_timeout=10) as ws:
        assert ws.response is not None
        return ws.response.headers.get("Sec-WebSocket-Extensions")


@pytest.mark.parametrize(
    ("unset", "problem"),
    [("VIVAVOCE_SECRET_KEY", "secret_key_missing"), ("VIVAVOCE_ADMIN_TOKEN", "admin_token_missing")],
)
def test_production_refuses_to_start_without_its_secrets(
    unset: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    env = {**_PRODUCTION, "VIVAVOCE_DATA_DIR": str(tmp_path / "data")}
    del env[unset]
    result = CliRunner().invoke(app, ["serve", "--port", str(_free_port())], env=env)
    assert result.exit_code == 1, result.output
    assert f"{unset} is not set [{problem}]" in result.output
    assert "How to fix it" in result.output and "Traceback" not in result.output
    assert _KEY not in result.output
    assert not (tmp_path / "data" / "secret_key").exists()  # nothing generated in production


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://u:hunter2@db.example.com/app", "SQLite or PostgreSQL, not 'mysql'"),
        ("not a url at all", "Could not parse"),
        ("postgresql://u:hunter2@127.0.0.1/x?connect_timeout=soon", "connect_timeout"),
    ],
)
def test_unusable_database_url_is_a_message_not_a_traceback(
    url: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    env = {"DATABASE_URL": url, "VIVAVOCE_DATA_DIR": str(tmp_path / "data")}
    for command in (["serve", "--port", str(_free_port())], ["db", "upgrade"]):
        result = CliRunner().invoke(app, command, env=env)
        assert result.exit_code == 2, (command, result.output)
        assert "DATABASE_URL is not usable" in result.output and says in result.output
        assert "hunter2" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_unreachable_database_stops_serve_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    env = {
        "DATABASE_URL": "postgres://u:hunter2@127.0.0.1:1/x",  # nothing listens on port 1
        "VIVAVOCE_DATA_DIR": str(tmp_path / "data"),
    }
    result = CliRunner().invoke(app, ["serve", "--port", str(_free_port())], env=env)
    assert result.exit_code == 1, result.output
    assert "the database at postgresql+asyncpg://u:***@127.0.0.1:1/x cannot be used" in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output
    assert "admin token" not in result.output  # stopped before the banner
