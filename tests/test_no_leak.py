"""The key never leaks: not in logs, stdout/stderr, HTTP responses or exception text.

One distinctive test key drives the CLI (doctor, the serve banner), the real server's
endpoints and error paths over a socket, and failing upstream calls to the fake (which
echoes the key half-masked, as OpenAI does). Everything produced is collected and
searched for the key and for every 8-character run of its secret part.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from typer.testing import CliRunner

from tests.diagnosis.logging_state import preserved_logging
from tests.fixtures.fake_openai import RunningFake, running_fake
from vivavoce.banner import render_banner
from vivavoce.cli import app as cli_app
from vivavoce.config import load_settings
from vivavoce.diagnosis.doctor import run_doctor
from vivavoce.logs import setup_logging
from vivavoce.openai_client import make_async_client
from vivavoce.redact import redact
from vivavoce.testing import serve_in_background
from vivavoce.testing.scenarios import scenario_key
from vivavoce.web.app import build_runtime, create_app

KEY = scenario_key("revoked", "no-leak")
GOOD_KEY = scenario_key("ok", "no-leak")
ADMIN = "admin-token-for-the-no-leak-test"


def leaks(text: str, key: str = KEY) -> list[str]:
    """Every piece of ``key``'s secret part (8+ characters) found in ``text``."""
    secret = key[len("sk-test-") :]
    found = [key] if key in text else []
    found += [secret[i : i + 8] for i in range(len(secret) - 7) if secret[i : i + 8] in text]
    return found


def assert_clean(text: str, what: str) -> None:
    for key in (KEY, GOOD_KEY):
        assert not leaks(text, key), f"the key leaked into {what}: {leaks(text, key)[:3]}"


@pytest.fixture(scope="module")
def fake() -> Iterator[RunningFake]:
    yield from running_fake()


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[io.StringIO]:
    """JSON logs of everything (DEBUG, so the HTTP clients speak too) into a buffer."""
    stream = io.StringIO()
    settings = load_settings(
        {"OPENAI_API_KEY": KEY, "VIVAVOCE_LOG_FORMAT": "json", "VIVAVOCE_LOG_LEVEL": "DEBUG",
         "VIVAVOCE_DATA_DIR": str(tmp_path / "logs")},
        env_file=None,
    )
    with preserved_logging():
        setup_logging(settings, stream=stream)
        yield stream


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: RunningFake
) -> Iterator[pytest.MonkeyPatch]:
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "VIVAVOCE_", "RAILWAY_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("VIVAVOCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    with preserved_logging():  # the doctor installs redaction process-wide
        yield monkeypatch


