"""vivavoce.config: where every value came from, values set twice, the key file, platforms."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import ValidationError

from vivavoce.config import Settings, describe_settings_errors, detect_platform, load_settings
from vivavoce.keys import fingerprint, inspect_key
from vivavoce.reload import reload_key, set_settings_loader
from vivavoce.runtime import Runtime
from vivavoce.store.database import Database
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
    # BOM and the file's final line end dropped; the cp1252 quote becomes U+FFFD for
    # inspect_key to point at.
    assert settings.openai_api_key.get_secret_value() == "\ufffd" + KEY_FILE


@dataclass(frozen=True)
class KeyShape:
    id: str
    source: Literal["file", "env"]
    content: str  # {key} stands for the key
    kept: str  # what the settings keep (and inspect_key sees)
    warnings: tuple[str, ...]  # the key findings above "info"


KEY_SHAPES = [
    # A text file's one final line end is its shape, not part of the key: no finding.
    KeyShape("file-newline", "file", "{key}\n", "{key}", ()),
    KeyShape("file-crlf", "file", "{key}\r\n", "{key}", ()),
    KeyShape("file-no-newline", "file", "{key}", "{key}", ()),
    KeyShape("file-bom-newline", "file", "\ufeff{key}\n", "{key}", ()),
    # Only one line end goes; anything else around the key is still reported.
    KeyShape("file-two-newlines", "file", "{key}\n\n", "{key}\n", ("surrounding_whitespace",)),
    KeyShape("file-two-crlf", "file", "{key}\r\n\r\n", "{key}\r\n", ("surrounding_whitespace",)),
    KeyShape("file-trailing-space", "file", "{key} \n", "{key} ", ("surrounding_whitespace",)),
    KeyShape("file-leading-spaces", "file", "  {key}\n", "  {key}", ("surrounding_whitespace",)),
    KeyShape("file-leading-newline", "file", "\n{key}\n", "\n{key}", ("surrounding_whitespace",)),
    KeyShape("file-bare-cr", "file", "{key}\r", "{key}\r", ("surrounding_whitespace",)),
    KeyShape("file-only-newline", "file", "\n", "", ("empty",)),
    # A variable's value has no "end of file": any whitespace in it is reported.
    KeyShape("env-newline", "env", "{key}\n", "{key}\n", ("surrounding_whitespace",)),
    KeyShape("env-crlf", "env", "{key}\r\n", "{key}\r\n", ("surrounding_whitespace",)),
    KeyShape("env-trailing-space", "env", "{key} ", "{key} ", ("surrounding_whitespace",)),
]


def _load_key_shape(shape: KeyShape, tmp_path: Path) -> Settings:
    content = shape.content.format(key=KEY_FILE)
    if shape.source == "env":
        return load_settings({"OPENAI_API_KEY": content}, env_file=None)
    key_file = tmp_path / "openai_key"
    key_file.write_bytes(content.encode("utf-8"))
    return load_settings({"OPENAI_API_KEY_FILE": str(key_file)}, env_file=None)


def _warnings(raw: str | None) -> list[str]:
    return sorted(f.code for f in inspect_key(raw).findings if f.severity != "info")


@pytest.mark.parametrize("shape", KEY_SHAPES, ids=[s.id for s in KEY_SHAPES])
def test_key_shapes_from_a_file_and_the_environment(shape: KeyShape, tmp_path: Path) -> None:
    settings = _load_key_shape(shape, tmp_path)
    assert settings.openai_api_key is not None
    raw = settings.openai_api_key.get_secret_value()
    assert raw == shape.kept.format(key=KEY_FILE)
    assert _warnings(raw) == sorted(shape.warnings)
    if shape.kept.strip():
        assert inspect_key(raw).normalised == KEY_FILE


def test_key_file_and_variable_differing_by_a_newline_are_not_a_conflict(tmp_path: Path) -> None:
    key_file = write(tmp_path / "openai_key", KEY_FILE + "\n")
    settings = load_settings(
        {"OPENAI_API_KEY_FILE": str(key_file), "OPENAI_API_KEY": KEY_FILE}, env_file=None
    )
    assert settings.conflicts == []


async def test_a_reload_re_reads_the_rotated_file_without_a_finding(tmp_path: Path) -> None:
    """The reload path reads the file again through the same loader; a rotated secret
    that ends with a line end must come back clean, one with more must not."""
    key_file = write(tmp_path / "openai_key", KEY_FILE + "\n")
    env = {"OPENAI_API_KEY_FILE": str(key_file), "VIVAVOCE_DATA_DIR": str(tmp_path / "data")}
    settings = load_settings(env, env_file=None)
    runtime = Runtime(
        settings=settings,
        db=Database("sqlite+aiosqlite:///:memory:"),
        admin_token="reload-admin-token-0123456789",
        admin_token_generated=False,
        secret_key="s" * 32,
        api_key=KEY_FILE,
    )
    reread: list[Settings] = []

    def loader() -> Settings:
        reread.append(load_settings(env, env_file=None))
        return reread[-1]

    async def doctor(candidate: Settings, key: str) -> dict[str, Any]:
        return {"ok": True, "checks": [], "causes": []}

    set_settings_loader(runtime, loader)
    rotated = scenario_key("ok", "rotated")
    for content, warnings in ((rotated + "\r\n", []), (rotated + "\n\n", ["surrounding_whitespace"])):
        key_file.write_bytes(content.encode())
        result = await reload_key(runtime, doctor=doctor)
        assert result.applied, result.message
        assert runtime.api_key == rotated
        assert reread[-1].openai_api_key is not None
        assert _warnings(reread[-1].openai_api_key.get_secret_value()) == warnings
    await runtime.db.dispose()


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


@pytest.mark.parametrize(
    ("environ", "setting", "effective"),
    [
        # Unset: Railway's proxy is the only way in there; elsewhere only loopback.
        ({}, None, ["127.0.0.1", "::1"]),
        ({"RAILWAY_ENVIRONMENT": "production"}, None, ["*"]),
        ({"RAILWAY_PROJECT_ID": "p", "VIVAVOCE_ENV": "development"}, None, ["*"]),
        ({"VIVAVOCE_IN_DOCKER": "1"}, None, ["127.0.0.1", "::1"]),
        ({"VIVAVOCE_FORWARDED_ALLOW_IPS": ""}, None, ["127.0.0.1", "::1"]),  # empty = unset
        ({"VIVAVOCE_FORWARDED_ALLOW_IPS": " , "}, None, ["127.0.0.1", "::1"]),
        # Set: used as given, on Railway too, in canonical form.
        ({"VIVAVOCE_FORWARDED_ALLOW_IPS": "10.0.0.5"}, ["10.0.0.5"], ["10.0.0.5"]),
        (
            {"VIVAVOCE_FORWARDED_ALLOW_IPS": " 172.18.0.0/16 , 10.1.2.3,fd00::/8 "},
            ["172.18.0.0/16", "10.1.2.3", "fd00::/8"],
            ["172.18.0.0/16", "10.1.2.3", "fd00::/8"],
        ),
        (  # host bits in a network are what the operator meant: the network
            {"VIVAVOCE_FORWARDED_ALLOW_IPS": "172.18.0.7/16,0:0:0:0:0:0:0:1,::1"},
            ["172.18.0.0/16", "::1"],
            ["172.18.0.0/16", "::1"],
        ),
        ({"VIVAVOCE_FORWARDED_ALLOW_IPS": "*"}, ["*"], ["*"]),
        (
            {"VIVAVOCE_FORWARDED_ALLOW_IPS": "10.0.0.5", "RAILWAY_ENVIRONMENT": "production"},
            ["10.0.0.5"],
            ["10.0.0.5"],
        ),
    ],
)
def test_forwarded_allow_ips_parsing_and_defaults(
    environ: dict[str, str], setting: list[str] | None, effective: list[str]
) -> None:
    settings = load_settings(environ, env_file=None)
    assert settings.forwarded_allow_ips == setting
    assert settings.effective_forwarded_allow_ips == effective
    expected_words = "any address" if effective == ["*"] else ", ".join(effective)
    assert settings.describe_forwarded_allow_ips() == expected_words
    if "VIVAVOCE_FORWARDED_ALLOW_IPS" in environ:
        assert settings.source_of("forwarded_allow_ips").name == "VIVAVOCE_FORWARDED_ALLOW_IPS"


def test_forwarded_allow_ips_from_dotenv(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", "VIVAVOCE_FORWARDED_ALLOW_IPS=192.168.1.10\n")
    settings = load_settings({}, env_file=env_file)
    assert settings.effective_forwarded_allow_ips == ["192.168.1.10"]
    assert settings.source_of("forwarded_allow_ips").location == f"{env_file} line 1"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("proxy", "'proxy' is not an IP address or a network"),  # a host name never matches
        ("localhost", "'localhost' is not an IP address"),
        ("10.0.0.1/33", "'10.0.0.1/33' is not an IP address or a network"),
        ("[::1]", "'[::1]' is not an IP address"),
        ("10.0.0.1;10.0.0.2", "'10.0.0.1;10.0.0.2' is not an IP address"),
        ("10.0.0.1, 300.1.1.1", "'300.1.1.1' is not an IP address"),
        ("*, 10.0.0.1", "'*' trusts every address, so it must be given alone"),
    ],
)
def test_invalid_forwarded_allow_ips_is_named_by_its_variable(value: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load_settings({"VIVAVOCE_FORWARDED_ALLOW_IPS": value}, env_file=None)
    [line] = describe_settings_errors(caught.value)
    assert line.startswith("VIVAVOCE_FORWARDED_ALLOW_IPS: ")
    assert says in line


def test_settings_built_directly_read_the_same_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sources are pydantic-settings sources, not a side path of load_settings: a
    # plain Settings() reads the process environment and ./.env through them too.
    monkeypatch.chdir(tmp_path)
    write(tmp_path / ".env", "VIVAVOCE_REALTIME_MODEL=gpt-realtime-mini\n")
    monkeypatch.setenv("VIVAVOCE_VOICE", "cedar")
    settings = Settings()
    assert (settings.voice, settings.realtime_model) == ("cedar", "gpt-realtime-mini")


def test_two_names_of_one_setting_are_a_conflict_and_the_first_wins() -> None:
    settings = load_settings({"PORT": "9001", "VIVAVOCE_PORT": "9002"}, env_file=None)
    assert settings.port == 9001
    [conflict] = settings.conflicts
    assert (conflict.setting, conflict.used.name, conflict.ignored.name) == (
        "port", "PORT", "VIVAVOCE_PORT"
    )


def test_the_transport_setting_and_its_bad_values() -> None:
    settings = load_settings({}, env_file=None)
    assert (settings.transport, settings.webrtc_connect_timeout_s) == ("auto", 5.0)
    settings = load_settings({"VIVAVOCE_TRANSPORT": "webrtc",
                              "VIVAVOCE_WEBRTC_CONNECT_TIMEOUT_S": "2.5"}, env_file=None)
    assert (settings.transport, settings.webrtc_connect_timeout_s) == ("webrtc", 2.5)
    with pytest.raises(ValidationError) as caught:
        load_settings({"VIVAVOCE_TRANSPORT": "udp"}, env_file=None)
    [line] = describe_settings_errors(caught.value)
    assert line.startswith("VIVAVOCE_TRANSPORT: ") and "'relay', 'webrtc' or 'auto'" in line
    with pytest.raises(ValidationError) as caught:
        load_settings({"VIVAVOCE_WEBRTC_CONNECT_TIMEOUT_S": "0"}, env_file=None)
    assert describe_settings_errors(caught.value)[0].startswith("VIVAVOCE_WEBRTC_CONNECT_TIMEOUT_S")
