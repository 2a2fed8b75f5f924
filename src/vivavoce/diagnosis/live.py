"""The doctor's checks that talk to OpenAI (or the fake) through the official SDK.

1. ``models``: ``GET /v1/models`` with the key — every REST error in OPENAI-FACTS.md is
   classified into a cause.
2. ``realtime_model``: the configured model is in that list.
3. ``realtime``: a Realtime handshake — connect, ``session.update``, wait for
   ``session.updated``, close. It is the only way to see "fine for REST but no
   Realtime access" (403 at the upgrade) and "no credit" (listing models needs none; the
   socket gets an ``insufficient_quota`` error event and closes 3000, possibly before
   our ``session.update`` is even sent).
4. ``webrtc``: ``POST /v1/realtime/calls`` with a small SDP offer (audio only, no
   candidates: it can never connect) and the hang-up at once — the path the room takes
   with ``VIVAVOCE_TRANSPORT=auto|webrtc`` (issue 17). Whether the browser's UDP gets
   through is the browser's network, not the server's: the interview falls back to the
   relay then, so the doctor cannot and need not check it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import openai
from openai import AsyncOpenAI
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from vivavoce.diagnosis.catalogue import classify_openai_error
from vivavoce.diagnosis.report import Check, CheckStatus

__all__ = [
    "AFTER_ERROR_WAIT", "DOCTOR_OFFER", "HANDSHAKE_TIMEOUT", "check_models", "check_realtime",
    "check_realtime_model", "check_webrtc",
]

HANDSHAKE_TIMEOUT = 10.0
AFTER_ERROR_WAIT = 2.0


def _ms(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)


def _request_id(exc: openai.APIStatusError) -> str:
    request_id = exc.response.headers.get("x-request-id")
    return f" (request id {request_id})" if request_id else ""


def _error_fields(body: object) -> tuple[str | None, str | None, str | None]:
    """(type, code, message) from an OpenAI error body (``{"error": {…}}`` or the inner dict)."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            def text(name: str) -> str | None:
                value = inner.get(name)
                return str(value) if value is not None else None

            return text("type"), text("code"), text("message")
    return None, None, None


async def check_models(client: AsyncOpenAI) -> tuple[Check, list[str] | None]:
    """List models; return the check and the model ids (None when listing failed)."""
    start = time.perf_counter()
    try:
        ids = [model.id async for model in client.models.list()]
    except openai.APIStatusError as exc:
        error_type, code, message = _error_fields(exc.body)
        cause = classify_openai_error(
            status=exc.status_code, error_type=error_type, code=code, message=message
        )
        detail = f"HTTP {exc.status_code} {code or error_type or ''}".rstrip()
        if message:
            detail += f": {message}"
        if cause is None and exc.status_code in (404, 405):
            # Listing models is never a 404 on the API itself: the base URL points at
            # something else (most often it lacks the /v1 path). Not the key.
            cause = "network_unreachable"
            detail += " — OPENAI_BASE_URL does not point at the API (it normally ends in /v1)"
        return Check("models", "fail", detail + _request_id(exc), _ms(start), cause), None
    except openai.APITimeoutError:
        # The network checks got through, so a silent server is OpenAI's trouble.
        return (
            Check(
                "models",
                "fail",
                "no answer from GET /v1/models in time (the connection itself works)",
                _ms(start),
                "openai_unavailable",
            ),
            None,
        )
    except openai.APIConnectionError as exc:
        return (
            Check(
                "models",
                "fail",
                f"cannot connect for GET /v1/models: {exc.__cause__ or exc}",
                _ms(start),
                "network_unreachable",
            ),
            None,
        )
    return Check("models", "pass", f"{len(ids)} models listed", _ms(start)), ids


def check_realtime_model(model: str, ids: list[str] | None) -> Check:
    """The configured realtime model appears among the listed ones."""
    if ids is None:
        return Check("realtime_model", "skip", "the model list could not be read")
    if model in ids:
        return Check("realtime_model", "pass", f"{model} is available to this key")
    realtime = sorted(i for i in ids if "realtime" in i)
    also = f"; available: {', '.join(realtime[:6])}" if realtime else "; no realtime model is listed for this key"
    return Check(
        "realtime_model",
        "fail",
        f"{model} (VIVAVOCE_REALTIME_MODEL) is not listed{also}",
        cause="model_unavailable",
    )


def _upgrade_rejected(exc: InvalidStatus, start: float) -> Check:
    status = exc.response.status_code
    error_type = code = message = None
    try:
        body: Any = json.loads(exc.response.body or b"")
    except (ValueError, UnicodeDecodeError):
        body = None
    error_type, code, message = _error_fields(body)
    cause = classify_openai_error(
        status=status, error_type=error_type, code=code, message=message, phase="realtime_upgrade"
    )
    detail = f"WebSocket upgrade rejected with HTTP {status}"
    if code or message:
        detail += f": {code or ''} {message or ''}".rstrip()
    return Check("realtime", "fail", detail, _ms(start), cause)