def test_cli_doctor_and_banner(
    env: pytest.MonkeyPatch,
    log_stream: io.StringIO,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    outputs = []
    for args, code in ((["doctor", "--json"], 1), (["doctor"], 1), (["doctor", "--offline"], 0)):
        result = CliRunner().invoke(cli_app, args)
        assert result.exit_code == code, result.output
        outputs.append(result.output)
    assert "key_invalid" in outputs[0]
    # A key that is not even well formed goes through the error paths too.
    env.setenv("OPENAI_API_KEY", f'"{KEY[:30]} {KEY[30:]}"\n')
    outputs.append(CliRunner().invoke(cli_app, ["doctor", "--json"]).output)
    env.setenv("OPENAI_API_KEY", KEY)
    # An invalid setting next to the key: the error message must not carry it.
    env.setenv("VIVAVOCE_ENV", KEY)
    invalid = CliRunner().invoke(cli_app, ["doctor"])
    assert invalid.exit_code == 2
    outputs.append(invalid.output)
    env.delenv("VIVAVOCE_ENV")

    settings = load_settings(env_file=tmp_path / ".env")
    outputs.append(render_banner(build_runtime(settings)))
    captured = capfd.readouterr()
    for text, what in [
        *((o, "CLI output") for o in outputs),
        (captured.out + captured.err, "stdout/stderr"),
        (log_stream.getvalue(), "logs"),
    ]:
        assert_clean(text, what)


def test_cli_as_a_subprocess(fake: RunningFake, tmp_path: Path) -> None:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": fake.base_url,
        "VIVAVOCE_DATA_DIR": str(tmp_path / "data"),
        "VIVAVOCE_LOG_LEVEL": "DEBUG",
    }
    result = subprocess.run(
        [sys.executable, "-m", "vivavoce.cli", "doctor"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "invalid_api_key" in result.stdout
    assert_clean(result.stdout + result.stderr, "subprocess output")


def test_server_endpoints_and_error_paths(
    fake: RunningFake, log_stream: io.StringIO, tmp_path: Path
) -> None:
    settings = load_settings(
        {
            "OPENAI_API_KEY": KEY,
            "OPENAI_BASE_URL": fake.base_url,
            "VIVAVOCE_ADMIN_TOKEN": ADMIN,
            "VIVAVOCE_DATA_DIR": str(tmp_path / "server"),
        },
        env_file=None,
    )
    admin = {"Authorization": f"Bearer {ADMIN}"}
    texts: list[tuple[str, str]] = []
    with serve_in_background(create_app(settings)) as server, httpx.Client(
        base_url=server.http_url, timeout=30
    ) as client:
        requests = [
            client.get("/healthz"),
            client.get("/readyz"),
            client.get("/api/diagnostics", headers=admin),
            client.get("/api/diagnostics?refresh=1", headers=admin),
            client.get("/api/diagnostics"),
            client.get("/api/diagnostics", headers={"Authorization": f"Bearer {KEY}"}),
            client.get(f"/api/diagnostics?refresh={KEY}", headers=admin),
            client.get(f"/{KEY}"),
            client.post("/api/interviews", json={"candidate": KEY, "openai_api_key": KEY}),
            client.post("/api/interviews", content=f"{{not json {KEY}", headers=admin),
        ]
        diagnostics = requests[2]
        assert diagnostics.status_code == 200
        assert [c["id"] for c in diagnostics.json()["causes"]] == ["key_invalid"]
        assert requests[5].status_code == 401
        for response in requests:
            headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            # What the server sent back (the request's own URL is ours, not checked).
            texts.append((f"{response.status_code}\n{headers}\n{response.text}", "an HTTP response"))
    texts.append((log_stream.getvalue(), "server logs"))
    for text, what in texts:
        assert_clean(text, what)


async def test_failing_upstream_calls(
    fake: RunningFake, log_stream: io.StringIO, tmp_path: Path
) -> None:
    settings = load_settings(
        {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": fake.base_url,
         "VIVAVOCE_DATA_DIR": str(tmp_path / "up")},
        env_file=None,
    )
    texts: list[str] = []
    client = make_async_client(settings, max_retries=0)
    try:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.models.list()
        # OpenAI (and the fake) echo the key half-masked: first 8, asterisks, last 4.
        assert "Incorrect API key provided" in str(caught.value)
        texts += [str(caught.value), repr(caught.value), redact(str(caught.value))]
        logging.getLogger("vivavoce.relay").error("upstream failed: %s", caught.value)

        async with client.realtime.connect(model="gpt-realtime") as connection:
            event = await connection.recv()
            assert event.type == "error"
            texts.append(event.model_dump_json())
            logging.getLogger("vivavoce.relay").warning("upstream error event %s", event)
    finally:
        await client.close()
    report = await run_doctor(settings)
    texts.append(json.dumps(report.to_json()))
    assert report.causes == ["key_invalid"]
    texts.append(log_stream.getvalue())
    for text in texts:
        assert_clean(text, "upstream error text")


def test_log_lines_mask_what_code_logs_by_mistake(log_stream: io.StringIO) -> None:
    log = logging.getLogger("vivavoce.anything")
    log.info("settings: %s", {"OPENAI_API_KEY": KEY})
    log.info(f"f-string with the key {KEY}")  # noqa: G004 (that is the mistake)
    log.debug("headers %s", [("authorization", f"Bearer {GOOD_KEY}")])
    try:
        {}[KEY]
    except KeyError:
        log.exception("lookup failed")
    out = log_stream.getvalue()
    assert out.count("\n") >= 4
    assert_clean(out, "logs")
