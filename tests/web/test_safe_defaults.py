"""Safe defaults and strong secrets (issue 14): development stays on loopback unless told
otherwise, open interviews are an opt-in, production refuses trivially weak secrets, and
weak ones are called out in the banner, the doctor and the setup page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.deploy.processes import base_env
from tests.fixtures.settings import MakeSettings
from tests.web.conftest import MakeClient, log_in
from vivavoce.banner import render_banner
from vivavoce.cli import app as cli_app
from vivavoce.diagnosis import run_doctor
from vivavoce.runtime import Runtime
from vivavoce.secret_strength import STRONG_BITS, estimated_bits, weakness
from vivavoce.startup import check_can_start, production_problems
from vivavoce.store.database import Database

GOOD = {
    "VIVAVOCE_ENV": "production",
    "OPENAI_API_KEY": "sk-test-safe-defaults-" + "a1B2c3D4" * 6,
    "VIVAVOCE_SECRET_KEY": "safe-defaults-secret-0123456789ABCDEFxyz",
    "VIVAVOCE_ADMIN_TOKEN": "safe-defaults-admin-0123456789ABCDEFxyz",
    "VIVAVOCE_ALLOWED_ORIGINS": "https://interviews.example.com",
}


def runtime_for(make_settings: MakeSettings, **env: str) -> Runtime:
    return Runtime(
        settings=make_settings(**env),
        db=Database("sqlite+aiosqlite:///:memory:"),
        admin_token="generated-admin-token-abc123XYZ",
        admin_token_generated=False,
        secret_key="generated-secret-key-abc123XYZ",
    )


# --- development on a reachable address --------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.5"])
def test_development_on_a_reachable_address_refuses_without_the_opt_in(
    make_settings: MakeSettings, host: str
) -> None:
    message = check_can_start(make_settings(VIVAVOCE_HOST=host))
    assert message is not None
    assert f"development mode on {host}" in message
    assert "VIVAVOCE_ALLOW_INSECURE" in message and "VIVAVOCE_ENV" in message
    assert check_can_start(make_settings(VIVAVOCE_HOST=host, VIVAVOCE_ALLOW_INSECURE="1")) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.5"])
def test_development_on_loopback_starts(make_settings: MakeSettings, host: str) -> None:
    assert check_can_start(make_settings(VIVAVOCE_HOST=host)) is None


def test_serve_on_every_address_in_development_exits_with_the_reason(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vivavoce.cli", "serve", "--host", "0.0.0.0", "--port", "1"],
        env=base_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "VIVAVOCE_ALLOW_INSECURE" in done.stderr and "Traceback" not in done.stderr


# --- open interviews ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "opened"),
    [
        ({}, True),  # development on loopback
        ({"VIVAVOCE_HOST": "0.0.0.0", "VIVAVOCE_ALLOW_INSECURE": "1"}, False),
        ({"VIVAVOCE_ENV": "production"}, False),
        ({"VIVAVOCE_ENV": "production", "VIVAVOCE_OPEN_INTERVIEWS": "1"}, True),
        ({"VIVAVOCE_HOST": "0.0.0.0", "VIVAVOCE_OPEN_INTERVIEWS": "1"}, True),
        ({"VIVAVOCE_OPEN_INTERVIEWS": "0"}, False),
    ],
)
def test_open_interviews_are_an_opt_in_except_development_on_loopback(
    make_settings: MakeSettings, env: dict[str, str], opened: bool
) -> None:
    settings = make_settings(**env)
    assert settings.allow_open_interviews is opened
    banner = render_banner(runtime_for(make_settings, **env))
    assert ("open interviews ON" in banner) is opened


def test_open_interviews_without_a_link_need_the_opt_in_over_http(make_client: MakeClient) -> None:
    exposed = make_client(VIVAVOCE_HOST="0.0.0.0", VIVAVOCE_ALLOW_INSECURE="1")
    body = {"candidate": {"name": "Ada"}}
    assert exposed.post("/api/interviews", json=body).status_code == 401
    opened = make_client(
        VIVAVOCE_HOST="0.0.0.0", VIVAVOCE_ALLOW_INSECURE="1", VIVAVOCE_OPEN_INTERVIEWS="1"
    )
    assert opened.post("/api/interviews", json=body).status_code == 201


# --- strong secrets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("VIVAVOCE_ADMIN_TOKEN", "aaaaaaaaaaaaaaaa", "admin_token_weak"),
        ("VIVAVOCE_ADMIN_TOKEN", "abababababababababab", "admin_token_weak"),
        ("VIVAVOCE_SECRET_KEY", "aaaaaaaaaaaaaaaaaaaaaaaa", "secret_key_weak"),
        ("VIVAVOCE_SECRET_KEY", "123412341234123412", "secret_key_weak"),
        ("VIVAVOCE_SECRET_KEY", "q9Z!x", "secret_key_missing"),
    ],
)
def test_production_refuses_trivially_weak_secrets_with_the_fix(
    make_settings: MakeSettings, name: str, value: str, problem: str
) -> None:
    settings = make_settings(**{**GOOD, name: value})
    assert [p.id for p in production_problems(settings)] == [problem]
    message = check_can_start(settings)
    assert message is not None and f"[{problem}]" in message
    assert "vivavoce secret" in message and f"Set {name}" in message
    assert value not in message


def test_serve_in_production_with_a_weak_admin_token_exits_with_the_fix(tmp_path: Path) -> None:
    weak = "aaaaaaaaaaaaaaaaaaaa"
    done = subprocess.run(
        [sys.executable, "-m", "vivavoce.cli", "serve", "--port", "1"],
        env=base_env(tmp_path, **{**GOOD, "VIVAVOCE_ADMIN_TOKEN": weak}),
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert "[admin_token_weak]" in done.stderr and "vivavoce secret" in done.stderr
    assert weak not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_strength_estimate() -> None:
    assert weakness("a" * 30) == "it is one character repeated"
    assert weakness("0123456789") is None
    assert estimated_bits("aaaaaaaaaaaaaaaa") < 40
    assert estimated_bits("password-password-pass") < STRONG_BITS


def test_a_weak_but_accepted_secret_is_a_warning_not_a_refusal(
    make_settings: MakeSettings, make_client: MakeClient
) -> None:
    weak = {"VIVAVOCE_ADMIN_TOKEN": "Tr0ub4dor&3-horse"}  # 16+ chars, 10+ distinct
    settings = make_settings(**{**GOOD, **weak})
    assert production_problems(settings) == []
    banner = render_banner(runtime_for(make_settings, **{**GOOD, **weak}))
    assert "! VIVAVOCE_ADMIN_TOKEN looks weak" in banner and "vivavoce secret" in banner
    assert "Tr0ub4dor" not in banner
    assert "looks weak" not in render_banner(runtime_for(make_settings, **GOOD))
    client = make_client(VIVAVOCE_ADMIN_TOKEN=weak["VIVAVOCE_ADMIN_TOKEN"])
    log_in(client, weak["VIVAVOCE_ADMIN_TOKEN"])
    page = client.get("/admin/setup").text
    assert "VIVAVOCE_ADMIN_TOKEN looks weak" in page


async def test_the_doctor_warns_about_weak_secrets(make_settings: MakeSettings) -> None:
    report = await run_doctor(
        make_settings(VIVAVOCE_SECRET_KEY="Tr0ub4dor&3-horse"), offline=True
    )
    [configuration] = [c for c in report.checks if c.name == "configuration"]
    assert configuration.status == "warn"
    assert "VIVAVOCE_SECRET_KEY looks weak" in configuration.detail


def test_vivavoce_secret_prints_a_strong_value() -> None:
    first = CliRunner().invoke(cli_app, ["secret"])
    second = CliRunner().invoke(cli_app, ["secret"])
    assert first.exit_code == 0
    value = first.output.strip()
    assert value != second.output.strip()
    assert len(value) >= 40 and weakness(value) is None and estimated_bits(value) >= STRONG_BITS
