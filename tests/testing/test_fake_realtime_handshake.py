"""Realtime handshake on the fake through the SDK's realtime client and real sockets."""

from __future__ import annotations

import contextlib
import json

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.fixtures.fake_openai import RunningFake
from tests.testing.conftest import SdkFactory
from tests.testing.realtime_helpers import collect_until, collect_until_closed
from vivavoce.testing.scenarios import scenario_key


async def test_ok_session_created_then_updated_with_merged_session(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    client = sdk(scenario_key("ok"))
    async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        created = await conn.recv()
        assert created.type == "session.created"
        assert created.session.model == "gpt-realtime-2.1"  # type: ignore[union-attr]
        await conn.session.update(session={
            "type": "realtime",
            "instructions": "You are an interviewer.",
            "audio": {
                "input": {"transcription": {"model": "gpt-4o-mini-transcribe"},
                          "turn_detection": {"type": "server_vad", "silence_duration_ms": 700}},
                "output": {"voice": "marin"},
            },
        })
        got = await collect_until(conn, "session.updated")
        session = got.first("session.updated").session
        assert session.instructions == "You are an interviewer."
        assert session.audio.input.transcription.model == "gpt-4o-mini-transcribe"
        td = session.audio.input.turn_detection
        assert (td.type, td.silence_duration_ms, td.threshold) == ("server_vad", 700, 0.5)
        assert session.audio.output.voice == "marin"
        assert session.audio.input.format.rate == 24000
    record = fake_openai.fake.last_session
    assert record.accepted and record.model == "gpt-realtime-2.1"
    assert record.events_received == ["session.update"]
    assert record.session_config["audio"]["output"]["voice"] == "marin"
    assert record.close_code == 1000 and record.closed_by == "client"
    assert record.key_fingerprint and record.key_masked and "*" in record.key_masked


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        ({"type": "realtime", "temperature": 0.8}, "unknown_parameter", "session.temperature"),
        ({"modalities": ["audio", "text"], "voice": "alloy"}, "missing_required_parameter", "session.type"),
        ({"type": "realtime", "input_audio_format": "pcm16"}, "unknown_parameter", "session.input_audio_format"),
        ({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "loud"}}}}, "invalid_value", "session.audio.input.turn_detection.type"),
        ({"type": "realtime", "audio": {"output": {"voice": "robot"}}}, "invalid_value", "session.audio.output.voice"),
        ({"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}, "invalid_value", "session.audio.input.format.rate"),
    ],
)
async def test_invalid_session_update_gets_error_and_session_stays_open(
    fake_openai: RunningFake, sdk: SdkFactory, session: dict[str, object], code: str, param: str
) -> None:
    client = sdk(scenario_key("ok"))
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await collect_until(conn, "session.created")
        await conn.send_raw(json.dumps({"type": "session.update", "event_id": "evt_client_1", "session": session}))
        error = (await collect_until(conn, "error")).first("error").error
        assert (error.type, error.code, error.param) == ("invalid_request_error", code, param)
        assert error.event_id == "evt_client_1"
        await conn.session.update(session={"type": "realtime", "instructions": "still here"})
        got = await collect_until(conn, "session.updated")
        assert got.first("session.updated").session.instructions == "still here"


@pytest.mark.parametrize(
    ("scenario", "err_type", "code", "reason"),
    [
        ("invalid", "invalid_request_error", "invalid_api_key", "invalid_request_error.invalid_api_key"),
        ("revoked", "invalid_request_error", "invalid_api_key", "invalid_request_error.invalid_api_key"),
        ("deactivated", "invalid_request_error", "account_deactivated", "invalid_request_error.account_deactivated"),
        ("restricted", "invalid_request_error", None, "invalid_request_error.null"),
        ("noquota", "insufficient_quota", "insufficient_quota", "insufficient_quota.insufficient_quota"),
        ("region", "request_forbidden", "unsupported_country_region_territory", "request_forbidden.unsupported_country_region_territory"),
        ("nomodel", "invalid_request_error", "model_not_found", "invalid_request_error.model_not_found"),
    ],
)
async def test_in_band_error_then_close_3000(
    fake_openai: RunningFake, sdk: SdkFactory, scenario: str, err_type: str, code: str | None, reason: str
) -> None:
    key = scenario_key(scenario)
    async with sdk(key).realtime.connect(model="gpt-realtime") as conn:
        # The server may close before the client's first event goes out, as the real API does.
        with contextlib.suppress(ConnectionClosed):
            await conn.session.update(session={"type": "realtime"})
        got = await collect_until_closed(conn)
    assert got.types == ["error"]
    error = got.events[0].error
    assert (error.type, error.code) == (err_type, code)
    assert (got.close_code, got.close_reason) == (3000, reason)
    assert key not in error.message
    record = fake_openai.fake.last_session
    assert (record.close_code, record.close_reason, record.closed_by) == (3000, reason, "server")


