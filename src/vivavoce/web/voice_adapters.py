"""What ``/voice`` adapts: the browser's WebSocket as the relay's ``BrowserSocket``, the
origin check, and stored rows as the interview core's plain values (web/voice.py's
docstring says who may open ``/voice``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from vivavoce.config import Settings
from vivavoce.interview import resume_policy
from vivavoce.interview.actions import TurnRecord
from vivavoce.interview.candidate import InterviewSettings
from vivavoce.realtime.relay import BrowserGone
from vivavoce.store.models import Interview, Turn
from vivavoce.web.ws_protocol import SEND_BYTES_NOW

__all__ = ["StarletteBrowser", "origin_allowed", "stored_interview", "turn_record"]


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}".rstrip("/")


def _loopback_name(hostname: str | None) -> bool:
    name = (hostname or "").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """Whether a browser on ``origin`` may open ``/voice`` (see the module docstring)."""
    if origin is None:
        return True
    wanted = _origin_of(origin)
    allowed = {_origin_of(o) for o in settings.allowed_origins if "*" not in o}
    if settings.public_url:
        allowed.add(_origin_of(settings.public_url))
    if wanted in allowed:
        return True
    # The page's own host. Only host and port are compared (behind a proxy not trusted
    # for X-Forwarded-Proto the scheme seen here may differ), but in production a plain
    # http page, which anyone on its path can rewrite, never gets a microphone stream.
    own = bool(host) and urlsplit(wanted).netloc == (host or "").lower()
    if settings.is_production:
        return own and wanted.startswith("https://")
    if settings.allowed_origins:
        return own
    # Development without a list: pages on this machine (a front end on another local
    # port, say). A WebSocket has no CORS, so any website the developer visits could
    # otherwise start interviews on their key; and listening on loopback, a Host that is
    # not a loopback name is a DNS-rebinding page, so "own host" counts only elsewhere.
    local = _loopback_name(urlsplit(wanted).hostname)
    return local or (own and not settings.on_loopback)


class StarletteBrowser:
    """Starlette's WebSocket as the relay's BrowserSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket
        # The ASGI server's own ``send`` (Starlette keeps it as ``_send``): AI audio, 50
        # frames a second per interview, goes straight to it instead of through
        # ``WebSocket.send_bytes``'s state checks (the socket is accepted by then, and
        # its close still goes through Starlette, which keeps its state right).
        # That ``send`` is Starlette's exception-handler wrapper (``sender``) around the
        # server's; it adds ~0.1 µs a frame, not worth reaching past it.
        self._send = websocket._send
        # The server's ``receive`` as Starlette holds it (no wrapper): each candidate
        # frame skips ``WebSocket.receive``'s state checks and its coroutine, 0.70 →
        # 0.29 µs a frame (docs/performance.md, "The hot path (session 6)"). Starlette is
        # told of the disconnect as its own ``receive`` would, so its close stays right.
        self._receive = websocket._receive
        # The server's synchronous write of a binary message (web/ws_protocol.py, offered
        # in the scope's extensions): the relay's outbox writes AI audio with it when
        # nothing is queued (no ASGI message, no coroutine, no writer task woken).
        offer = websocket.scope.get("extensions", {}).get(SEND_BYTES_NOW)
        now = offer.get("send_bytes_now") if isinstance(offer, dict) else None
        self.send_bytes_now: Callable[[bytes], bool] | None = now if callable(now) else None

    async def receive(self) -> str | bytes:
        message = await self._receive()
        if message["type"] != "websocket.receive":
            if message["type"] == "websocket.disconnect":
                self._ws.client_state = WebSocketState.DISCONNECTED
            raise BrowserGone()
        data = message.get("bytes")
        if data is not None:
            return bytes(data)
        return str(message.get("text") or "")

    async def send_text(self, text: str) -> None:
        try:
            await self._ws.send_text(text)
        except Exception as exc:  # disconnect errors differ by server; all mean gone
            raise BrowserGone() from exc

    async def send_bytes(self, data: bytes) -> None:
        try:
            await self._send({"type": "websocket.send", "bytes": data})
        except Exception as exc:
            raise BrowserGone() from exc

    async def close(self, code: int, reason: str) -> None:
        await self._ws.close(code, reason)


def stored_interview(
    interview: Interview, lease: resume_policy.LeaseView = resume_policy.FREE
) -> resume_policy.StoredInterview:
    """The row as the resume rules read it (``lease``: its lease, web/voice_leases.py)."""
    settings = InterviewSettings.model_validate(interview.settings)
    return resume_policy.StoredInterview(
        id=interview.id, status=interview.status,
        started_at=interview.started_at.timestamp() if interview.started_at else None,
        limit_s=float(settings.max_duration_s),
        paused_at=settings.paused_at, paused_s=settings.paused_s,
        # Recorded by record_failed_attempt for a retryable cause (not ended then).
        last_failure=(interview.end_reason, interview.error_code)
        if interview.error_code is not None and interview.end_reason is not None else None,
        lease=lease)


def turn_record(turn: Turn) -> TurnRecord:
    return TurnRecord(
        sequence=turn.sequence,
        speaker="candidate" if turn.speaker == "candidate" else "interviewer",
        text=turn.text,
        started_at=turn.started_at.timestamp() if turn.started_at else None,
        ended_at=turn.ended_at.timestamp() if turn.ended_at else None,
        audio_ms=turn.audio_ms,
        item_id=turn.item_id,
        state="complete",
    )
