"""Key rotation: re-read, doctor first, refuse on failure, new interviews get the new key.

Every reload here runs the real doctor against the fake OpenAI server over real sockets;
the key file (OPENAI_API_KEY_FILE, a mounted secret) is what rotates.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.database import ApiClient
from tests.fixtures.fake_openai import RunningFake
from vivavoce import metrics
from vivavoce.config import load_settings
from vivavoce.keys import fingerprint, mask_key
from vivavoce.reload import last_reload, reload_key, set_settings_loader
from vivavoce.testing.scenarios import scenario_key

OLD = scenario_key("ok", "old")
NEW = scenario_key("ok", "new")


class Rotation:
    """An app whose key lives in a file the test can rewrite."""

    def __init__(self, client: ApiClient, key_file: Path, env: dict[str, str]) -> None:
        self.client = client
        self.key_file = key_file
        self.env = env

    def write(self, key: str) -> None:
        self.key_file.write_text(key + "\n", encoding="utf-8")

    async def post(self) -> Any:
        return await self.client.post("/api/admin/reload", headers=self.client.admin_headers)


@pytest.fixture
async def rotation(
    make_app_client: Callable[..., Any], fake_openai: RunningFake, tmp_path: Path
) -> Rotation:
    key_file = tmp_path / "openai_key"
    key_file.write_text(OLD + "\n", encoding="utf-8")
    env = {
        "VIVAVOCE_DATA_DIR": str(tmp_path / "data"),
        "OPENAI_API_KEY_FILE": str(key_file),
        "OPENAI_BASE_URL": fake_openai.base_url,
        "VIVAVOCE_SIMULATOR": "0",
    }
    client = await make_app_client(**env)
    assert client.runtime.api_key == OLD
    set_settings_loader(client.runtime, lambda: load_settings(env, env_file=None))
    return Rotation(client, key_file, env)


def metric(outcome: str) -> float:
    return metrics.REGISTRY.get_sample_value("vivavoce_key_reloads_total", {"outcome": outcome}) or 0.0


async def test_reload_switches_new_interviews_to_the_new_key(rotation: Rotation) -> None:
    runtime = rotation.client.runtime
    live_interview_key = runtime.api_key  # what a running interview captured at its start
    applied_before = metric("applied")
    rotation.write(NEW)

    response = await rotation.post()

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["applied"] is True and body["changed"] is True and body["trigger"] == "api"
    assert body["key"]["fingerprint"] == fingerprint(NEW)
    assert body["key"]["masked"] == mask_key(NEW)
    assert body["previous_fingerprint"] == fingerprint(OLD)
    assert runtime.api_key == NEW
    assert runtime.settings.openai_api_key is not None
    assert runtime.settings.openai_api_key.get_secret_value() == NEW
    assert live_interview_key == OLD  # the live one keeps its key
    assert metric("applied") == applied_before + 1
    assert NEW not in response.text and OLD not in response.text

    state = (await rotation.client.get("/api/admin/reload", headers=rotation.client.admin_headers)).json()
    assert state["key"]["fingerprint"] == fingerprint(NEW)
    assert state["last_reload"]["applied"] is True


async def test_unchanged_key_reload_is_applied_but_not_changed(rotation: Rotation) -> None:
    body = (await rotation.post()).json()
    assert body["applied"] is True and body["changed"] is False
    assert rotation.client.runtime.api_key == OLD


@pytest.mark.parametrize(
    ("scenario", "cause"),
    [
        ("revoked", "key_invalid"),
        ("norealtime", "no_realtime_access"),
        ("noquota", "quota_exhausted"),
    ],
)
async def test_a_key_the_doctor_rejects_is_refused(
    rotation: Rotation, scenario: str, cause: str
) -> None:
    refused_before = metric("refused")
    bad = scenario_key(scenario, "reload")
    rotation.write(bad)

    response = await rotation.post()

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "reload_refused"
    assert "keeps using the key it had" in error["message"]
    assert cause in [c["id"] for c in error["details"]["causes"]]
    assert error["details"]["applied"] is False
    assert error["details"]["key"]["fingerprint"] == fingerprint(bad)
    assert rotation.client.runtime.api_key == OLD
    assert metric("refused") == refused_before + 1
    assert bad not in response.text


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        ("sk-test-ok-abc def0123456789abcdef", "key_malformed"),
        ("sk-admin-" + "ab12" * 15, "key_wrong_type"),
        ("   \n", "key_missing"),
    ],
)
async def test_offline_key_problems_are_refused_before_any_call(
    rotation: Rotation, content: str, cause: str
) -> None:
    rotation.key_file.write_text(content, encoding="utf-8")
    response = await rotation.post()
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [c["id"] for c in details["causes"]] == [cause]
    assert details["causes"][0]["fix"]  # steps for the platform
    assert rotation.client.runtime.api_key == OLD


async def test_invalid_settings_are_refused(rotation: Rotation) -> None:
    rotation.env["VIVAVOCE_MAX_INTERVIEW_SECONDS"] = "5"
    rotation.write(NEW)
    response = await rotation.post()
    assert response.status_code == 422
    assert "not valid any more" in response.json()["error"]["message"]
    assert "VIVAVOCE_MAX_INTERVIEW_SECONDS" in response.json()["error"]["message"]
    assert rotation.client.runtime.api_key == OLD


async def test_only_the_key_and_its_ids_move(rotation: Rotation) -> None:
    rotation.env["VIVAVOCE_REALTIME_MODEL"] = "gpt-realtime-mini"
    rotation.env["OPENAI_PROJECT_ID"] = "proj_rotated"
    rotation.write(NEW)
    assert (await rotation.post()).status_code == 200
    settings = rotation.client.runtime.settings
    assert settings.openai_project_id == "proj_rotated"
    assert settings.realtime_model == "gpt-realtime"  # needs a restart to change
    assert settings.source_of("openai_project_id").name == "OPENAI_PROJECT_ID"


async def test_reload_needs_the_admin_token(rotation: Rotation) -> None:
    rotation.write(NEW)
    response = await rotation.client.post("/api/admin/reload")
    assert response.status_code == 401
    assert (await rotation.client.get("/api/admin/reload")).status_code == 401
    assert rotation.client.runtime.api_key == OLD


async def test_simulator_instances_refuse_reload(make_app_client: Callable[..., Any]) -> None:
    client = await make_app_client(VIVAVOCE_SIMULATOR="1")
    response = await client.post("/api/admin/reload", headers=client.admin_headers)
    assert response.status_code == 422
    assert "simulator" in response.json()["error"]["message"]


async def test_concurrent_reloads_run_one_after_the_other(rotation: Rotation) -> None:
    rotation.write(NEW)
    runtime = rotation.client.runtime
    first, second = await asyncio.gather(reload_key(runtime), reload_key(runtime))
    assert first.applied and second.applied
    # Serialised: exactly one of them saw the old key in use.
    assert sorted([first.changed, second.changed]) == [False, True]


async def test_a_broken_doctor_is_a_refusal_not_a_crash(rotation: Rotation) -> None:
    async def broken(settings: Any, key: str) -> dict[str, Any]:
        raise RuntimeError("doctor exploded")

    rotation.write(NEW)
    result = await reload_key(rotation.client.runtime, doctor=broken)
    assert not result.applied
    assert "doctor exploded" in result.message
    assert rotation.client.runtime.api_key == OLD


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
async def test_sighup_reloads_the_key(rotation: Rotation) -> None:
    runtime = rotation.client.runtime
    # The handler must be there, or SIGHUP's default action would end the test process.
    assert runtime.sighup_installed is True
    rotation.write(NEW)
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(1000):  # a bound on waiting, not a speed assertion
        result = last_reload(runtime)
        if result is not None:
            break
        await asyncio.sleep(0.02)
    assert result is not None and result.trigger == "sighup"
    assert result.applied, result.message
    assert runtime.api_key == NEW


async def test_live_interview_keeps_its_key_and_the_next_one_uses_the_new_key(
    make_app_server: Callable[..., Any], tmp_path: Path
) -> None:
    """Over real sockets: an interview runs through a reload; the next one gets the new key."""
    import httpx

    from tests.fixtures.database import ADMIN_TOKEN
    from tests.relay.voice_client import voice_client

    app = make_app_server(api_key=OLD)
    fake = app.fake.fake  # type: ignore[union-attr]
    env = {
        "VIVAVOCE_DATA_DIR": str(tmp_path / "data"),
        "OPENAI_API_KEY": NEW,
        "OPENAI_BASE_URL": app.fake.base_url,  # type: ignore[union-attr]
        "VIVAVOCE_SIMULATOR": "0",
    }
    set_settings_loader(app.runtime, lambda: load_settings(env, env_file=None))
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    async with voice_client(app.voice_url()) as first:
        await first.start()
        async with httpx.AsyncClient(base_url=app.server.http_url, timeout=30) as http:
            reloaded = await http.post("/api/admin/reload", headers=admin)
        assert reloaded.status_code == 200, reloaded.text
        # The interview that was live goes on and ends normally after the reload.
        await first.send_json({"type": "end_interview"})
        ended = await first.until("interview_ended")
        assert ended["reason"] == "candidate_ended"
        await first.until_closed()

    async with voice_client(app.voice_url()) as second:
        await second.start()
        await second.send_json({"type": "end_interview"})
        await second.until("interview_ended")

    fingerprints = [s.key_fingerprint for s in fake.sessions]
    assert fingerprints[0] == fingerprint(OLD)  # the first interview
    assert fingerprints[-1] == fingerprint(NEW)  # the second interview
    assert fingerprint(OLD) not in fingerprints[1:]  # nothing used the old key after
