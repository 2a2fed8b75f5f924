"""REST side of the fake OpenAI server: models, client secrets, and the access guard.

Every handler starts with :func:`guard`, which records the request, plays the ``slow``
scenario's delay and raises :class:`FakeOpenAIError` with the body OpenAI would send.
Other routers mounted on the fake (``fake_responses``) use the same guard.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request

from vivavoce.testing import fake_errors as errors
from vivavoce.testing.fake_access import (
    Endpoint,
    IssuedSecret,
    bearer_key,
    resolve_scenario,
    rest_access_error,
)
from vivavoce.testing.fake_errors import FakeOpenAIError
from vivavoce.testing.fake_models import MODELS, is_realtime_model, model_object
from vivavoce.testing.fake_state import FakeState
from vivavoce.testing.realtime_session import (
    SessionConfigError,
    apply_session_update,
    default_session,
)
from vivavoce.testing.scenarios import Scenario

__all__ = ["fake_of", "guard", "router"]

router = APIRouter()


def fake_of(request: Request) -> FakeState:
    """The fake serving ``request``."""
    fake: FakeState = request.app.state.fake
    return fake


async def guard(request: Request, endpoint: Endpoint, *, model: str = "gpt-realtime") -> str:
    """Apply the key's scenario to a REST request; return the key when it may proceed.

    Raises FakeOpenAIError with OpenAI's error for this key, endpoint and headers.
    """
    fake = fake_of(request)
    key = bearer_key(request.headers)
    if key is not None:
        scenario = resolve_scenario(key, fake.config, fake.client_secrets)
        if scenario is Scenario.SLOW:
            await asyncio.sleep(fake.config.slow_delay_s)
    error = rest_access_error(
        key, request.headers, endpoint, fake.config, fake.client_secrets, model=model
    )
    if error is not None:
        raise FakeOpenAIError(error)
    assert key is not None  # rest_access_error answers a missing key
    return key


def _visible_models(request: Request, key: str) -> list[str]:
    fake = fake_of(request)
    scenario = resolve_scenario(key, fake.config, fake.client_secrets)
    if scenario is Scenario.NOMODEL:
        return [m for m in MODELS if not is_realtime_model(m)]
    return list(MODELS)


@router.get("/models")
async def list_models(request: Request) -> dict[str, Any]:
    """``GET /v1/models``: every model this key can see."""
    key = await guard(request, Endpoint.MODELS)
    return {"object": "list", "data": [model_object(m) for m in _visible_models(request, key)]}


@router.get("/models/{model_id}")
async def retrieve_model(model_id: str, request: Request) -> dict[str, Any]:
    """``GET /v1/models/{id}``: 404 ``model_not_found`` when this key cannot see it."""
    key = await guard(request, Endpoint.MODELS, model=model_id)
    if model_id not in _visible_models(request, key):
        raise FakeOpenAIError(errors.model_not_found(model_id))
    return model_object(model_id)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise FakeOpenAIError(
            errors.invalid_request(
                "We could not parse the JSON body of your request. (HINT: This likely means "
                "you aren't using your HTTP library correctly.)",
                code=None,
            )
        ) from None
    if not isinstance(body, dict):
        raise FakeOpenAIError(errors.invalid_request("The body must be a JSON object.", code="invalid_type"))
    return body


@router.post("/realtime/client_secrets")
async def create_client_secret(request: Request) -> dict[str, Any]:
    """``POST /v1/realtime/client_secrets``: mint an ``ek_…`` secret for a browser."""
    key = await guard(request, Endpoint.GENERATE)
    fake = fake_of(request)
    scenario = resolve_scenario(key, fake.config, fake.client_secrets)
    assert isinstance(scenario, Scenario)  # guard rejected unknown ek_ secrets
    if scenario is Scenario.NOREALTIME:
        raise FakeOpenAIError(errors.no_realtime_access("gpt-realtime"))
    body = await _json_body(request)
    seconds = 600
    expires_after = body.get("expires_after")
    if expires_after is not None:
        if not isinstance(expires_after, dict) or expires_after.get("anchor", "created_at") != "created_at":
            raise FakeOpenAIError(
                errors.invalid_request("Invalid 'expires_after.anchor': expected 'created_at'.", param="expires_after.anchor")
            )
        seconds = expires_after.get("seconds", 600)
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 10 <= seconds <= 7200:
            raise FakeOpenAIError(
                errors.invalid_request(
                    f"Invalid 'expires_after.seconds': expected an integer between 10 and 7200, got {seconds!r}.",
                    param="expires_after.seconds",
                )
            )
    session_update = body.get("session", {"type": "realtime"})
    model = session_update.get("model", "gpt-realtime") if isinstance(session_update, dict) else "gpt-realtime"
    try:
        session = apply_session_update(default_session(str(model)), session_update)
    except SessionConfigError as exc:
        raise FakeOpenAIError(exc.error) from None
    now = int(time.time())
    value = "ek_" + secrets.token_hex(16)
    fake.client_secrets[value] = IssuedSecret(scenario, now + seconds, session)
    return {"value": value, "expires_at": now + seconds, "session": session}
