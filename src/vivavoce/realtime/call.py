"""A WebRTC call placed for the browser (issue 17): a thin adapter over the official SDK.

The room sends its SDP offer over ``/voice``; the server places the call with its own
key, ``client.realtime.calls.create(sdp=…, session=…)`` (``POST /v1/realtime/calls``,
multipart), with the interview's session config — the same the relay sends in
``session.update``. OpenAI answers 201 with the SDP answer and ``Location:
/v1/realtime/calls/{call_id}``; the call id never goes to the browser. The server then
joins the call's sideband (:func:`~vivavoce.realtime.upstream.open_upstream` with
``call_id``) and ends the call with ``calls.hangup``.

A refused call becomes the same :class:`~vivavoce.interview.errors.UpstreamProblem` a
refused Realtime upgrade does (HTTP status, error type/code/message, request id), so
the relay's describer and the doctor's catalogue name it alike (401 bad key, 403 no
Realtime access, 429 no credit, …). The key never appears in what is raised or logged.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Protocol

import openai
from openai import AsyncOpenAI

from vivavoce.interview.errors import UpstreamProblem
from vivavoce.realtime.upstream import CONNECT_TIMEOUT_S, UpstreamConnectError
from vivavoce.redact import redact

__all__ = ["HANGUP_TIMEOUT_S", "CallHooks", "hang_up", "place_call", "problem_from_api_error"]

log = logging.getLogger("vivavoce.relay")

HANGUP_TIMEOUT_S = 5.0


class CallHooks(Protocol):
    """What the relay needs from the service for a WebRTC call (part of ``RelayHooks``;
    ``relay`` is the ``VoiceRelay``)."""

    async def create_call(self, relay: Any, offer_sdp: str,
                          session: dict[str, Any]) -> tuple[str, str]:
        """Place the browser's call: ``(call_id, answer_sdp)``. Raises
        UpstreamConnectError."""
        ...

    async def hang_up(self, relay: Any, call_id: str) -> None:
        """End the call (never raises)."""
        ...


def problem_from_api_error(exc: openai.APIError) -> UpstreamProblem:
    """An SDK error of ``calls.create`` as the problem the describer reads."""
    if isinstance(exc, openai.APITimeoutError):
        return UpstreamProblem(phase="connect", code="upstream_timeout",
                               message="no answer to the call in time")
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamProblem(phase="connect", code="network_unreachable",
                               message=redact(f"{type(exc).__name__}: {exc.__cause__ or exc}"))
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body)
    error = error if isinstance(error, dict) else {}

    def text(key: str) -> str | None:
        value = error.get(key)
        return redact(value) if isinstance(value, str) and value else None

    status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
    request_id = (exc.response.headers.get("x-request-id")
                  if isinstance(exc, openai.APIStatusError) else None)
    return UpstreamProblem(phase="connect", status=status, error_type=text("type"),
                           code=text("code"), message=text("message"), request_id=request_id)


async def place_call(client: AsyncOpenAI, offer_sdp: str, session: dict[str, object], *,
                     timeout_s: float = CONNECT_TIMEOUT_S) -> tuple[str, str]:
    """Place the call: ``(call_id, answer_sdp)``. Raises UpstreamConnectError."""
    try:
        raw = await client.realtime.calls.with_raw_response.create(
            sdp=offer_sdp, session=session, timeout=timeout_s)  # type: ignore[arg-type]
    except openai.APIError as exc:
        raise UpstreamConnectError(problem_from_api_error(exc)) from None
    call_id = (raw.headers.get("location") or "").rstrip("/").rsplit("/", 1)[-1]
    answer = raw.http_response.text
    if not call_id or not answer.strip():
        raise UpstreamConnectError(UpstreamProblem(
            phase="connect", status=raw.status_code, code="unexpected_response",
            message="the call was answered without a Location or an SDP answer"))
    return call_id, answer


async def hang_up(client: AsyncOpenAI, call_id: str) -> None:
    """End the call (never raises: a call that already ended is fine)."""
    try:
        await client.realtime.calls.hangup(call_id, timeout=HANGUP_TIMEOUT_S)
    except openai.NotFoundError:
        pass  # already over (OpenAI ended it, or a hang-up before this one)
    except Exception as exc:
        with contextlib.suppress(Exception):
            log.warning("could not hang up WebRTC call %s: %s", call_id, redact(repr(exc)))
