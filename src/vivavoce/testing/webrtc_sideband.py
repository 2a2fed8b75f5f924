"""The sideband: a server's WebSocket joined to a WebRTC call (``/v1/realtime?call_id=``).

Two connections, one session: the sideband receives the call's events from the moment
it joins (transcripts, ``response.done`` with usage, errors — never audio), and what it
sends (``session.update``, ``response.create``, conversation items …) acts on the same
conversation as the data channel. It opens with ``session.created`` carrying the call's
current session (the real API's opening event on a sideband is unconfirmed).

``realtime_ws.handle_realtime`` judges the key as for any Realtime socket, accepts, and
hands over here. The socket closes when the call ends (1000 after a hangup, 1001 at the
maximum duration) or when a fault closes it (``close_after_events`` /
``close_after_s``, which drop only the sideband: the call goes on and may be re-joined).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from vivavoce.testing.fake_records import RealtimeSessionRecord
from vivavoce.testing.realtime_items import Event
from vivavoce.testing.webrtc_call import Call, call_not_found

if TYPE_CHECKING:
    from vivavoce.testing.fake_state import FakeState

__all__ = ["call_not_found", "find_call", "serve_sideband"]

_GONE = (WebSocketDisconnect, RuntimeError, OSError)
# A sideband that reads far slower than the call talks is dropped rather than let the
# queue grow without end (the server can re-join and lose only the backlog).
_MAX_QUEUED = 10_000
_TOO_SLOW = (1008, "Sideband too slow to receive the call's events.")
_Close = tuple[int, str]


def find_call(fake: FakeState, call_id: str | None) -> Call | None:
    """The live call ``call_id`` names, or None (unknown or ended)."""
    return fake.live_calls.get(call_id) if call_id else None


class _SocketSink:
    """Queues a call's events for one sideband socket; a writer task sends them in order."""

    def __init__(self, websocket: WebSocket, fake: FakeState, record: RealtimeSessionRecord) -> None:
        self.websocket = websocket
        self.fake = fake
        self.record = record
        self.queue: asyncio.Queue[Event | _Close] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.sent = 0
        self.overflowed = False

    def send(self, event: Event) -> None:
        if self.closed.is_set() or self.overflowed:
            return
        if self.queue.qsize() >= _MAX_QUEUED:
            self.overflowed = True
            self.queue.put_nowait(_TOO_SLOW)
            return
        self.queue.put_nowait(event)

    def close(self, code: int, reason: str) -> None:
        if not self.closed.is_set():
            self.queue.put_nowait((code, reason))

    async def run(self) -> None:
        config = self.fake.config
        while not self.closed.is_set():
            item = await self.queue.get()
            if self.overflowed:
                item = _TOO_SLOW
            if isinstance(item, tuple):
                await self.shut(*item)
                return
            try:
                await self.websocket.send_text(json.dumps(item))
            except _GONE:
                self.closed.set()
                return
            self.record.events_sent.append(str(item.get("type")))
            self.sent += 1
            if config.close_after_events is not None and self.sent >= config.close_after_events:
                await self.shut(config.close_code, config.close_reason)
                return

    async def shut(self, code: int, reason: str) -> None:
        """Close the socket (once), recording that the server closed it."""
        if self.closed.is_set():
            return
        self.closed.set()
        if self.record.close_code is None:
            self.record.close_code, self.record.close_reason, self.record.closed_by = code, reason, "server"
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(*_GONE):
                await self.websocket.close(code, reason)


async def serve_sideband(websocket: WebSocket, fake: FakeState, record: RealtimeSessionRecord, call: Call) -> None:
    """Serve an accepted sideband socket on ``call`` until either side ends it."""
    sink = _SocketSink(websocket, fake, record)
    record.model = call.record.model
    record.session_config = call.conversation.session
    record.responses = call.conversation.responses
    record.user_transcripts = call.conversation.user_transcripts
    call.record.sidebands_joined += 1
    if fake.config.session_created_delay_s > 0:
        # The same fault as on a plain socket: a slow first event (events of the call
        # meanwhile are not this sideband's: it has not joined yet).
        await asyncio.sleep(fake.config.session_created_delay_s)
    sink.send(call.conversation.session_created())
    call.add_sink(sink)
    writer = asyncio.create_task(sink.run())
    receiver = asyncio.create_task(_receive(websocket, record, call, sink))
    opened = time.monotonic()
    try:
        while not (sink.closed.is_set() or receiver.done()):
            timeout = None
            if fake.config.close_after_s is not None:
                timeout = max(0.0, fake.config.close_after_s - (time.monotonic() - opened)) + 0.001
            closed = asyncio.create_task(sink.closed.wait())
            await asyncio.wait({closed, receiver}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            closed.cancel()
            close_after = fake.config.close_after_s
            if close_after is not None and time.monotonic() - opened >= close_after:
                sink.close(fake.config.close_code, fake.config.close_reason)
                await asyncio.wait({writer}, timeout=5)
                break
    finally:
        call.remove_sink(sink)
        for task in (writer, receiver):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _receive(websocket: WebSocket, record: RealtimeSessionRecord, call: Call, sink: _SocketSink) -> None:
    while not sink.closed.is_set():
        try:
            message = await websocket.receive()
        except _GONE:
            return
        if message["type"] == "websocket.disconnect":
            sink.closed.set()
            if record.close_code is None:
                record.close_code = message.get("code", 1000)
                record.close_reason = message.get("reason") or ""
                record.closed_by = "client"
            return
        text = message.get("text")
        payload: str | bytes = text if isinstance(text, str) else bytes(message.get("bytes") or b"")
        before = len(call.record.sideband_events_received)
        call.client_event(payload, "sideband")
        record.events_received.extend(call.record.sideband_events_received[before:])
        record.session_config = call.conversation.session
