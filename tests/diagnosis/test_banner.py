"""The startup banner says what matters, and never the key."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.settings import MakeSettings
from vivavoce.banner import database_display, render_banner
from vivavoce.runtime import Runtime
from vivavoce.store.database import Database
from vivavoce.testing.scenarios import scenario_key


def runtime_for(make_settings: MakeSettings, *, generated: bool = True, env_file: Path | None = None, **env: str) -> Runtime:
    settings = make_settings(env_file=env_file, **env)
    key = settings.openai_api_key.get_secret_value().strip() if settings.openai_api_key else None
    return Runtime(
        settings=settings,
        db=Database("sqlite+aiosqlite:///:memory:"),
        admin_token="generated-admin-token-abc123",
        admin_token_generated=generated,
        secret_key="s" * 32,
        api_key=key,
    )


def test_healthy_openai_mode(make_settings: MakeSettings) -> None:
    key = scenario_key("ok", "banner")
    text = render_banner(
        runtime_for(make_settings, OPENAI_API_KEY=key, VIVAVOCE_PORT="8123", VIVAVOCE_HOST="0.0.0.0")
    )
    assert key not in text and key[8:20] not in text
    assert f"✔ OpenAI key    sk-test-…{key[-4:]}" in text
    assert "OPENAI_API_KEY from the environment" in text
    assert "gpt-realtime" in text
    assert "OpenAI Realtime API at https://api.openai.com/v1" in text
    assert "SIMULATOR" not in text
    assert "http://0.0.0.0:8123" in text


def test_ipv6_listening_address_is_a_valid_url(make_settings: MakeSettings) -> None:
    text = render_banner(runtime_for(make_settings, VIVAVOCE_HOST="::", PORT="8124"))
    assert "listening     http://[::]:8124" in text


def test_simulator_mode_is_unmissable_and_token_printed_once(make_settings: MakeSettings) -> None:
    text = render_banner(runtime_for(make_settings))
    assert "not set (the simulator is used instead)" in text
    assert text.count("SIMULATOR MODE") == 1
    assert "█" in text
    assert text.count("generated-admin-token-abc123") == 1


def test_configured_admin_token_is_not_printed(make_settings: MakeSettings) -> None:
    text = render_banner(runtime_for(make_settings, generated=False))
    assert "generated-admin-token-abc123" not in text
    assert "admin token" not in text


def test_findings_and_conflicts_shown(make_settings: MakeSettings, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("OPENAI_API_KEY=sk-test-ok-from-dotenv-0000000000\n")
    text = render_banner(
        runtime_for(make_settings, env_file=env_file, OPENAI_API_KEY='"sk-admin-' + "NotAKey0Fake_" * 6 + '"')
    )
    assert "✘ OpenAI key    sk-admin-…" in text
    assert "wrapped in quotes" in text
    assert "admin key" in text
    assert "set in two places with different values" in text
    assert ".env line 1" in text
    assert "vivavoce doctor" in text
    assert "NotAKey0Fake_NotAKey0" not in text


def test_dotenv_problem_shown(make_settings: MakeSettings, tmp_path: Path) -> None:
    (tmp_path / "mounted.env").mkdir()
    text = render_banner(runtime_for(make_settings, env_file=tmp_path / "mounted.env"))
    assert "mounted.env cannot be read" in text


def test_database_password_hidden(make_settings: MakeSettings) -> None:
    text = render_banner(runtime_for(make_settings, DATABASE_URL="postgres://app:hunter2pass@db:5432/vv"))
    assert "hunter2pass" not in text
    assert "postgresql+asyncpg://app:***@db:5432/vv" in text
    assert "secret" not in database_display("postgres://u:secret@[::1")