async def check_realtime(client: AsyncOpenAI, model: str) -> Check:
    """Connect, ``session.update``, wait for ``session.updated`` (10 s in all), close."""
    start = time.perf_counter()
    error: tuple[str | None, str | None, str | None] | None = None
    close: tuple[int | None, str | None] | None = None
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            async with client.realtime.connect(model=model) as connection:
                # The server may close before we can send: read what it said below.
                with contextlib.suppress(ConnectionClosed, openai.OpenAIError):
                    await connection.session.update(
                        session={"type": "realtime", "instructions": "vivavoce doctor check"}
                    )
                error_deadline: float | None = None
                while True:
                    wait = (
                        None
                        if error_deadline is None
                        else max(0.0, error_deadline - time.perf_counter())
                    )
                    try:
                        event = await asyncio.wait_for(connection.recv(), wait)
                    except TimeoutError:
                        # An error event and no close: the session stays open (a
                        # recoverable error); what it said is all there is to read.
                        break
                    except ConnectionClosed as exc:
                        received = exc.rcvd
                        close = (
                            received.code if received else None,
                            received.reason if received else None,
                        )
                        break
                    if event.type == "session.updated":
                        return Check(
                            "realtime",
                            "pass",
                            f"session with {model} opened and configured",
                            _ms(start),
                        )
                    if event.type == "error":
                        details = getattr(event, "error", None)
                        error = (
                            getattr(details, "type", None),
                            getattr(details, "code", None),
                            getattr(details, "message", None),
                        )
                        # Most errors leave the session open; a fatal one is followed by
                        # a close (3000), which we still read to get its reason — but
                        # only briefly, rather than the whole handshake timeout.
                        if error_deadline is None:
                            error_deadline = time.perf_counter() + AFTER_ERROR_WAIT
    except InvalidStatus as exc:
        return _upgrade_rejected(exc, start)
    except TimeoutError:
        what = "error event but no close" if error else "no session.updated"
        if error is None:
            return Check(
                "realtime",
                "fail",
                f"{what} within {HANDSHAKE_TIMEOUT:.0f} s (the connection itself works)",
                _ms(start),
                "openai_unavailable",
            )
    except (OSError, InvalidHandshake) as exc:
        return Check(
            "realtime",
            "fail",
            f"cannot open the Realtime WebSocket: {exc}",
            _ms(start),
            "network_unreachable",
        )
    except ConnectionClosed as exc:
        received = exc.rcvd
        close = (received.code if received else None, received.reason if received else None)
    except openai.OpenAIError as exc:
        return Check("realtime", "fail", f"the SDK could not connect: {exc}", _ms(start))

    error_type, code, message = error or (None, None, None)
    close_code, close_reason = close or (None, None)
    cause = classify_openai_error(
        error_type=error_type,
        code=code,
        message=message,
        close_code=close_code,
        close_reason=close_reason,
        phase="realtime",
    )
    parts = []
    if error is not None:
        parts.append(f"error event {error_type}.{code}: {message}")
    if close is not None:
        parts.append(f"closed {close_code} {close_reason or ''}".rstrip())
    detail = "; ".join(parts) or "closed before the session was configured"
    return Check("realtime", "fail", detail, _ms(start), cause)


# An offer OpenAI accepts (one Opus audio section, ICE credentials, a DTLS fingerprint)
# that can never connect: no candidates. The call is hung up as soon as it is answered.
DOCTOR_OFFER = "\r\n".join([
    "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:vvdc", "a=ice-pwd:vivavocedoctorcheckonly0000",
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32), "a=setup:actpass", "a=mid:0",
    "a=sendrecv", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2",
    "a=fmtp:111 minptime=10;useinbandfec=1", "",
])


async def check_webrtc(client: AsyncOpenAI, model: str, *, required: bool) -> Check:
    """Place a call (``calls.create``) and hang it up. ``required``: VIVAVOCE_TRANSPORT
    is ``webrtc``; otherwise a refusal is a warning (interviews fall back to the relay)."""
    start = time.perf_counter()
    failed: CheckStatus = "fail" if required else "warn"
    try:
        raw = await client.realtime.calls.with_raw_response.create(
            sdp=DOCTOR_OFFER, session={"type": "realtime", "model": model},
            timeout=HANDSHAKE_TIMEOUT)
    except openai.APIStatusError as exc:
        error_type, code, message = _error_fields(exc.body)
        cause = classify_openai_error(status=exc.status_code, error_type=error_type, code=code,
                                      message=message, phase="realtime_upgrade")
        detail = f"POST /v1/realtime/calls: HTTP {exc.status_code} {code or error_type or ''}"
        if message:
            detail = f"{detail.rstrip()}: {message}"
        return Check("webrtc", failed, detail.rstrip() + _request_id(exc), _ms(start), cause)
    except openai.APIConnectionError as exc:
        return Check("webrtc", failed, f"POST /v1/realtime/calls did not answer: {exc}",
                     _ms(start), "network_unreachable")
    call_id = (raw.headers.get("location") or "").rstrip("/").rsplit("/", 1)[-1]
    if call_id:
        with contextlib.suppress(openai.OpenAIError):
            await client.realtime.calls.hangup(call_id, timeout=HANDSHAKE_TIMEOUT)
    if raw.status_code != 201 or not call_id:
        return Check("webrtc", failed, f"POST /v1/realtime/calls answered {raw.status_code} "
                     "without a call (no Location)", _ms(start))
    return Check("webrtc", "pass", "a WebRTC call was placed and hung up (media straight to "
                 "OpenAI; the relay takes over where the browser's UDP is blocked)", _ms(start))
