"""REST on the fake, through the real ``openai`` SDK and real sockets."""

from __future__ import annotations

import re

import httpx
import openai
import pytest

from tests.fixtures.fake_openai import RunningFake
from tests.testing.conftest import SdkFactory
from vivavoce.testing.fake_models import REALTIME_MODELS
from vivavoce.testing.scenarios import scenario_key

_REQUEST_ID = re.compile(r"^req_[0-9a-f]{32}$")


def _message(err: openai.APIStatusError) -> str:
    """The error body's message (the SDK prefixes ``.message`` with the status)."""
    assert isinstance(err.body, dict)
    return str(err.body["message"])


async def test_models_list_with_a_working_key(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    client = sdk(scenario_key("ok"))
    page = await client.models.with_raw_response.list()
    assert _REQUEST_ID.match(page.headers["x-request-id"])
    ids = [m.id for m in page.parse().data]
    for model in ("gpt-realtime", "gpt-realtime-2", "gpt-realtime-2.1", "gpt-realtime-mini",
                  "gpt-realtime-2.1-mini", "gpt-4o-mini-transcribe", "gpt-5-mini"):
        assert model in ids
    record = fake_openai.fake.requests[-1]
    assert (record.method, record.path, record.status) == ("GET", "/v1/models", 200)
    assert record.request_id == page.headers["x-request-id"]


async def test_retrieve_model_and_unknown_model(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    client = sdk(scenario_key("ok"))
    assert (await client.models.retrieve("gpt-realtime-2.1")).id == "gpt-realtime-2.1"
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("gpt-4o-realtime-preview")
    assert caught.value.code == "model_not_found"
    assert "The model `gpt-4o-realtime-preview` does not exist" in _message(caught.value)


@pytest.mark.parametrize(
    ("scenario", "exc_type", "status", "err_type", "code", "message_start"),
    [
        ("invalid", openai.AuthenticationError, 401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-test-*"),
        ("revoked", openai.AuthenticationError, 401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-test-*"),
        ("deactivated", openai.AuthenticationError, 401, "invalid_request_error", "account_deactivated", "This key is associated with a deactivated account."),
        ("restricted", openai.AuthenticationError, 401, "invalid_request_error", None, "You have insufficient permissions for this operation. Missing scopes: model.request."),
        ("ratelimited", openai.RateLimitError, 429, "tokens", "rate_limit_exceeded", "Rate limit reached for"),
        ("region", openai.PermissionDeniedError, 403, "request_forbidden", "unsupported_country_region_territory", "Country, region, or territory not supported"),
        ("outage", openai.InternalServerError, 503, "server_error", "server_error", ""),
    ],
)
async def test_models_errors_have_openai_bodies(
    fake_openai: RunningFake, sdk: SdkFactory, scenario: str, exc_type: type[openai.APIStatusError], status: int,
    err_type: str, code: str | None, message_start: str,
) -> None:
    key = scenario_key(scenario)
    client = sdk(key)
    with pytest.raises(exc_type) as caught:
        await client.models.list()
    err = caught.value
    assert err.status_code == status
    assert err.code == code
    assert err.type == err_type
    assert _message(err).startswith(message_start)
    assert _REQUEST_ID.match(err.response.headers["x-request-id"])
    assert err.body == {"message": _message(err), "type": err_type, "param": None, "code": code}
    # Only OpenAI's mask of the key ever leaves the fake.
    assert key not in err.response.text
    assert key not in repr(fake_openai.fake.requests)


async def test_invalid_key_message_masks_like_openai(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    key = scenario_key("revoked")
    with pytest.raises(openai.AuthenticationError) as caught:
        await sdk(key).models.list()
    masked = key[:8] + "*" * (len(key) - 12) + key[-4:]
    assert _message(caught.value).startswith(f"Incorrect API key provided: {masked}. You can find your API key at ")


async def test_noquota_can_list_models(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    client = sdk(scenario_key("noquota"))
    assert any(m.id == "gpt-realtime" for m in (await client.models.list()).data)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.realtime.client_secrets.create(session={"type": "realtime", "model": "gpt-realtime"})
    assert (caught.value.code, caught.value.type) == ("insufficient_quota", "insufficient_quota")


async def test_ratelimited_sends_retry_after_and_sdk_retries(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    client = sdk(scenario_key("ratelimited"), max_retries=2)
    with pytest.raises(openai.RateLimitError) as caught:
        await client.models.list()
    assert caught.value.response.headers["retry-after"] == "0.05"
    assert [r.status for r in fake_openai.fake.requests] == [429, 429, 429]


async def test_nomodel_lists_no_realtime_model(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    client = sdk(scenario_key("nomodel"))
    ids = {m.id for m in (await client.models.list()).data}
    assert ids and not ids & set(REALTIME_MODELS)
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("gpt-realtime")
    assert caught.value.code == "model_not_found"
    assert (await client.models.retrieve("gpt-5-mini")).id == "gpt-5-mini"


@pytest.mark.parametrize(
    ("scenario", "kwargs", "code"),
    [
        ("orgmismatch", {"organization": "org-other"}, "mismatched_organization"),
        ("projmismatch", {"project": "proj_other"}, "mismatched_project"),
    ],
)
async def test_mismatch_only_when_header_sent(fake_openai: RunningFake, sdk: SdkFactory, scenario: str, kwargs: dict[str, str], code: str) -> None:
    plain = sdk(scenario_key(scenario))
    assert (await plain.models.list()).data
    with pytest.raises(openai.AuthenticationError) as caught:
        await sdk(scenario_key(scenario), **kwargs).models.list()
    assert caught.value.code == code
    recorded = fake_openai.fake.requests[-1]
    assert (recorded.organization, recorded.project) == (kwargs.get("organization"), kwargs.get("project"))


async def test_no_key_and_admin_key(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{fake_openai.base_url}/models")
    assert response.status_code == 401
    assert response.json()["error"]["code"] is None
    assert response.json()["error"]["message"].startswith("You didn't provide an API key.")
    assert _REQUEST_ID.match(response.headers["x-request-id"])
    with pytest.raises(openai.AuthenticationError) as caught:
        await sdk("sk-admin-test-0000000000000000").models.list()
    assert _message(caught.value).startswith("You have insufficient permissions for this operation.")


async def test_slow_delays_and_force_scenario(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    fake_openai.fake.config.slow_delay_s = 0.5
    client = sdk(scenario_key("slow"), timeout=0.1)
    with pytest.raises(openai.APITimeoutError):
        await client.models.list()
    fake_openai.fake.config.force_scenario = "deactivated"
    with pytest.raises(openai.AuthenticationError) as caught:
        await sdk(scenario_key("ok")).models.list()
    assert caught.value.code == "account_deactivated"


async def test_unknown_route_gets_openai_shaped_404(fake_openai: RunningFake) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{fake_openai.base_url}/nothing-here",
                                  headers={"Authorization": f"Bearer {scenario_key('ok')}"})
    assert response.status_code == 404
    assert response.json() == {"error": {"message": "Invalid URL (GET /v1/nothing-here)",
                                         "type": "invalid_request_error", "param": None, "code": None}}


async def test_client_secret_is_minted_and_validated(fake_openai: RunningFake, sdk: SdkFactory) -> None:
    client = sdk(scenario_key("ok"))
    secret = await client.realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 60},
        session={"type": "realtime", "model": "gpt-realtime-2.1", "instructions": "Be brief."},
    )
    assert secret.value.startswith("ek_")
    assert secret.session is not None
    assert secret.session.instructions == "Be brief."  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError) as caught:
        await client.realtime.client_secrets.create(expires_after={"anchor": "created_at", "seconds": 5})
    assert caught.value.param == "expires_after.seconds"
    with pytest.raises(openai.BadRequestError) as caught:
        await client.realtime.client_secrets.create(session={"type": "realtime", "temperature": 0.7})  # type: ignore[typeddict-unknown-key]
    assert caught.value.code == "unknown_parameter"
    # An ephemeral secret opens Realtime sessions but is not a REST key.
    with pytest.raises(openai.AuthenticationError):
        await sdk(secret.value).models.list()
