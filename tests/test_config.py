"""vivavoce.config: where every value came from, values set twice, the key file, platforms."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from vivavoce.config import detect_platform, load_settings
from vivavoce.keys import fingerprint
from vivavoce.testing.scenarios import scenario_key

KEY_ENV = scenario_key("ok", "env")
KEY_DOTENV = scenario_key("ok", "dotenv")
KEY_FILE = scenario_key("ok", "file")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_have_default_sources(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=tmp_path / "missing.env")
    assert settings.openai_api_key is None
    assert settings.realtime_model == "gpt-realtime"
    assert settings.port == 8000 and settings.host == "127.0.0.1"
    assert settings.source_of("openai_api_key").kind == "default"
    assert settings.source_of("realtime_model").describe() == "default"
    assert settings.conflicts == []


def test_environment_source(tmp_path: Path) -> None:
    settings = load_settings({"OPENAI_API_KEY": KEY_ENV}, env_file=None)
    source = settings.source_of("openai_api_key")
    assert (source.kind, source.name) == ("env", "OPENAI_API_KEY")
    assert source.describe() == "OPENAI_API_KEY from the environment"


def test_dotenv_source_names_the_line(tmp_path: Path) -> None:
    env_file = write(
        tmp_path / ".env",
        "# vivavoce settings\n\nVIVAVOCE_VOICE=cedar\n\n\nexport OPENAI_API_KEY=" + KEY_DOTENV + "\n",
    )
    settings = load_settings({}, env_file=env_file)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == KEY_DOTENV
    assert settings.source_of("openai_api_key").location == f"{env_file} line 6"
    assert settings.source_of("voice").location == f"{env_file} line 3"
    assert settings.voice == "cedar"


def test_environment_beats_dotenv_and_the_conflict_names_both(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", f"OPENAI_API_KEY={KEY_DOTENV}\n")
    settings = load_settings({"OPENAI_API_KEY": KEY_ENV}, env_file=env_file)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == KEY_ENV
    [conflict] = settings.conflicts
    assert conflict.setting == "openai_api_key"
    assert conflict.used.kind == "env"
    assert conflict.ignored.location == f"{env_file} line 1"
    # Both keys can be told apart without being shown.
    assert conflict.used_key == f"sk-test-…{KEY_ENV[-4:]}, fingerprint {fingerprint(KEY_ENV)}"
    assert conflict.ignored_key == f"sk-test-…{KEY_DOTENV[-4:]}, fingerprint {fingerprint(KEY_DOTENV)}"
    text = conflict.describe()
    assert "set in two places with different values" in text
    assert KEY_ENV not in text and KEY_DOTENV not in text


def test_other_settings_conflict_without_key_labels(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", "VIVAVOCE_REALTIME_MODEL=gpt-realtime-mini\n")
    settings = load_settings({"VIVAVOCE_REALTIME_MODEL": "gpt-realtime"}, env_file=env_file)
    [conflict] = settings.conflicts
    assert conflict.setting == "realtime_model" and conflict.used_key is None
    assert conflict.describe().endswith(f"{env_file} line 1 is ignored")


def test_same_key_spelled_twice_is_not_a_conflict(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", f"OPENAI_API_KEY='Bearer {KEY_ENV}'\n")
    settings = load_settings({"OPENAI_API_KEY": f'"{KEY_ENV}"\n'}, env_file=env_file)
    assert settings.conflicts == []


def test_key_kept_raw_for_the_key_checks(tmp_path: Path) -> None:
    settings = load_settings({"OPENAI_API_KEY": f"  {KEY_ENV}\n"}, env_file=None)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == f"  {KEY_ENV}\n"
    assert KEY_ENV not in repr(settings)  # SecretStr hides it


def test_key_file_is_read_and_is_the_lowest_precedence(tmp_path: Path) -> None:
    secret = write(tmp_path / "openai_key", KEY_FILE + "\n")
    settings = load_settings({"OPENAI_API_KEY_FILE": str(secret)}, env_file=None)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value().strip() == KEY_FILE
    source = settings.source_of("openai_api_key")
    assert (source.kind, source.name, source.location) == ("file", "OPENAI_API_KEY_FILE", str(secret))

    both = load_settings(
        {"OPENAI_API_KEY_FILE": str(secret), "OPENAI_API_KEY": KEY_ENV}, env_file=None
    )
    assert both.openai_api_key is not None
    assert both.openai_api_key.get_secret_value() == KEY_ENV
    [conflict] = both.conflicts
    assert conflict.ignored.kind == "file"


def test_key_file_that_is_not_utf8_is_read_for_the_key_checks(tmp_path: Path) -> None:
    key_file = tmp_path / "secret"
    key_file.write_bytes(b"\xef\xbb\xbf\x93" + KEY_FILE.encode() + b"\n")
    settings = load_settings({"OPENAI_API_KEY_FILE": str(key_file)}, env_file=None)
    assert settings.openai_api_key is not None
    # BOM dropped; the cp1252 quote becomes U+FFFD for inspect_key to point at.
    assert settings.openai_api_key.get_secret_value() == "\ufffd" + KEY_FILE + "\n"


def test_unreadable_key_file_leaves_no_key(tmp_path: Path) -> None:
    settings = load_settings({"OPENAI_API_KEY_FILE": str(tmp_path / "nope")}, env_file=None)
    assert settings.openai_api_key is None
    assert settings.openai_api_key_file == tmp_path / "nope"


def test_dotenv_with_a_byte_order_mark_still_names_its_first_variable(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(b"\xef\xbb\xbfOPENAI_API_KEY=" + KEY_DOTENV.encode() + b"\n")
    settings = load_settings({}, env_file=dotenv)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == KEY_DOTENV
    assert settings.source_of("openai_api_key").location == f"{dotenv} line 1"
    assert settings.dotenv_problem is None


def test_dotenv_that_is_not_utf8_is_reported_not_a_crash(tmp_path: Path) -> None:
    # What a Windows editor saves when the key was pasted with smart quotes (cp1252).
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(
        b"VIVAVOCE_VOICE=cedar\nOPENAI_API_KEY=\x93" + KEY_DOTENV.encode() + b"\x94\n"
    )
    settings = load_settings({}, env_file=dotenv)
    assert settings.dotenv_problem is not None
    assert "not UTF-8" in settings.dotenv_problem and "line 2" in settings.dotenv_problem
    assert KEY_DOTENV not in settings.dotenv_problem
    assert settings.voice == "cedar"  # the rest of the file is still read
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "\ufffd" + KEY_DOTENV + "\ufffd"


def test_dotenv_that_cannot_be_read_is_reported(tmp_path: Path) -> None:
    # Docker bind-mounting a .env that does not exist on the host makes a directory.
    (tmp_path / ".env").mkdir()
    settings = load_settings({}, env_file=tmp_path / ".env")
    assert settings.dotenv_problem is not None
    assert "cannot be read" in settings.dotenv_problem
    assert load_settings({}, env_file=tmp_path / "absent.env").dotenv_problem is None


def test_railway_detected_and_means_production(tmp_path: Path) -> None:
    settings = load_settings({"RAILWAY_ENVIRONMENT": "production"}, env_file=None)
    assert settings.platform == "railway"
    assert settings.is_production
    # An explicit VIVAVOCE_ENV still wins (a Railway preview environment, say).
    explicit = load_settings(
        {"RAILWAY_PROJECT_ID": "p", "VIVAVOCE_ENV": "development"}, env_file=None
    )
    assert explicit.platform == "railway" and not explicit.is_production


@pytest.mark.parametrize(
    ("environ", "platform"),
    [
        ({"RAILWAY_SERVICE_ID": "x"}, "railway"),
        ({"RAILWAY_ENVIRONMENT_NAME": "staging"}, "railway"),
        ({"VIVAVOCE_IN_DOCKER": "1"}, "docker"),
        ({"RAILWAY_ENVIRONMENT": ""}, None),  # empty is not set
    ],
)
def test_detect_platform(environ: dict[str, str], platform: str | None) -> None:
    detected = detect_platform(environ)
    if platform is None:
        assert detected in ("docker", "local")  # depends on /.dockerenv on this machine
    else:
        assert detected == platform


@pytest.mark.skipif(Path("/.dockerenv").exists(), reason="this machine is a container")
def test_local_platform() -> None:
    assert detect_platform({}) == "local"


def test_port_from_platform_and_overrides(tmp_path: Path) -> None:
    settings = load_settings({"PORT": "9001"}, env_file=None)
    assert settings.port == 9001
    assert settings.source_of("port").name == "PORT"
    flagged = load_settings({"PORT": "9001"}, env_file=None, port=9002)
    assert flagged.port == 9002
    assert flagged.source_of("port").describe() == "--port from the command line"


@pytest.mark.parametrize("port", ["0", "-5", "65536", "70000", "", "eighty"])
def test_port_out_of_range_or_not_a_number_is_refused(port: str) -> None:
    # uvicorn would otherwise wrap 70000 round to another port, or fail deep in asyncio.
    with pytest.raises(ValidationError) as caught:
        load_settings({"PORT": port}, env_file=None)
    assert caught.value.errors()[0]["loc"] == ("port",)
    with pytest.raises(ValidationError):
        load_settings({}, env_file=None, port=int(port) if port.lstrip("-").isdigit() else -1)


def test_org_and_project_ids_are_trimmed_and_empty_means_unset() -> None:
    settings = load_settings(
        {"OPENAI_ORG_ID": " org-abc123\n", "OPENAI_PROJECT_ID": ""}, env_file=None
    )
    assert settings.openai_org_id == "org-abc123"
    assert settings.openai_project_id is None


@pytest.mark.parametrize(
    ("name", "value", "position"),
    [
        ("OPENAI_ORG_ID", "org-\u00e9quipe", 5),
        ("OPENAI_PROJECT_ID", "proj_a\u200bb", 7),
        ("OPENAI_PROJECT_ID", "proj_a b", 7),
    ],
)
def test_ids_a_header_cannot_carry_are_refused_with_the_position(
    name: str, value: str, position: int
) -> None:
    # They are sent as OpenAI-Organization / OpenAI-Project headers; httpx cannot encode
    # them, which used to crash the doctor (and every call) instead of naming the setting.
    with pytest.raises(ValidationError) as caught:
        load_settings({name: value}, env_file=None)
    error = caught.value.errors()[0]
    assert error["loc"] == (name.lower(),)
    assert f"character {position} is" in error["msg"]


def test_invalid_value_raises_validation_error() -> None:
    with pytest.raises(ValidationError):
        load_settings({"VIVAVOCE_MAX_INTERVIEW_SECONDS": "10"}, env_file=None)
    with pytest.raises(ValidationError):
        load_settings({"VIVAVOCE_ENV": "staging"}, env_file=None)
    with pytest.raises(ValidationError):  # an empty model name is no model
        load_settings({"VIVAVOCE_REALTIME_MODEL": ""}, env_file=None)


def test_database_url_and_origins() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgres://u:p@db:5432/vv",
            "VIVAVOCE_ALLOWED_ORIGINS": "https://a.example, https://b.example",
        },
        env_file=None,
    )
    assert settings.effective_database_url == "postgresql+asyncpg://u:p@db:5432/vv"
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


def test_log_format_follows_environment() -> None:
    assert load_settings({}, env_file=None).effective_log_format == "text"
    production = load_settings({"VIVAVOCE_ENV": "production"}, env_file=None)
    assert production.effective_log_format == "json"
