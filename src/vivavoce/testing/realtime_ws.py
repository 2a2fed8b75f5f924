"""The fake's Realtime WebSocket endpoint: a thin driver around :class:`Conversation`.

It decides the handshake (reject at upgrade, in-band error + close 3000, outage close,
or serve), then runs three loops for a served session: receive client messages, stream
the active response at ``config.audio_pace`` × real time, and a clock for idle nudges,
timed faults and the maximum session duration. Network faults (a TCP drop, a stall) are
in ``realtime_faults.py``; a slow handshake is a delay before the upgrade is answered. All sends go through one lock, and a
response is stepped while holding it, so a cancel can never be overtaken by stale audio
(ECHO mode's fastest path answers from the server protocol's read callback, in one step,
and only while the lock is free: ``_SessionDriver._echo_at_once``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable

from fastapi import WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect, WebSocketState

from vivavoce.testing.fake_access import bearer_key, realtime_access, resolve_scenario
from vivavoce.testing.fake_config import SessionFaults
from vivavoce.testing.fake_errors import FakeError, new_request_id
from vivavoce.testing.fake_models import is_realtime_model
from vivavoce.testing.fake_records import RealtimeSessionRecord, key_fingerprint, masked_or_none
from vivavoce.testing.fake_state import FakeState
from vivavoce.testing.realtime_conversation import Conversation
from vivavoce.testing.realtime_echo import DELTA
from vivavoce.testing.realtime_faults import drop_connection, live_delay, stall_connection
from vivavoce.testing.realtime_items import Event
from vivavoce.testing.scenarios import Scenario
from vivavoce.testing.servers import fast_text_of
from vivavoce.testing.webrtc_sideband import call_not_found, find_call, serve_sideband

__all__ = ["MAX_DURATION_REASON", "handle_realtime"]

MAX_DURATION_REASON = "Your session hit the maximum duration of 60 minutes."
_TICK_S = 0.05
_TRANSCRIBED = "conversation.item.input_audio_transcription.completed"
# What sending on a socket the client already dropped raises (Starlette turns the
# server's OSError into WebSocketDisconnect; a send after close is a RuntimeError).
_GONE = (WebSocketDisconnect, RuntimeError, OSError)
_SLOW_TICK_S = 0.25
_HEADERS_OF_INTEREST = ("openai-beta", "openai-organization", "openai-project", "user-agent")


async def handle_realtime(websocket: WebSocket, fake: FakeState) -> None:
    """Serve one ``/v1/realtime`` connection attempt from start to close."""
    headers = websocket.headers
    key = bearer_key(headers)
    model = websocket.query_params.get("model")
    call_id = websocket.query_params.get("call_id")
    record = RealtimeSessionRecord(
        key_masked=masked_or_none(key),
        key_fingerprint=key_fingerprint(key),
        model=model,
        headers={name: headers[name] for name in _HEADERS_OF_INTEREST if name in headers},
    )
    fake.sessions.append(record)
    request_id = new_request_id()
    config = fake.config
    if config.handshake_delay_s > 0:
        await live_delay(lambda: config.handshake_delay_s, time.monotonic())
    if key is not None and resolve_scenario(key, config, fake.client_secrets) is Scenario.SLOW:
        await asyncio.sleep(config.slow_delay_s)
    call = find_call(fake, call_id)  # a sideband joins a live WebRTC call (webrtc_sideband)
    if call_id is not None and call is None:
        await _reject(websocket, record, request_id, call_not_found(call_id))
        return
    model = call.record.model if call is not None else model
    access = realtime_access(
        key, headers, model, config, fake.client_secrets, is_realtime_model(model or "")
    )
    if access.reject is not None:
        await _reject(websocket, record, request_id, access.reject)
        return
    await websocket.accept(headers=[(b"x-request-id", request_id.encode())])
    record.accepted = True
    if access.outage:
        await _close(websocket, record, 1011, "Internal server error")
        return
    if access.in_band is not None:
        with contextlib.suppress(*_GONE):
            await _send_json(websocket, access.in_band.event())
            record.events_sent.append("error")
        await _close(websocket, record, 3000, access.in_band.close_reason)
        return
    if call is not None:
        await serve_sideband(websocket, fake, record, call)
        return
    session = None
    if key is not None and key.startswith("ek_"):
        session = dict(fake.client_secrets[key].session) or None
    conversation = Conversation(str(model), config, session=session or {})
    conversation.rate_limited = access.scenario is Scenario.RATELIMITED
    await _SessionDriver(websocket, fake, record, conversation).run()


class _DenialLogFilter(logging.Filter):
    """Drop uvicorn's false alarm after a WebSocket denial response we sent on purpose.

    uvicorn's sans-I/O WebSocket protocol (0.3x) sends the denial response correctly but
    then logs "ASGI callable returned without completing handshake." at ERROR. Only as
    many records are dropped as denials were sent, so a real occurrence elsewhere in
    the process still shows.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._expected = 0

    def expect_one(self) -> None:
        with self._lock:
            self._expected += 1

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() != "ASGI callable returned without completing handshake.":
            return True
        with self._lock:
            if self._expected > 0:
                self._expected -= 1
                return False
        return True


