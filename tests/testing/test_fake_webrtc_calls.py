"""``POST /v1/realtime/calls`` and ``/hangup`` on the fake: keys, bodies, errors, the ek_ path.

The media-free mode answers these calls (no peer needed to judge a request), except
where the test says otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from aiortc.sdp import SessionDescription

from tests.fixtures.fake_openai import RunningFake
from tests.testing.realtime_helpers import client_for, collect_until, collect_until_closed
from tests.testing.webrtc_client import WebRtcClient
from vivavoce.testing.scenarios import scenario_key


@pytest.fixture
async def offer(fake_openai: RunningFake) -> AsyncIterator[str]:
    fake_openai.fake.config.media_free_calls = True
    async with WebRtcClient() as client:
        yield await client.offer()


@pytest.fixture
async def http(fake_openai: RunningFake) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake_openai.base_url, timeout=10) as client:
        yield client


def _multipart(offer: str | None, session: dict[str, Any] | str | None) -> dict[str, Any]:
    import json

    files: dict[str, Any] = {}
    if offer is not None:
        files["sdp"] = (None, offer.encode(), "application/sdp")
    if session is not None:
        body = session if isinstance(session, str) else json.dumps(session)
        files["session"] = (None, body.encode(), "application/json")
    return {"files": files}


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert response.headers["x-request-id"].startswith("req_")
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("scenario", "status", "code"),
    [
        ("invalid", 401, "invalid_api_key"),
        ("revoked", 401, "invalid_api_key"),
        ("deactivated", 401, "account_deactivated"),
        ("restricted", 401, None),
        ("norealtime", 403, "model_not_available"),
        ("noquota", 429, "insufficient_quota"),
        ("region", 403, "unsupported_country_region_territory"),
        ("outage", 503, "server_error"),
    ],
)
async def test_a_refused_key_is_named_with_openais_body(
    fake_openai: RunningFake, http: httpx.AsyncClient, offer: str, scenario: str, status: int, code: str | None
) -> None:
    key = scenario_key(scenario)
    response = await http.post(
        "/realtime/calls", headers={"Authorization": f"Bearer {key}"},
        **_multipart(offer, {"type": "realtime", "model": "gpt-realtime"}),
    )
    assert response.status_code == status
    error = _error(response)
    assert error["code"] == code
    assert key not in response.text
    if code == "invalid_api_key":
        assert error["message"].startswith("Incorrect API key provided: sk-test-")
    assert fake_openai.fake.calls == []


async def test_the_sdk_raises_authentication_error_for_a_bad_key(fake_openai: RunningFake, offer: str) -> None:
    client = client_for(fake_openai.base_url, scenario_key("invalid"))
    try:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.realtime.calls.create(sdp=offer, session={"type": "realtime"})
        assert caught.value.code == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            await client.realtime.calls.hangup("rtc_0123")
    finally:
        await client.close()


async def test_no_key_is_401_with_a_null_code(http: httpx.AsyncClient, offer: str) -> None:
    response = await http.post("/realtime/calls", content=offer, headers={"Content-Type": "application/sdp"})
    assert response.status_code == 401
    assert _error(response)["message"].startswith("You didn't provide an API key.")


@pytest.mark.parametrize(
    ("session", "status", "code", "param"),
    [
        ({"type": "realtime", "temperature": 0.8}, 400, "unknown_parameter", "session.temperature"),
        ({"modalities": ["audio"]}, 400, "missing_required_parameter", "session.type"),
        ({"type": "realtime", "model": "gpt-4o-realtime-preview"}, 404, "model_not_found", "model"),
        ("{not json", 400, "invalid_json", "session"),
        ('["a list"]', 400, "invalid_type", "session"),
    ],
)
async def test_a_bad_session_is_refused_naming_the_param(
    fake_openai: RunningFake, http: httpx.AsyncClient, offer: str,
    session: dict[str, Any] | str, status: int, code: str, param: str,
) -> None:
    response = await http.post(
        "/realtime/calls", headers={"Authorization": f"Bearer {scenario_key('ok')}"}, **_multipart(offer, session)
    )
    assert response.status_code == status
    error = _error(response)
    assert (error["code"], error["param"]) == (code, param)
    assert fake_openai.fake.calls == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (None, "missing_required_parameter"),
        ("v=0\r\nthis is not sdp\r\n", "invalid_value"),
        ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", "invalid_value"),
    ],
)
async def test_a_missing_or_bad_offer_is_refused(
    fake_openai: RunningFake, http: httpx.AsyncClient, body: str | None, code: str
) -> None:
    response = await http.post(
        "/realtime/calls", headers={"Authorization": f"Bearer {scenario_key('ok')}"},
        **_multipart(body, {"type": "realtime"}),
    )
    assert response.status_code == 400
    error = _error(response)
    assert (error["code"], error["param"]) == (code, "sdp")
    assert fake_openai.fake.calls == []


async def test_an_unsupported_content_type_is_refused(http: httpx.AsyncClient, offer: str) -> None:
    response = await http.post(
        "/realtime/calls", json={"sdp": offer}, headers={"Authorization": f"Bearer {scenario_key('ok')}"}
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "unsupported_content_type"


async def test_browser_posts_application_sdp_with_an_ephemeral_secret(
    fake_openai: RunningFake, http: httpx.AsyncClient, offer: str
) -> None:
    server = client_for(fake_openai.base_url, scenario_key("ok"))
    try:
        secret = await server.realtime.client_secrets.create(
            session={"type": "realtime", "model": "gpt-realtime-mini", "instructions": "Ask one question."}
        )
    finally:
        await server.close()
    response = await http.post(
        "/realtime/calls", content=offer,
        headers={"Authorization": f"Bearer {secret.value}", "Content-Type": "application/sdp"},
    )
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/sdp")
    record = fake_openai.fake.last_call
    assert response.headers["location"] == f"/v1/realtime/calls/{record.call_id}"
    assert record.model == "gpt-realtime-mini"
    assert record.session_config["instructions"] == "Ask one question."
    assert secret.value not in (record.key_masked or "")
    # An ephemeral secret nobody minted is refused like a wrong key.
    refused = await http.post(
        "/realtime/calls", content=offer,
        headers={"Authorization": "Bearer ek_0123456789abcdef0123456789abcdef", "Content-Type": "application/sdp"},
    )
    assert refused.status_code == 401 and _error(refused)["code"] == "invalid_api_key"


async def test_sdk_create_without_session_sends_application_sdp(fake_openai: RunningFake, offer: str) -> None:
    client = client_for(fake_openai.base_url, scenario_key("ok"))
    try:
        answer = await client.realtime.calls.create(sdp=offer)
    finally:
        await client.close()
    assert answer.text.startswith("v=0")
    assert fake_openai.fake.last_call.model == "gpt-realtime"


async def test_hangup_of_an_unknown_or_ended_call_is_404(
    fake_openai: RunningFake, http: httpx.AsyncClient, offer: str
) -> None:
    headers = {"Authorization": f"Bearer {scenario_key('ok')}"}
    unknown = await http.post("/realtime/calls/rtc_nosuchcall/hangup", headers=headers)
    assert unknown.status_code == 404
    error = _error(unknown)
    assert error == {
        "message": "Call with id 'rtc_nosuchcall' not found.", "type": "invalid_request_error",
        "param": None, "code": "call_id_not_found",
    }
    created = await http.post("/realtime/calls", content=offer, headers={**headers, "Content-Type": "application/sdp"})
    call_id = created.headers["location"].rsplit("/", 1)[-1]
    assert (await http.post(f"/realtime/calls/{call_id}/hangup", headers=headers)).status_code == 200
    again = await http.post(f"/realtime/calls/{call_id}/hangup", headers=headers)
    assert again.status_code == 404 and _error(again)["code"] == "call_id_not_found"


async def test_the_sideband_judges_its_key_like_any_realtime_socket(
    fake_openai: RunningFake, http: httpx.AsyncClient, offer: str
) -> None:
    created = await http.post(
        "/realtime/calls", content=offer,
        headers={"Authorization": f"Bearer {scenario_key('ok')}", "Content-Type": "application/sdp"},
    )
    call_id = created.headers["location"].rsplit("/", 1)[-1]
    bad = client_for(fake_openai.base_url, scenario_key("invalid"))
    try:
        async with bad.realtime.connect(call_id=call_id) as sideband:
            got = await collect_until_closed(sideband)
    finally:
        await bad.close()
    assert got.first("error").error.code == "invalid_api_key"
    assert (got.close_code, got.close_reason) == (3000, "invalid_request_error.invalid_api_key")
    # The call itself is untouched: a good key joins it.
    good = client_for(fake_openai.base_url, scenario_key("ok"))
    try:
        async with good.realtime.connect(call_id=call_id) as sideband:
            await collect_until(sideband, "session.created")
    finally:
        await good.close()
    assert call_id in fake_openai.fake.live_calls


def test_the_media_free_answer_is_an_sdp_answer_to_the_offer(offer: str) -> None:
    from vivavoce.testing.webrtc_sdp import media_free_answer, parse_offer

    parsed = parse_offer(offer)
    answer = SessionDescription.parse(media_free_answer(parsed))
    assert [m.kind for m in answer.media] == [m.kind for m in parsed.media]
    assert [m.rtp.muxId for m in answer.media] == [m.mid for m in parsed.media]
    for media in answer.media:
        assert media.ice is not None and media.ice.usernameFragment and media.dtls is not None
        assert media.dtls.fingerprints and media.ice_candidates == []
