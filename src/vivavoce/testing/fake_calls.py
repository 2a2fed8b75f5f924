"""``POST /v1/realtime/calls`` and ``…/{call_id}/hangup`` on the fake (WebRTC calls).

As on the real API (shared OPENAI-FACTS.md "Ephemeral secrets, WebRTC, sideband"):

- a server posts multipart form fields ``sdp`` (the offer) and ``session`` (JSON, as in
  ``session.update``) with its standard key; a browser posts the offer itself as
  ``Content-Type: application/sdp`` with an ``ek_…`` secret (whose session applies). The
  SDK sends ``application/sdp`` too when no session is given, so both forms take both
  kinds of key;
- the answer is **201** with the SDP answer (``application/sdp``) and ``Location:
  /v1/realtime/calls/rtc_…``;
- keys are judged as a Realtime connection is (:func:`fake_access.realtime_access`): a
  bad key 401 with the usual body, no Realtime access 403, no credit 429, an unknown
  model 404, an outage 503 — the same errors the WebSocket gets, as REST responses.

The call itself is :class:`~vivavoce.testing.webrtc_call.Call`; its record is appended
to ``FakeOpenAI.calls`` and the live call kept in ``FakeOpenAI.live_calls``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from vivavoce.testing import fake_errors as errors
from vivavoce.testing.fake_access import bearer_key, realtime_access, resolve_scenario
from vivavoce.testing.fake_errors import FakeOpenAIError
from vivavoce.testing.fake_models import is_realtime_model
from vivavoce.testing.fake_rest import fake_of
from vivavoce.testing.realtime_session import (
    SessionConfigError,
    apply_session_update,
    default_session,
)
from vivavoce.testing.scenarios import Scenario
from vivavoce.testing.webrtc_call import Call, call_not_found
from vivavoce.testing.webrtc_sdp import OfferError, media_free_answer, parse_offer

__all__ = ["router"]

router = APIRouter()

_DEFAULT_MODEL = "gpt-realtime"


async def _admit(request: Request, model: str = _DEFAULT_MODEL) -> tuple[str, Scenario | None]:
    """The key, if it may place or end calls; else raise OpenAI's REST error for it."""
    fake = fake_of(request)
    key = bearer_key(request.headers)
    if key is not None and resolve_scenario(key, fake.config, fake.client_secrets) is Scenario.SLOW:
        await asyncio.sleep(fake.config.slow_delay_s)
    access = realtime_access(
        key, request.headers, model, fake.config, fake.client_secrets, is_realtime_model(model)
    )
    found = access.reject or access.in_band
    if found is None and access.outage:
        found = errors.server_error(fake.config.retry_after)
    if found is not None:
        raise FakeOpenAIError(found)
    assert key is not None  # realtime_access answers a missing key
    return key, access.scenario


async def _offer_and_session(request: Request) -> tuple[str, Any]:
    """The offer and the (unparsed) session from either body form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/sdp":
        return (await request.body()).decode("utf-8", "replace"), None
    if content_type != "multipart/form-data":
        raise FakeOpenAIError(errors.invalid_request(
            f"Unsupported content type: '{content_type or 'none'}'. Send the SDP offer as "
            "'application/sdp', or as multipart/form-data fields 'sdp' and 'session'.",
            code="unsupported_content_type",
        ))
    form = await request.form()
    fields: dict[str, str] = {}
    for name in ("sdp", "session"):
        value = form.get(name)
        if isinstance(value, UploadFile):
            fields[name] = (await value.read()).decode("utf-8", "replace")
        elif value is not None:
            fields[name] = value
    if "session" not in fields:
        return fields.get("sdp", ""), None
    try:
        session = json.loads(fields["session"])
    except ValueError:
        raise FakeOpenAIError(errors.invalid_request(
            "Invalid 'session': expected a JSON object.", code="invalid_json", param="session"
        )) from None
    return fields.get("sdp", ""), session


@router.post("/realtime/calls")
async def create_call(request: Request) -> Response:
    """``POST /v1/realtime/calls``: answer an SDP offer and start a call."""
    key, scenario = await _admit(request)
    fake = fake_of(request)
    offer, session_update = await _offer_and_session(request)
    if not offer.strip():
        raise FakeOpenAIError(errors.invalid_request(
            "Missing required parameter: 'sdp'.", code="missing_required_parameter", param="sdp"
        ))
    base: dict[str, Any] = {}
    if key.startswith("ek_"):
        base = dict(fake.client_secrets[key].session)
    if session_update is not None and not isinstance(session_update, dict):
        raise FakeOpenAIError(errors.invalid_request(
            "Invalid 'session': expected a JSON object.", code="invalid_type", param="session"
        ))
    model = str((session_update or {}).get("model") or base.get("model") or _DEFAULT_MODEL)
    if scenario is Scenario.NOMODEL or not is_realtime_model(model):
        raise FakeOpenAIError(errors.model_not_found(model))
    try:
        session = base or default_session(model)
        if session_update is not None:
            session = apply_session_update(session, session_update)
    except SessionConfigError as exc:
        raise FakeOpenAIError(exc.error) from None
    try:
        parsed = parse_offer(offer)
    except OfferError as exc:
        raise FakeOpenAIError(errors.invalid_request(f"Invalid SDP offer: {exc}.", param="sdp")) from None
    call_id = "rtc_" + secrets.token_hex(16)
    call = Call.open(
        fake.config, call_id=call_id, key=key, model=model, session=session,
        rate_limited=scenario is Scenario.RATELIMITED, offer_sdp=offer,
    )
    fake.calls.append(call.record)
    fake.live_calls[call_id] = call

    def forget() -> None:
        fake.live_calls.pop(call_id, None)

    call.on_end = forget
    try:
        if call.media:
            # Imported here: aiortc and PyAV take seconds to load, and the media-free
            # mode (and most uses of the fake) never need them.
            from vivavoce.testing.webrtc_media import answer_with_media

            answer = await answer_with_media(call, offer)
        else:
            answer = media_free_answer(parsed)
    except Exception as exc:
        await call.end("offer_failed")
        raise FakeOpenAIError(errors.invalid_request(
            f"Invalid SDP offer: {type(exc).__name__}: {exc}.", param="sdp"
        )) from None
    call.record.answer_sdp = answer
    return Response(
        content=answer, status_code=201, media_type="application/sdp",
        headers={"Location": f"/v1/realtime/calls/{call_id}"},
    )


@router.post("/realtime/calls/{call_id}/hangup")
async def hangup_call(call_id: str, request: Request) -> Response:
    """``POST /v1/realtime/calls/{call_id}/hangup``: end a live call."""
    await _admit(request)
    call = fake_of(request).live_calls.get(call_id)
    if call is None:
        raise FakeOpenAIError(call_not_found(call_id))
    await call.end("hangup")
    return Response(status_code=200)