_DENIAL_FILTER = _DenialLogFilter()
logging.getLogger("uvicorn.error").addFilter(_DENIAL_FILTER)


async def _reject(websocket: WebSocket, record: RealtimeSessionRecord, request_id: str, error: FakeError) -> None:
    record.rejected_status = error.status
    response = JSONResponse(error.body(), status_code=error.status, headers={"x-request-id": request_id})
    _DENIAL_FILTER.expect_one()
    await websocket.send_denial_response(response)


def _wire(event: Event) -> str:
    # OpenAI writes compact JSON, members in the order the API documents them.
    return json.dumps(event, separators=(",", ":"))


async def _send_json(websocket: WebSocket, event: Event) -> None:
    await websocket.send_text(_wire(event))


async def _close(websocket: WebSocket, record: RealtimeSessionRecord, code: int, reason: str) -> None:
    if record.close_code is None:
        record.close_code, record.close_reason, record.closed_by = code, reason, "server"
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(*_GONE):
            await websocket.close(code, reason)


class _SessionDriver:
    """Runs one accepted session: receive, stream responses, keep time, inject faults."""

    def __init__(
        self, websocket: WebSocket, fake: FakeState, record: RealtimeSessionRecord, conversation: Conversation
    ) -> None:
        self.websocket = websocket
        self.fake = fake
        self.record = record
        self.conversation = conversation
        self.lock = asyncio.Lock()
        self.closed = False
        self.sent = 0
        self.error_injected = False
        self.stalled = False  # one stall per session
        self.faults: SessionFaults | None = None  # config.session_faults' for this session
        self.planned_error_sent = False
        self.opened = time.monotonic()
        self.streamer: asyncio.Task[None] | None = None
        record.events_received = conversation.events_received
        record.responses = conversation.responses
        record.user_transcripts = conversation.user_transcripts
        record.session_config = conversation.session

    async def run(self) -> None:
        clock = asyncio.create_task(self._clock())
        fast = fast_text_of(self.websocket.scope)
        if fast is not None:
            fast.handler = self._echo_at_once
        try:
            await self._delay(self.fake.config.session_created_delay_s)
            async with self.lock:
                await self._send([self.conversation.session_created()])
            await self._receive_loop()
            if self.record.close_code is None:  # gone without a close we saw
                self.record.close_code, self.record.close_reason = 1006, ""
                self.record.closed_by = "client"
        finally:
            if fast is not None:
                fast.handler = None
            for task in (clock, self.streamer):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _delay(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def _receive_loop(self) -> None:
        while not self.closed:
            try:
                message = await self.websocket.receive()
            except _GONE:
                # Closed under us (a fault closed it while we waited): nothing to read.
                self._gone()
                return
            if message["type"] == "websocket.disconnect":
                self.closed = True
                if self.record.close_code is None:
                    self.record.close_code = message.get("code", 1000)
                    self.record.close_reason = message.get("reason") or ""
                    self.record.closed_by = "client"
                return
            text = message.get("text")
            payload: str | bytes = text if isinstance(text, str) else bytes(message.get("bytes") or b"")
            async with self.lock:
                # ECHO mode's fast path (a benchmark's every audio chunk); its wire text is
                # the general path's, so not when a test asks for another writer.
                echoed = self.conversation.echo_fast(payload) \
                    if isinstance(payload, str) and self.fake.config.wire_json is None else None
                if echoed is not None:
                    self.record.audio_bytes_received = self.conversation.audio_bytes_received
                    await self._send_text(DELTA, echoed)
                    continue
                events = self.conversation.receive(payload)
                self.record.audio_bytes_received = self.conversation.audio_bytes_received
                self.record.session_config = self.conversation.session
                if any(event["type"] == "session.updated" for event in events):
                    self._plan_faults()
                    await self._delay(self.fake.config.session_updated_delay_s)
                await self._send(events)
            self._ensure_streaming()

    def _echo_at_once(self, text: str) -> str | None:
        """ECHO mode's fastest path: the delta for an append in the relay's shape, answered
        by the server's protocol straight from its read callback (``servers.FastText``),
        recorded as :meth:`_send_text` records it. Declines (``None``, the message then
        takes the receive loop) whenever anything else could be going on: the lock held
        (a send, a stall, a delay under way), a reply streaming, or a fault or another
        wire writer that the receive loop's path applies after each event."""
        config = self.fake.config
        if (self.closed or self.lock.locked() or self.conversation.active_response
                or self.faults is not None or config.wire_json is not None
                or config.error_after_events is not None or config.close_after_events is not None
                or config.drop_after_events is not None or config.stall_after_events is not None):
            return None
        echoed = self.conversation.echo_fast(text)
        if echoed is not None:
            self.record.audio_bytes_received = self.conversation.audio_bytes_received
            self.record.events_sent.append(DELTA)
            self.sent += 1
        return echoed

    def _plan_faults(self) -> None:
        plan = self.fake.config.session_faults
        if plan is not None and self.faults is None:
            self.faults = plan(self.record) or SessionFaults()

    def _ensure_streaming(self) -> None:
        if self.conversation.active_response and (self.streamer is None or self.streamer.done()):
            self.streamer = asyncio.create_task(self._stream())

    async def _stream(self) -> None:
        while not self.closed:
            async with self.lock:
                step = self.conversation.step_response()
                if step is None:
                    return
                events, seconds = step
                await self._send(events)
            pace = self.fake.config.audio_pace
            if seconds > 0 and pace > 0:
                await asyncio.sleep(seconds * pace)
            else:
                # Let the receiver run between pieces even when not pacing.
                await asyncio.sleep(0)

    def _next_tick(self) -> float:
        # Wake often only when something is due soon: hundreds of idle benchmark
        # sessions should not each spin a 20 Hz timer.
        config = self.fake.config
        if self.conversation.wants_ticks:
            return _TICK_S
        elapsed = time.monotonic() - self.opened
        deadlines = [config.max_session_s - elapsed]
        for after in (config.close_after_s, config.drop_after_s,
                      None if self.stalled else config.stall_after_s):
            if after is not None:
                deadlines.append(after - elapsed)
        return min(_SLOW_TICK_S, max(min(deadlines), 0.0) + 0.001)

    async def _clock(self) -> None:
        config = self.fake.config
        while not self.closed:
            await asyncio.sleep(self._next_tick())
            elapsed = time.monotonic() - self.opened
            if elapsed >= config.max_session_s:
                await self._close(1001, MAX_DURATION_REASON)
                return
            if config.close_after_s is not None and elapsed >= config.close_after_s:
                await self._close(config.close_code, config.close_reason)
                return
            if (config.drop_after_s is not None and elapsed >= config.drop_after_s
                    and config.drops_left != 0):
                await self._drop()
                return
            if (config.stall_after_s is not None and not self.stalled
                    and elapsed >= config.stall_after_s):
                async with self.lock:
                    await self._stall(lambda: config.stall_s)
            async with self.lock:
                await self._send(self.conversation.tick(time.monotonic()))
            self._ensure_streaming()

    async def _send(self, events: list[Event]) -> None:
        """Send events in order, counting them for the event-count faults. Hold the lock."""
        wire_json = self.fake.config.wire_json
        for event in events:
            text = _wire(event) if wire_json is None else wire_json(event)
            if not await self._send_text(str(event.get("type")), text, event):
                return

    async def _send_text(self, kind: str, text: str, event: Event | None = None) -> bool:
        """Send one server event's wire text (``event``: the event itself, when there is
        one), count it and apply the event-count faults; False once nothing more may be
        sent. Hold the lock."""
        if self.closed:
            return False
        config = self.fake.config
        try:
            await self.websocket.send_text(text)
        except _GONE:
            # The client went away mid-send (it aborted the connection, or closed it
            # while we were blocked sending): the receive loop stops at ``closed``.
            self._gone()
            return False
        self.record.events_sent.append(kind)
        if kind == _TRANSCRIBED and event is not None and event.get("transcript"):
            self.record.transcripts_sent.append(str(event["transcript"]))
        self.sent += 1
        if config.error_after_events is not None and not self.error_injected and self.sent >= config.error_after_events:
            self.error_injected = True
            injected = FakeError(500, config.injected_error_type, config.injected_error_code, config.injected_error_message)
            try:
                await _send_json(self.websocket, injected.event())
            except _GONE:
                self._gone()
                return False
            self.record.events_sent.append("error")
        if config.close_after_events is not None and self.sent >= config.close_after_events:
            await self._close(config.close_code, config.close_reason)
            return False
        if (config.drop_after_events is not None and self.sent >= config.drop_after_events
                and config.drops_left != 0):
            await self._drop()
            return False
        if (config.stall_after_events is not None and not self.stalled
                and self.sent >= config.stall_after_events):
            await self._stall(lambda: config.stall_s)  # the lock is held: all waits
        return self.faults is None or await self._planned_faults(self.faults)

    async def _planned_faults(self, plan: SessionFaults) -> bool:
        """This session's own faults (``FakeConfig.session_faults``) after an event was
        sent; False when the session is gone. Hold the lock."""
        if (plan.error_after_events is not None and not self.planned_error_sent
                and self.sent >= plan.error_after_events):
            self.planned_error_sent = True
            error = FakeError(500, plan.error_type, plan.error_code, plan.error_message)
            try:
                await _send_json(self.websocket, error.event())
            except _GONE:
                self._gone()
                return False
            self.record.events_sent.append("error")
        if plan.drop_after_events is not None and self.sent >= plan.drop_after_events:
            await self._drop(counted=False)
            return False
        if (plan.stall_after_events is not None and not self.stalled
                and self.sent >= plan.stall_after_events):
            await self._stall(lambda: plan.stall_s)
        return True

    def _gone(self) -> None:
        """The client's socket went away under a send or a receive; ``run`` records it
        unless the receive loop saw the close itself."""
        self.closed = True

    async def _close(self, code: int, reason: str) -> None:
        self.closed = True
        await _close(self.websocket, self.record, code, reason)

    async def _drop(self, *, counted: bool = True) -> None:
        """``counted``: a drop of the config's, which ``drops_left`` counts down."""
        config = self.fake.config
        if counted and config.drops_left is not None:
            config.drops_left -= 1
        self.closed = True  # nothing more is sent while what was sent drains
        await drop_connection(self.websocket, self.record)

    async def _stall(self, seconds: Callable[[], float]) -> None:
        """Hold the lock (the caller took it) and read nothing for ``seconds()``."""
        self.stalled = True
        await stall_connection(self.websocket, self.record, seconds)
