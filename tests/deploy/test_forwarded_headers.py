"""Whose X-Forwarded-For/-Proto ``vivavoce serve`` believes (VIVAVOCE_FORWARDED_ALLOW_IPS):
shown in the banner and the doctor, and passed to uvicorn — checked over a real socket by
the scheme of the candidate link the app builds and the client address in the access log.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.deploy.processes import base_env, serve_process
from tests.fixtures.settings import MakeSettings
from vivavoce.banner import render_banner
from vivavoce.diagnosis import run_doctor
from vivavoce.runtime import Runtime
from vivavoce.store.database import Database
from vivavoce.testing.scenarios import scenario_key

# From documentation ranges (RFC 5737): no real client has them.
CLIENT = "203.0.113.7"
FORWARDED = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"}


def runtime_for(make_settings: MakeSettings, **environ: str) -> Runtime:
    return Runtime(
        settings=make_settings(**environ),
        db=Database("sqlite+aiosqlite:///:memory:"),
        admin_token="forwarded-admin-token-0123456789",
        admin_token_generated=False,
        secret_key="s" * 32,
    )


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        ({}, "believed from 127.0.0.1, ::1 (default)"),
        ({"RAILWAY_ENVIRONMENT": "production"}, "believed from any address (default on Railway)"),
        (
            {"VIVAVOCE_FORWARDED_ALLOW_IPS": "10.0.0.7/8"},
            "believed from 10.0.0.0/8 (VIVAVOCE_FORWARDED_ALLOW_IPS from the environment)",
        ),
    ],
)
def test_banner_says_whose_proxy_headers_are_believed(
    make_settings: MakeSettings, environ: dict[str, str], line: str
) -> None:
    text = render_banner(runtime_for(make_settings, **environ))
    [shown] = [row for row in text.splitlines() if "proxy headers" in row]
    assert shown.endswith(line), shown
    assert "any client can claim" not in text


def test_banner_warns_about_trusting_everyone_off_railway(make_settings: MakeSettings) -> None:
    text = render_banner(runtime_for(make_settings, VIVAVOCE_FORWARDED_ALLOW_IPS="*"))
    assert "believed from any address (VIVAVOCE_FORWARDED_ALLOW_IPS" in text
    assert "! any client can claim another address or https" in text


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({}, "proxy headers believed from 127.0.0.1, ::1"),
        ({"RAILWAY_SERVICE_ID": "s"}, "proxy headers believed from any address"),
        ({"VIVAVOCE_FORWARDED_ALLOW_IPS": "192.168.5.2,fd00::/8"}, "believed from 192.168.5.2, fd00::/8"),
    ],
)
async def test_doctor_configuration_lists_them(
    make_settings: MakeSettings, environ: dict[str, str], words: str
) -> None:
    report = await run_doctor(make_settings(**environ), offline=True)
    [configuration] = [c for c in report.checks if c.name == "configuration"]
    assert words in configuration.detail


def _create_interview(url: str, headers: dict[str, str]) -> str:
    response = httpx.post(
        f"{url}/api/interviews", json={"candidate": {"name": "Proxy"}}, headers=headers, timeout=30
    )
    assert response.status_code == 201, response.text
    link: str = response.json()["candidate_url"]
    return link


def _access_line(output: str) -> str:
    [line] = [row for row in output.splitlines() if "POST /api/interviews" in row]
    return line


@pytest.mark.slow
def test_serve_believes_forwarded_headers_only_from_trusted_peers(tmp_path: Path) -> None:
    # The key comes from a file that ends with a newline, as `echo sk-… > key` writes it:
    # the banner must show the key without a whitespace warning.
    key = scenario_key("ok", "forwarded")
    key_file = tmp_path / "openai_key"
    key_file.write_text(key + "\n", encoding="utf-8")

    # Default off Railway: loopback is trusted, and the test connects from 127.0.0.1.
    trusted_env = base_env(tmp_path / "trusted", OPENAI_API_KEY_FILE=str(key_file))
    (tmp_path / "trusted").mkdir()
    with serve_process(trusted_env, tmp_path / "trusted", name="trusted") as server:
        link = _create_interview(server.url, FORWARDED)
        plain = _create_interview(server.url, {})
    output = server.output()
    assert link.startswith(f"https://127.0.0.1:{server.port}/i/"), link
    assert plain.startswith(f"http://127.0.0.1:{server.port}/i/"), plain
    access = [row for row in output.splitlines() if "POST /api/interviews" in row]
    assert len(access) == 2, output
    assert CLIENT in access[0] and CLIENT not in access[1]
    assert "believed from 127.0.0.1, ::1 (default)" in output
    assert "OPENAI_API_KEY_FILE" in output and "around it" not in output, output
    assert key not in output

    # Only another network trusted: the same headers from 127.0.0.1 are ignored.
    untrusted_env = base_env(tmp_path / "untrusted", VIVAVOCE_FORWARDED_ALLOW_IPS="192.0.2.0/24")
    (tmp_path / "untrusted").mkdir()
    with serve_process(untrusted_env, tmp_path / "untrusted", name="untrusted") as server:
        link = _create_interview(server.url, FORWARDED)
    output = server.output()
    assert link.startswith(f"http://127.0.0.1:{server.port}/i/"), link
    line = _access_line(output)
    assert "127.0.0.1" in line and CLIENT not in output, output
    assert "believed from 192.0.2.0/24 (VIVAVOCE_FORWARDED_ALLOW_IPS from the environment)" in output
