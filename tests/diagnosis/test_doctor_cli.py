"""`vivavoce doctor --json` end to end: every cause id, through real sockets to the fake.

The CLI runs in-process (typer's CliRunner) with a controlled environment and working
directory, and once as a real subprocess with a clean environment.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.diagnosis.logging_state import preserved_logging
from tests.fixtures.fake_openai import RunningFake, running_fake
from vivavoce.cli import app
from vivavoce.diagnosis import doctor as doctor_module
from vivavoce.diagnosis import live as live_module
from vivavoce.diagnosis.catalogue import CAUSES
from vivavoce.testing.scenarios import scenario_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake() -> Iterator[RunningFake]:
    # One fake for the module: the scenario is chosen by the key, so tests do not clash.
    yield from running_fake()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No OPENAI_*/VIVAVOCE_*/Railway variables and no .env: only what the test sets.

    The doctor installs log redaction process-wide; it is put back afterwards."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "VIVAVOCE_", "RAILWAY_")) or name in (
            "DATABASE_URL",
            "PORT",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VIVAVOCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    with preserved_logging():
        yield monkeypatch


def run_doctor_cli(env: pytest.MonkeyPatch, *args: str, **variables: str) -> tuple[int, Any]:
    for name, value in variables.items():
        env.setenv(name, value)
    result = CliRunner().invoke(app, ["doctor", "--json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check(report: Any, name: str) -> Any:
    return next(c for c in report["checks"] if c["name"] == name)


SCENARIO_CAUSES = [
    ("invalid", {}, "key_invalid", "models"),
    ("revoked", {}, "key_invalid", "models"),
    ("deactivated", {}, "account_deactivated", "models"),
    ("restricted", {}, "insufficient_permissions", "models"),
    ("norealtime", {}, "no_realtime_access", "realtime"),
    ("noquota", {}, "quota_exhausted", "realtime"),
    ("ratelimited", {}, "rate_limited", "models"),
    ("region", {}, "region_unsupported", "models"),
    ("orgmismatch", {"OPENAI_ORG_ID": "org-someoneelse"}, "org_project_mismatch", "models"),
    ("projmismatch", {"OPENAI_PROJECT_ID": "proj_someoneelse"}, "org_project_mismatch", "models"),
    ("nomodel", {}, "model_unavailable", "realtime_model"),
    ("outage", {}, "openai_unavailable", "models"),
]


@pytest.mark.parametrize(
    ("scenario", "extra", "cause", "failed_check"),
    SCENARIO_CAUSES,
    ids=[s[0] for s in SCENARIO_CAUSES],
)
def test_live_causes(
    clean_env: pytest.MonkeyPatch,
    fake: RunningFake,
    scenario: str,
    extra: dict[str, str],
    cause: str,
    failed_check: str,
) -> None:
    key = scenario_key(scenario)
    code, report = run_doctor_cli(
        clean_env, OPENAI_API_KEY=key, OPENAI_BASE_URL=fake.base_url, **extra
    )
    assert code == 1
    assert report["ok"] is False
    assert [c["id"] for c in report["causes"]] == [cause]
    assert check(report, failed_check)["status"] == "fail"
    assert report["key"]["type"] == "test"
    assert report["key"]["masked"] == "sk-test-…" + key[-4:]
    assert key not in json.dumps(report)
    fix = report["causes"][0]["fix"]
    assert fix and all(isinstance(step, str) for step in fix)


def test_healthy_key_passes_every_check(clean_env: pytest.MonkeyPatch, fake: RunningFake) -> None:
    key = scenario_key("ok")
    code, report = run_doctor_cli(clean_env, OPENAI_API_KEY=key, OPENAI_BASE_URL=fake.base_url)
    assert code == 0
    assert report["ok"] is True and report["causes"] == []
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses == {
        "configuration": "pass",
        "key": "pass",
        "dns": "pass",
        "tcp": "pass",
        "tls": "skip",  # http:// base URL
        "models": "pass",
        "realtime_model": "pass",
        "realtime": "pass",
        "webrtc": "pass",
    }
    assert set(report) == {"ok", "checks", "causes", "key"}
    assert set(report["key"]) == {"source", "type", "masked", "fingerprint"}
    assert report["key"]["source"] == "OPENAI_API_KEY from the environment"
    for entry in report["checks"]:
        assert set(entry) == {"name", "status", "detail", "ms"}
    # The handshake really happened on the fake, with our session.update.
    assert any("session.update" in s.events_received for s in fake.fake.sessions)
    # A WebRTC call was placed with the server's key, then hung up.
    call = fake.fake.calls[-1]
    assert call.ended and call.end_reason == "hangup" and "a=ice-ufrag:vvdc" in call.offer_sdp


def test_timeout_after_tls_points_at_openai_not_the_key(
    clean_env: pytest.MonkeyPatch, fake: RunningFake
) -> None:
    clean_env.setattr(doctor_module, "_REST_TIMEOUT", 0.3)
    clean_env.setattr(doctor_module, "_MAX_RETRIES", 0)
    clean_env.setattr(fake.fake.config, "slow_delay_s", 3.0)
    code, report = run_doctor_cli(
        clean_env, OPENAI_API_KEY=scenario_key("slow"), OPENAI_BASE_URL=fake.base_url
    )
    assert code == 1
    assert [c["id"] for c in report["causes"]] == ["openai_unavailable"]
    assert "status.openai.com" in " ".join(report["causes"][0]["fix"])


def test_realtime_silence_is_openai_unavailable(
    clean_env: pytest.MonkeyPatch, fake: RunningFake
) -> None:
    clean_env.setattr(live_module, "HANDSHAKE_TIMEOUT", 0.5)
    clean_env.setattr(fake.fake.config, "session_updated_delay_s", 3.0)
    code, report = run_doctor_cli(
        clean_env, OPENAI_API_KEY=scenario_key("ok"), OPENAI_BASE_URL=fake.base_url
    )
    assert code == 1
    assert check(report, "realtime")["status"] == "fail"
    assert [c["id"] for c in report["causes"]] == ["openai_unavailable"]


def test_error_event_without_close_is_read_briefly(
    clean_env: pytest.MonkeyPatch, fake: RunningFake
) -> None:
    # An in-band error that leaves the session open, and no session.updated yet: the
    # doctor reads the error for AFTER_ERROR_WAIT, not the whole handshake timeout.
    clean_env.setattr(live_module, "AFTER_ERROR_WAIT", 0.3)
    clean_env.setattr(fake.fake.config, "error_after_events", 1)
    clean_env.setattr(fake.fake.config, "session_updated_delay_s", 3.0)
    code, report = run_doctor_cli(
        clean_env, OPENAI_API_KEY=scenario_key("ok"), OPENAI_BASE_URL=fake.base_url
    )
    realtime = check(report, "realtime")
    assert realtime["status"] == "fail"
    assert "error event server_error.server_error" in realtime["detail"]
    # Had it waited for session.updated (3 s, within the 10 s timeout) this would pass.
    assert [c["id"] for c in report["causes"]] == ["openai_unavailable"]
    assert code == 1


def test_recoverable_error_then_session_updated_passes(
    clean_env: pytest.MonkeyPatch, fake: RunningFake
) -> None:
    clean_env.setattr(fake.fake.config, "error_after_events", 1)
    code, report = run_doctor_cli(
        clean_env, OPENAI_API_KEY=scenario_key("ok"), OPENAI_BASE_URL=fake.base_url
    )
    assert check(report, "realtime")["status"] == "pass"
    assert code == 0


def test_network_unreachable(clean_env: pytest.MonkeyPatch) -> None:
    code, report = run_doctor_cli(
        clean_env,
        OPENAI_API_KEY=scenario_key("ok"),
        OPENAI_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1",
    )
    assert code == 1
    assert [c["id"] for c in report["causes"]] == ["network_unreachable"]
    assert check(report, "tcp")["status"] == "fail"
    assert check(report, "models")["status"] == "skip"


def test_tls_failure_is_network_not_key(clean_env: pytest.MonkeyPatch, fake: RunningFake) -> None:
    # https:// to a server that speaks plain HTTP: TCP works, the TLS handshake does not
    # (what an intercepting proxy or a wrong port looks like).
    https_url = fake.base_url.replace("http://", "https://")
    code, report = run_doctor_cli(
        clean_env, OPENAI_API_KEY=scenario_key("ok"), OPENAI_BASE_URL=https_url
    )
    assert code == 1
    assert check(report, "tcp")["status"] == "pass"
    assert check(report, "tls")["status"] == "fail"
    assert check(report, "models")["status"] == "skip"
    assert [c["id"] for c in report["causes"]] == ["network_unreachable"]


def test_base_url_without_scheme(clean_env: pytest.MonkeyPatch) -> None:
    code, report = run_doctor_cli(
        clean_env, OPENAI_API_KEY=scenario_key("ok"), OPENAI_BASE_URL="api.openai.com/v1"
    )
    assert code == 1
    assert [c["id"] for c in report["causes"]] == ["network_unreachable"]
    assert "is not an http:// or https:// URL" in check(report, "dns")["detail"]


def test_base_url_without_v1_is_named(clean_env: pytest.MonkeyPatch, fake: RunningFake) -> None:
    # The host answers, but GET /models is the fake's "Invalid URL" 404: the base URL
    # is wrong, not the key — a cause with a fix, not an unexplained failure (exit 2).
    code, report = run_doctor_cli(
        clean_env,
        OPENAI_API_KEY=scenario_key("ok"),
        OPENAI_BASE_URL=fake.base_url.removesuffix("/v1"),
    )
    assert code == 1
    models = check(report, "models")
    assert models["status"] == "fail"
    assert "HTTP 404" in models["detail"] and "/v1" in models["detail"]
    assert [c["id"] for c in report["causes"]] == ["network_unreachable"]


def test_id_a_header_cannot_carry_is_a_clear_configuration_error(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("OPENAI_API_KEY", scenario_key("ok"))
    clean_env.setenv("OPENAI_ORG_ID", "org-\u00e9quipe")
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 2  # the checks could not run
    assert "OPENAI_ORG_ID:" in result.stderr and "character 5" in result.stderr
    assert "Traceback" not in result.output


OFFLINE_CAUSES = [
    (None, "key_missing"),
    ("sk-proj-" + "NotAKey0Fake_" * 4 + " " + "NotAKey0Fake_" * 8, "key_malformed"),
    ("sk-...", "key_malformed"),
    ("sk-admin-" + "NotAKey0Fake_" * 6, "key_wrong_type"),
    ("org-" + "NotAKey0Fake_" * 2, "key_wrong_type"),
]
OFFLINE_IDS = ["missing", "space-inside", "placeholder", "admin", "org-id"]


@pytest.mark.parametrize(("raw", "cause"), OFFLINE_CAUSES, ids=OFFLINE_IDS)
def test_offline_key_causes_live_against_the_fake(
    clean_env: pytest.MonkeyPatch, fake: RunningFake, raw: str | None, cause: str
) -> None:
    # Without --offline, against the fake: the same cause, the network checks run, and
    # a key that cannot work is never sent to OpenAI.
    variables = {"OPENAI_API_KEY": raw} if raw is not None else {}
    seen = len(fake.fake.requests)
    code, report = run_doctor_cli(clean_env, OPENAI_BASE_URL=fake.base_url, **variables)
    assert code == 1
    assert [c["id"] for c in report["causes"]] == [cause]
    assert check(report, "tcp")["status"] == "pass"
    for name in ("models", "realtime_model", "realtime"):
        assert check(report, name)["status"] == "skip"
    assert len(fake.fake.requests) == seen


@pytest.mark.parametrize(("raw", "cause"), OFFLINE_CAUSES, ids=OFFLINE_IDS)
def test_offline_causes(clean_env: pytest.MonkeyPatch, raw: str | None, cause: str) -> None:
    variables = {"OPENAI_API_KEY": raw} if raw is not None else {}
    code, report = run_doctor_cli(clean_env, "--offline", **variables)
    assert code == 1
    assert [c["id"] for c in report["causes"]] == [cause]
    assert check(report, "key")["status"] == "fail"
    # --offline: nothing touched the network.
    for name in ("dns", "tcp", "tls", "models", "realtime_model", "realtime"):
        assert check(report, name)["status"] == "skip"


def test_every_cause_id_is_covered() -> None:
    covered = {c for _, _, c, _ in SCENARIO_CAUSES} | {
        "key_missing",
        "key_malformed",
        "key_wrong_type",
        "network_unreachable",
        "openai_unavailable",
    }
    assert covered == set(CAUSES)


def test_fix_steps_follow_the_platform(clean_env: pytest.MonkeyPatch) -> None:
    _, railway = run_doctor_cli(clean_env, "--offline", RAILWAY_ENVIRONMENT="production")
    fix = " ".join(railway["causes"][0]["fix"])
    assert "Railway" in fix and "Variables" in fix and "redeploys" in fix


def test_conflicting_key_sources_are_reported(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# local\nOPENAI_API_KEY=" + scenario_key("ok", "old") + "\n")
    _, report = run_doctor_cli(clean_env, "--offline", OPENAI_API_KEY=scenario_key("ok", "new"))
    configuration = check(report, "configuration")
    assert configuration["status"] == "warn"
    assert "set in two places" in configuration["detail"]
    assert ".env line 2" in configuration["detail"]


def test_dotenv_not_utf8_is_named_and_the_key_checked(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = scenario_key("ok", "cp1252")
    (tmp_path / ".env").write_bytes(b"OPENAI_API_KEY=\x93" + key.encode() + b"\x94\n")
    code, report = run_doctor_cli(clean_env, "--offline")
    assert code == 1
    configuration = check(report, "configuration")
    assert configuration["status"] == "warn"
    assert "is not UTF-8 text (byte 0x93 on line 1)" in configuration["detail"]
    assert [c["id"] for c in report["causes"]] == ["key_malformed"]
    assert "Character 1 is U+FFFD" in check(report, "key")["detail"]
    assert key not in json.dumps(report)


def test_unreadable_key_file_is_named(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, report = run_doctor_cli(
        clean_env, "--offline", OPENAI_API_KEY_FILE=str(tmp_path / "no-such-secret")
    )
    assert code == 1
    configuration = check(report, "configuration")
    assert configuration["status"] == "fail"
    assert "no-such-secret cannot be read" in configuration["detail"]
    assert [c["id"] for c in report["causes"]] == ["key_missing"]
    assert "no-such-secret" in check(report, "key")["detail"]


def test_human_output_names_cause_and_fix(clean_env: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["doctor", "--offline"])
    assert result.exit_code == 1
    assert "No OpenAI key is configured" in result.stdout
    assert "[key_missing]" in result.stdout
    assert "How to fix it" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes


def _doctor_on_a_terminal(tmp_path: Path, **extra: str) -> str:
    """Run ``vivavoce doctor --offline`` with its stdout on a pseudo-terminal."""
    import pty

    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "VIVAVOCE_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "vivavoce.cli", "doctor", "--offline"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=subprocess.DEVNULL,
        )
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 1
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    coloured = _doctor_on_a_terminal(tmp_path)
    assert "[key_missing]" in coloured
    assert "\x1b[31m" in coloured or "\x1b[1m" in coloured  # red / bold causes
    plain = _doctor_on_a_terminal(tmp_path, NO_COLOR="1")
    assert "[key_missing]" in plain
    assert "\x1b[" not in plain


def test_real_subprocess_with_clean_environment(fake: RunningFake, tmp_path: Path) -> None:
    key = scenario_key("revoked")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "OPENAI_API_KEY": key,
        "OPENAI_BASE_URL": fake.base_url,
        "VIVAVOCE_DATA_DIR": str(tmp_path / "data"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "vivavoce.cli", "doctor", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [c["id"] for c in report["causes"]] == ["key_invalid"]
    assert key not in result.stdout + result.stderr
    assert key[8:] not in result.stdout + result.stderr


@pytest.mark.parametrize(("transport", "status"), [("auto", "warn"), ("webrtc", "fail")])
def test_a_refused_call_is_named_and_required_only_with_webrtc(
    clean_env: pytest.MonkeyPatch, fake: RunningFake, monkeypatch: pytest.MonkeyPatch,
    transport: str, status: str,
) -> None:
    from vivavoce.testing import fake_calls, fake_errors

    async def refuse(request: Any) -> Any:
        # The calls endpoint refuses the offer while the WebSocket takes the key.
        raise fake_errors.FakeOpenAIError(fake_errors.invalid_request(
            "Invalid SDP offer: refused by the test.", param="sdp"))

    monkeypatch.setattr(fake_calls, "_admit", refuse)
    code, report = run_doctor_cli(clean_env, OPENAI_API_KEY=scenario_key("ok"),
                                  OPENAI_BASE_URL=fake.base_url, VIVAVOCE_TRANSPORT=transport)
    webrtc = check(report, "webrtc")
    assert webrtc["status"] == status and "HTTP 400" in webrtc["detail"]
    assert (code == 0) is (transport == "auto")


def test_the_relay_setting_skips_the_webrtc_check(
    clean_env: pytest.MonkeyPatch, fake: RunningFake
) -> None:
    calls = len(fake.fake.calls)
    code, report = run_doctor_cli(clean_env, OPENAI_API_KEY=scenario_key("ok"),
                                  OPENAI_BASE_URL=fake.base_url, VIVAVOCE_TRANSPORT="relay")
    assert code == 0 and check(report, "webrtc")["status"] == "skip"
    assert len(fake.fake.calls) == calls
