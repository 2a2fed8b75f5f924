"""The connection to the OpenAI Realtime API: a thin adapter over the official SDK.

``client.realtime.connect(model=…)`` from the ``openai`` SDK opens the GA WebSocket (no
``OpenAI-Beta`` header; the base URL comes from the client, so the fake and the real API
are one code path). This module adds what the relay needs around it:

* a 10 s connect timeout, and the upgrade's failure as an
  :class:`~vivavoce.interview.errors.UpstreamProblem` (HTTP 403 there means the key has
  no Realtime access; the body's error is read when there is one);
* events as plain dicts (see ``interview/session.py`` for why not SDK models), the audio
  deltas through a fast path that skips the full JSON parse (``realtime/audio_delta.py``);
  the relay's are read off the socket beside websockets, handed over from the
  connection's read callback (the hot path; see ``run`` and ``realtime/upstream_wire.py``);
* audio sent as ``input_audio_buffer.append`` text built around base64 that was encoded
  once (the SDK's ``send`` would re-validate a dict per frame), written straight to the
  websockets connection the SDK opened and holds (the hot path; see ``append_audio``);
* the close code and reason when the server ends the session (3000 carries
  ``<type>.<code>``).

The SDK's automatic reconnection is left off: a fresh socket would be a fresh session
without the interview's configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

# Imported by the SDK on the first connection (with its websocket helper come websockets'
# sync client and, on anyio's first call, anyio's asyncio backend); here, so that
# start-up loads them and the first interviews neither wait for the imports nor grow the
# process by them (docs/performance.md, "Memory at 200 (session 7)").
import anyio._backends._asyncio  # noqa: F401
import openai.lib._websocket  # noqa: F401
import websockets.asyncio.client  # noqa: F401
from openai import AsyncOpenAI
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.protocol import State

from vivavoce.interview.errors import UpstreamProblem
from vivavoce.realtime.audio_delta import parse_audio_delta
from vivavoce.realtime.upstream_wire import FrameReader, client_text_frame

__all__ = [
    "CONNECT_TIMEOUT_S",
    "KEEPALIVE_S",
    "Upstream",
    "UpstreamConnectError",
    "open_upstream",
]

CONNECT_TIMEOUT_S = 10.0
# We ping OpenAI (and expect the pong) this often: a path that silently died (NAT
# timeout, a proxy dropping idle sockets) then ends the session within ~2 × this instead
# of leaving a candidate talking into nothing. OpenAI pings too; websockets answers.
KEEPALIVE_S = 20.0

_WS_OPTIONS: dict[str, Any] = {
    # Base64 audio barely compresses; deflate would only cost CPU on both ends.
    "compression": None,
    "max_size": 16 * 1024 * 1024,
    # A bounded receive queue: when we fall behind, TCP pushes back on OpenAI.
    "max_queue": 64,
    # Closing must not hang on a peer that stopped answering (browser gone → upstream
    # closed within a second).
    "close_timeout": 1.0,
}


# ``input_audio_buffer.append`` around its base64 (which has nothing JSON escapes).
_APPEND_HEAD = '{"type":"input_audio_buffer.append","audio":"'
_APPEND_TAIL = '"}'


class UpstreamConnectError(Exception):
    """The Realtime connection could not be opened; ``problem`` says how it failed."""

    def __init__(self, problem: UpstreamProblem) -> None:
        super().__init__(problem.code or f"HTTP {problem.status}")
        self.problem = problem


def _problem_from_status(exc: InvalidStatus) -> UpstreamProblem:
    response = exc.response
    error: dict[str, Any] = {}
    try:
        body = json.loads(response.body or b"")
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
    except ValueError:
        pass

    def text(key: str) -> str | None:
        value = error.get(key)
        return value if isinstance(value, str) and value else None

    return UpstreamProblem(
        phase="connect",
        status=response.status_code,
        error_type=text("type"),
        code=text("code"),
        message=text("message"),
        request_id=response.headers.get("x-request-id"),
    )


async def open_upstream(
    client: AsyncOpenAI,
    model: str,
    *,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    keepalive_s: float = KEEPALIVE_S,
    call_id: str | None = None,
) -> Upstream:
    """Open a Realtime session on ``model``, pinging it every ``keepalive_s`` seconds;
    with ``call_id``, join that WebRTC call's sideband instead (the same socket and
    events, one session shared with the browser's media: realtime/call.py).

    Raises :class:`UpstreamConnectError` when the upgrade is refused (HTTP status), the
    server cannot be reached, or nothing answers within ``connect_timeout_s`` seconds.
    """
    options = {**_WS_OPTIONS, "ping_interval": keepalive_s, "ping_timeout": keepalive_s}
    manager = (client.realtime.connect(call_id=call_id, websocket_connection_options=options)  # type: ignore[arg-type]
               if call_id else
               client.realtime.connect(model=model, websocket_connection_options=options))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(connect_timeout_s):
            connection = await manager.enter()
    except InvalidStatus as exc:
        raise UpstreamConnectError(_problem_from_status(exc)) from None
    except TimeoutError:
        raise UpstreamConnectError(
            UpstreamProblem(phase="connect", code="upstream_timeout",
                            message=f"no answer within {connect_timeout_s:.0f} s")
        ) from None
    except (OSError, InvalidHandshake) as exc:
        raise UpstreamConnectError(
            UpstreamProblem(phase="connect", code="network_unreachable",
                            message=f"{type(exc).__name__}: {exc}")
        ) from None
    return Upstream(connection, request_id=_request_id(connection))


def _request_id(connection: AsyncRealtimeConnection) -> str | None:
    # OpenAI's x-request-id of the upgrade names the session in its logs and in support
    # requests. The SDK keeps the websockets connection (and its handshake response) in
    # a private attribute, hence the defensive reads.
    response = getattr(getattr(connection, "_connection", None), "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("x-request-id") if headers is not None else None
    return value if isinstance(value, str) else None


class Upstream:
    """One open Realtime session."""

    def __init__(
        self, connection: AsyncRealtimeConnection, *, request_id: str | None = None
    ) -> None:
        self._connection = connection
        # The websockets connection the SDK opened, authenticated and owns. Only the
        # audio appends are written to it directly (``append_audio``).
        self._ws = connection._connection
        self.request_id = request_id
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._closed = False

    async def send_text(self, text: str) -> None:
        """Send one client event already serialised as JSON."""
        await self._connection.send_raw(text)

    async def append_audio(self, audio_b64: str) -> None:
        """Send candidate audio. Base64 has no characters JSON must escape, so the event
        is assembled as text instead of serialising a dict per frame.

        The hot path (50 a second per interview) goes to the SDK's websockets connection
        itself: the SDK's ``send_raw`` adds, per frame, an anyio task lookup and its
        reconnection send queue (about 7 % of the relay's CPU at 200 interviews,
        docs/performance.md). That queue only holds messages while the SDK reconnects,
        which is off here (module docstring), so it is always empty and order with
        ``send_text`` is kept.

        When the connection is open and can take the frame at once, the frame is built
        here (``realtime/upstream_wire.py``: websockets' ``Frame.serialize`` and its
        ``os.urandom`` call per mask cost ~1.5 µs more) and written to the transport, as
        ``Connection.send`` does inside its ``send_context`` (an async generator context
        manager per call: ~2.5 µs of the 8 µs a frame cost, docs/performance.md, "The hot
        path (session 6)"). Websockets' protocol keeps no state about a whole data frame
        sent, so it is none the wiser. Anything else — closing, a full write buffer to
        wait on, a fragmented message in progress — goes through ``Connection.send``,
        which waits, or raises as it always did."""
        if not self.append_audio_now(audio_b64):
            await self._ws.send((_APPEND_HEAD + audio_b64 + _APPEND_TAIL).encode(), text=True)

    def append_audio_now(self, audio_b64: str) -> bool:
        """:meth:`append_audio`'s hot path, synchronous: True when the frame was written,
        False when it must go through ``Connection.send`` (see there). A failed write
        aborts the connection and raises (the reader then reports the close). The
        relay's outbox calls it directly when nothing is queued before the frame
        (realtime/outbox.py)."""
        ws = self._ws
        protocol = ws.protocol
        if (protocol.state is not State.OPEN or ws.fragmented_send_waiter is not None
                or ws.paused or protocol.extensions or protocol.expect_continuation_frame
                or ws.transport.is_closing()):
            return False
        try:
            ws.transport.write(client_text_frame(
                (_APPEND_HEAD + audio_b64 + _APPEND_TAIL).encode()))
        except Exception:
            # What send_context does with a failed write: the connection is done.
            ws.transport.abort()
            raise
        return True

    async def run(self, on_event: Callable[[dict[str, Any]], None]) -> None:
        """Hand every server event to ``on_event``, in order, until the socket closes
        (then ``close_code``/``close_reason`` are set); raise what ``on_event`` raised. A
        message that is not a JSON object is skipped. ``on_event`` must not block: it is
        called from the connection's read callback.

        The relay's hot path (``VoiceRelay._read_upstream``): a
        :class:`~vivavoce.realtime.upstream_wire.FrameReader` in front of the websockets
        connection the SDK opened and holds hands each whole message over as it is read,
        skipping websockets' frame parser, its message queue and a task switch per frame
        (~6 µs a frame, docs/performance.md, "The upstream socket (session 7)"). What it
        does not take (a fragmented message, an odd frame, anything once the connection
        is closing) websockets reads as before, and it comes here through ``recv``, which
        also reports the close, exactly as :meth:`events` does. Messages websockets had
        queued before the reader was put in place come first: ``recv`` returns them
        without suspending, so no read callback runs in between."""
        def deliver(raw: bytes) -> None:
            event = self._parse(raw)
            if event is not None:
                on_event(event)

        reader = FrameReader.install(self._ws, deliver)
        recv = self._ws.recv
        try:
            while True:
                try:
                    raw = await recv(decode=False)  # as in events(), which says why
                except ConnectionClosed as exc:
                    self._record_close(exc)
                    return
                if reader is not None and reader.failure is not None:
                    # on_event raised from the read callback; the frame came here after
                    # it (upstream_wire.FrameReader): raised where it used to be.
                    raise reader.failure
                event = self._parse(raw)
                if event is not None:
                    on_event(event)
                del raw, event  # not held while the next frame is awaited (events())
        finally:
            if reader is not None:
                # Nothing more reaches on_event after this (and the relay is let go).
                reader.deliver = _ignore
                reader.stop()
                vars(self._ws).pop("data_received", None)

    @staticmethod
    def _parse(raw: bytes) -> dict[str, Any] | None:
        # The audio deltas (most of the traffic) skip the full parse when they come in
        # the API's shape (realtime/audio_delta.py); everything else, and any odd delta,
        # is parsed in full.
        event = parse_audio_delta(raw)
        if event is None:
            try:
                event = json.loads(raw)
            except (ValueError, RecursionError):
                return None
        return event if isinstance(event, dict) else None

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Server events until the socket closes (then ``close_code``/``close_reason``
        are set). A message that is not a JSON object is skipped."""
        recv = self._ws.recv
        while True:
            try:
                # Raw frames read from the websockets connection the SDK opened and
                # holds (as ``append_audio`` writes to it): the SDK's ``recv_bytes`` is
                # this same call plus a debug log line and its reconnection bookkeeping,
                # off here (module docstring). The SDK still owns and closes the socket.
                raw = await recv(decode=False)
            except ConnectionClosed as exc:
                self._record_close(exc)
                return
            event = self._parse(raw)
            if event is not None:
                yield event
            # Not held while the next frame is awaited: the raw frame and its parsed
            # delta are ~5 KB per live interview (docs/performance.md, memory, session 6).
            del raw, event

    def _record_close(self, exc: ConnectionClosed) -> None:
        if exc.rcvd is not None:
            self.close_code = exc.rcvd.code
            self.close_reason = exc.rcvd.reason
        else:
            self.close_code = 1006  # closed without a close frame
            self.close_reason = ""

    async def close(self) -> None:
        """Close the socket (idempotent; never raises)."""
        if self._closed:
            return
        self._closed = True
        # Already closed or broken: nothing is left to do, so nothing to report.
        with contextlib.suppress(Exception):
            await self._connection.close()


def _ignore(_: bytes) -> None:
    return None