@pytest.mark.parametrize(
    ("headers", "scenario", "code"),
    [
        ({"OpenAI-Organization": "org-other"}, "orgmismatch", "mismatched_organization"),
        ({"OpenAI-Project": "proj_other"}, "projmismatch", "mismatched_project"),
        ({"OpenAI-Beta": "realtime=v1"}, "ok", "beta_api_shape_disabled"),
    ],
)
async def test_header_errors_in_band(fake_openai: RunningFake, sdk: SdkFactory, headers: dict[str, str], scenario: str, code: str) -> None:
    async with sdk(scenario_key(scenario)).realtime.connect(model="gpt-realtime", extra_headers=headers) as conn:
        got = await collect_until_closed(conn)
    assert got.first("error").error.code == code
    assert (got.close_code, got.close_reason) == (3000, f"invalid_request_error.{code}")


async def test_no_key_is_an_in_band_error(fake_openai: RunningFake) -> None:
    import websockets

    async with websockets.connect(f"{fake_openai.ws_url}?model=gpt-realtime") as ws:
        event = json.loads(await ws.recv())
        await ws.wait_closed()
    assert event["error"]["code"] is None
    assert event["error"]["message"].startswith("You didn't provide an API key.")
    assert ws.close_code == 3000


async def test_accepted_upgrade_carries_a_request_id(fake_openai: RunningFake) -> None:
    import websockets

    headers = {"Authorization": f"Bearer {scenario_key('ok')}"}
    async with websockets.connect(f"{fake_openai.ws_url}?model=gpt-realtime", additional_headers=headers) as ws:
        assert ws.response is not None
        assert ws.response.headers["x-request-id"].startswith("req_")
        assert json.loads(await ws.recv())["type"] == "session.created"


async def test_norealtime_rejected_at_upgrade_with_json_403(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    client = sdk(scenario_key("norealtime"))
    assert (await client.models.list()).data  # REST works
    with pytest.raises(InvalidStatus) as caught:
        async with client.realtime.connect(model="gpt-realtime"):
            pass
    response = caught.value.response
    assert response.status_code == 403
    assert response.headers["x-request-id"].startswith("req_")
    body = json.loads(response.body)
    assert body["error"]["type"] == "invalid_request_error"
    assert fake_openai.fake.last_session.rejected_status == 403


async def test_unknown_call_id_is_404_at_upgrade(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    with pytest.raises(InvalidStatus) as caught:
        async with sdk(scenario_key("ok")).realtime.connect(call_id="rtc_nope"):
            pass
    assert caught.value.response.status_code == 404
    assert json.loads(caught.value.response.body)["error"]["code"] == "call_id_not_found"


async def test_outage_closes_1011(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    async with sdk(scenario_key("outage")).realtime.connect(model="gpt-realtime") as conn:
        got = await collect_until_closed(conn)
    assert got.types == []
    assert got.close_code == 1011


async def test_unknown_model_is_model_not_found(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    async with sdk(scenario_key("ok")).realtime.connect(model="gpt-4o-realtime-preview") as conn:
        got = await collect_until_closed(conn)
    assert got.first("error").error.code == "model_not_found"
    assert got.close_code == 3000


async def test_ephemeral_secret_opens_a_session_with_its_config(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    secret = await sdk(scenario_key("ok")).realtime.client_secrets.create(
        session={"type": "realtime", "model": "gpt-realtime", "instructions": "From the secret."}
    )
    async with sdk(secret.value).realtime.connect(model="gpt-realtime") as conn:
        created = (await collect_until(conn, "session.created")).first("session.created")
    assert created.session.instructions == "From the secret."
    async with sdk("ek_" + "0" * 32).realtime.connect(model="gpt-realtime") as conn:
        got = await collect_until_closed(conn)
    assert got.first("error").error.code == "invalid_api_key"
