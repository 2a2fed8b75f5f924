"""``vivavoce serve`` as a real process in production mode: refuses bad settings with the
cause and fix, logs JSON lines, and reloads the key on SIGHUP."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.deploy.processes import base_env, run_serve, serve_process
from tests.fixtures.fake_openai import RunningFake
from vivavoce.keys import fingerprint
from vivavoce.testing.scenarios import scenario_key

pytestmark = pytest.mark.slow

ADMIN_TOKEN = "serve-process-admin-token-0123456789"
SECRET_PART = "Qx7" * 12  # distinctive, so a leak would be found


def test_production_refuses_to_start_with_causes_and_fixes(tmp_path: Path) -> None:
    # Railway's variables alone switch production on (VIVAVOCE_ENV=production is the
    # other way in; the SIGHUP test below starts with it).
    env = base_env(
        tmp_path,
        RAILWAY_ENVIRONMENT="production",
        OPENAI_API_KEY=f"sk-proj-{SECRET_PART} {SECRET_PART}",
        VIVAVOCE_SIMULATOR="1",
    )
    result = run_serve(env, tmp_path)
    assert result.returncode == 1
    err = result.stderr
    for cause in (
        "[simulator_in_production]",
        "[key_malformed]",
        "[secret_key_missing]",
        "[admin_token_missing]",
        "[origins_missing]",
    ):
        assert cause in err
    assert "How to fix it:" in err and "whitespace inside the key" in err
    assert "on Railway" in err and "service → Variables" in err
    assert "Traceback" not in err + result.stdout
    assert SECRET_PART[:8] not in err + result.stdout


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_production_serves_json_logs_and_reloads_on_sighup(
    tmp_path: Path, fake_openai: RunningFake
) -> None:
    old, new = scenario_key("ok", "proc-old"), scenario_key("ok", "proc-new")
    key_file = tmp_path / "openai_key"
    key_file.write_text(old, encoding="utf-8")
    env = base_env(
        tmp_path,
        VIVAVOCE_ENV="production",
        OPENAI_API_KEY_FILE=str(key_file),
        OPENAI_BASE_URL=fake_openai.base_url,
        VIVAVOCE_ADMIN_TOKEN=ADMIN_TOKEN,
        VIVAVOCE_SECRET_KEY="serve-process-secret-key-0123456789abcdef",
        VIVAVOCE_ALLOWED_ORIGINS="https://interviews.example.com",
    )
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with serve_process(env, tmp_path, name="prod") as server:
        state = httpx.get(f"{server.url}/api/admin/reload", headers=admin, timeout=10).json()
        assert state["key"]["fingerprint"] == fingerprint(old)

        key_file.write_text(new, encoding="utf-8")
        server.process.send_signal(signal.SIGHUP)
        last = None
        deadline = time.monotonic() + 60  # a bound on waiting, not a speed assertion
        while time.monotonic() < deadline:
            last = httpx.get(f"{server.url}/api/admin/reload", headers=admin, timeout=10).json()
            if last["last_reload"] is not None:
                break
            time.sleep(0.1)
        assert last is not None and last["last_reload"] is not None, server.output()
        assert last["last_reload"]["trigger"] == "sighup"
        assert last["last_reload"]["applied"] is True, last
        assert last["key"]["fingerprint"] == fingerprint(new)
        assert server.process.poll() is None  # SIGHUP did not end the process
    output = server.output()
    # Production logs are JSON, one object per line; the banner is plain text before them.
    log_lines = [line for line in output.splitlines() if line.startswith("{")]
    assert log_lines, output
    records = [json.loads(line) for line in log_lines]
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    assert any("key reload (sighup)" in r["message"] for r in records)
    for key in (old, new):
        assert key not in output and key.split("-")[-1] not in output
