"""One WebRTC call on the fake: the conversation, who hears its events, and the audio.

A :class:`Call` wraps the same sans-I/O ``Conversation`` as the WebSocket mode, so the
greeting, VAD, transcripts, faults and usage are the same. What differs is the
transport, as on the real API:

- events go to every *sink* — the ``oai-events`` data channel and any sideband socket
  (``?call_id=``) — except the reply audio deltas, which are played on the media track
  instead (:mod:`webrtc_playout`);
- ``output_audio_buffer.started/stopped`` follow the playing, not the generating;
- on a barge-in (speech starts while the reply plays) the call itself cuts the reply
  at what was played: the item is truncated there, the buffer cleared, and
  ``output_audio_buffer.cleared`` sent.

Everything runs on the event loop that created the call (the fake's server loop); the
methods are synchronous and sinks never block, so no lock is needed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from vivavoce.testing.fake_audio import BYTES_PER_MS, synthesize_speech
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_errors import FakeError, new_event_id
from vivavoce.testing.fake_records import ResponseRecord, key_fingerprint, masked_or_none
from vivavoce.testing.fake_voice_lines import default_transcript
from vivavoce.testing.realtime_conversation import Conversation
from vivavoce.testing.realtime_items import Event
from vivavoce.testing.webrtc_playout import Playout, VirtualPlayout

__all__ = ["MAX_DURATION_REASON", "Call", "CallRecord", "EventSink", "call_not_found"]

MAX_DURATION_REASON = "Your session hit the maximum duration of 60 minutes."
_TICK_S = 0.05
_SLOW_TICK_S = 0.25
# Events the call decides itself on WebRTC (the conversation's are about generating).
_PLAYOUT_EVENTS = frozenset(
    {"output_audio_buffer.started", "output_audio_buffer.stopped", "output_audio_buffer.cleared"}
)
_MAX_PENDING = 2000
# The media-free mode's candidate speaks in chunks of this size, at real-time pace.
_SCRIPT_CHUNK_MS = 200
_SCRIPT_TAIL_MS = 800


def call_not_found(call_id: str) -> FakeError:
    """404 ``call_id_not_found`` for a call id the fake does not know (or that ended)."""
    return FakeError(404, "invalid_request_error", "call_id_not_found", f"Call with id '{call_id}' not found.")


class EventSink(Protocol):
    """Somewhere a call's server events go (the data channel, a sideband socket)."""

    def send(self, event: Event) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


@dataclass
class CallRecord:
    """One call, as tests observe it on ``FakeOpenAI.calls`` (``FakeState``)."""

    call_id: str
    key_masked: str | None
    key_fingerprint: str | None
    model: str
    media: bool
    """False in the media-free mode (``FakeConfig.media_free_calls``)."""
    offer_sdp: str = ""
    answer_sdp: str = ""
    session_config: dict[str, Any] = field(default_factory=dict)
    channel_events_received: list[str] = field(default_factory=list)
    """Client event types received over the ``oai-events`` data channel."""
    sideband_events_received: list[str] = field(default_factory=list)
    """Client event types received over sideband sockets."""
    events_sent: list[str] = field(default_factory=list)
    """Server event types sent to the call's sinks (no audio deltas: those are media)."""
    responses: list[ResponseRecord] = field(default_factory=list)
    user_transcripts: list[str] = field(default_factory=list)
    audio_ms_received: int = 0
    """Candidate audio received on the media track (or the script's, media-free)."""
    audio_ms_played: int = 0
    """Reply audio played to the candidate."""
    barge_ins: int = 0
    """Replies cut because the candidate spoke over them."""
    sidebands_joined: int = 0
    connection_state: str = "new"
    selected_pair: list[tuple[tuple[str, int], tuple[str, int]]] = field(default_factory=list)
    """The fake's nominated ICE pair(s) once connected: ``((local), (remote))``."""
    ended: bool = False
    end_reason: str | None = None
    """``hangup``, ``max_duration``, ``peer_closed`` or ``connection_failed``."""


class _ChannelSink:
    """The ``oai-events`` data channel: events wait until it opens (session.created first)."""

    def __init__(self) -> None:
        self.channel: Any = None
        self.pending: list[str] = []

    def attach(self, channel: Any) -> None:
        self.channel = channel
        if channel.readyState == "open":
            self._flush()
        else:
            channel.on("open", self._flush)

    def _flush(self) -> None:
        pending, self.pending = self.pending, []
        for text in pending:
            self.channel.send(text)

    def send(self, event: Event) -> None:
        text = json.dumps(event)
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(text)
        elif len(self.pending) < _MAX_PENDING:
            self.pending.append(text)

    def close(self, code: int, reason: str) -> None:
        if self.channel is not None:
            self.channel.close()


class Call:
    """A live call: see the module docstring. Create with :meth:`open`."""

    def __init__(
        self, config: FakeConfig, record: CallRecord, conversation: Conversation, *, media: bool
    ) -> None:
        self.config = config
        self.record = record
        self.conversation = conversation
        self.media = media
        self.channel = _ChannelSink()
        self.sinks: list[EventSink] = [self.channel]
        self.playout: Playout = (
            Playout(self._audio_started, self._audio_stopped)
            if media
            else VirtualPlayout(self._audio_started, self._audio_stopped)
        )
        self.loop = asyncio.get_running_loop()
        """The loop the call runs on (the fake server's)."""
        self.opened = time.monotonic()
        self.closers: list[Callable[[], Coroutine[Any, Any, None]]] = []
        """Run at the end (the media peer's close)."""
        self.on_end: Callable[[], None] = lambda: None
        """Called once when the call ends (the fake forgets it as live)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._streamer: asyncio.Task[None] | None = None
        self._script: asyncio.Task[None] | None = None
        self._script_turn = 0
        self._sent = 0
        self._error_injected = False
        self._ending: asyncio.Task[None] | None = None
        self.ended = asyncio.Event()
        record.responses = conversation.responses
        record.user_transcripts = conversation.user_transcripts
        record.session_config = conversation.session

    @classmethod
    def open(
        cls, config: FakeConfig, *, call_id: str, key: str, model: str, session: dict[str, Any],
        rate_limited: bool, offer_sdp: str,
    ) -> Call:
        """Start a call on the running loop (the caller registers it where it is found)."""
        media = not config.media_free_calls
        record = CallRecord(
            call_id=call_id, key_masked=masked_or_none(key), key_fingerprint=key_fingerprint(key),
            model=model, media=media, offer_sdp=offer_sdp,
        )
        conversation = Conversation(model, config, session=session)
        conversation.rate_limited = rate_limited
        call = cls(config, record, conversation, media=media)
        call.channel.send(conversation.session_created())
        call.spawn(call._clock())
        return call

    # ------------------------------------------------------------------ inputs

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` for the call's lifetime (cancelled when it ends)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def client_event(self, message: str | bytes, source: str) -> None:
        """A client event from the data channel (``source="channel"``) or a sideband."""
        if self.record.ended:
            return
        kind = _event_type(message)
        received = self.record.channel_events_received if source == "channel" else self.record.sideband_events_received
        received.append(kind)
        if kind == "output_audio_buffer.clear":
            # WebRTC only: stop playing now (the client cancels the response itself).
            cut = self.playout.clear()
            self.record.audio_ms_played = self.playout.played_bytes // BYTES_PER_MS
            self._publish([_event("output_audio_buffer.cleared", response_id=cut.response_id if cut else None)])
            return
        self._handle(self.conversation.receive(message))

    def audio_in(self, pcm: bytes) -> None:
        """Candidate audio (PCM16 24 kHz mono) from the media track or the script."""
        if self.record.ended or not pcm:
            return
        self.record.audio_ms_received += len(pcm) // BYTES_PER_MS
        message = json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()})
        self._handle(self.conversation.receive(message))

    def add_sink(self, sink: EventSink) -> None:
        self.sinks.append(sink)

    def remove_sink(self, sink: EventSink) -> None:
        with contextlib.suppress(ValueError):
            self.sinks.remove(sink)

    # ------------------------------------------------------------------ events out

    def _handle(self, events: list[Event]) -> None:
        """Route the conversation's events: audio to the playout, the rest to the sinks."""
        barge_in = False
        for event in events:
            kind = event["type"]
            if kind == "response.output_audio.delta":
                self.playout.push(event["response_id"], event["item_id"], base64.b64decode(event["delta"]))
                continue
            if kind in _PLAYOUT_EVENTS:
                continue
            if kind == "input_audio_buffer.speech_started" and self.playout.playing and self._interrupts():
                barge_in = True
            self._publish([event])
            if kind == "response.done":
                self.playout.finish(str(event["response"]["id"]))
        self.record.session_config = self.conversation.session
        if barge_in:
            self._cut()
        self._ensure_streaming()

    def _publish(self, events: list[Event]) -> None:
        config = self.config
        for event in events:
            self.record.events_sent.append(str(event["type"]))
            for sink in list(self.sinks):
                sink.send(event)
            self._sent += 1
            if config.error_after_events is not None and not self._error_injected and self._sent >= config.error_after_events:
                self._error_injected = True
                injected = FakeError(500, config.injected_error_type, config.injected_error_code, config.injected_error_message)
                self._publish([injected.event()])

    def _interrupts(self) -> bool:
        td = self.conversation.session.get("audio", {}).get("input", {}).get("turn_detection")
        return isinstance(td, dict) and bool(td.get("interrupt_response", True))

    def _cut(self) -> None:
        """Cut the playing reply where the candidate stopped hearing it (as OpenAI does)."""
        cut = self.playout.clear()
        self.record.audio_ms_played = self.playout.played_bytes // BYTES_PER_MS
        if cut is None:
            return
        self.record.barge_ins += 1
        truncate = {"type": "conversation.item.truncate", "item_id": cut.item_id, "content_index": 0, "audio_end_ms": cut.played_ms}
        self._publish(self.conversation.receive(json.dumps(truncate)))
        self._publish([_event("output_audio_buffer.cleared", response_id=cut.response_id)])

    def _audio_started(self, response_id: str) -> None:
        self._publish([_event("output_audio_buffer.started", response_id=response_id)])

    def _audio_stopped(self, response_id: str) -> None:
        self.record.audio_ms_played = self.playout.played_bytes // BYTES_PER_MS
        self._publish([_event("output_audio_buffer.stopped", response_id=response_id)])
        if not self.media and not self.record.ended:
            self._schedule_candidate_turn()

    def _ensure_streaming(self) -> None:
        if self.conversation.active_response and (self._streamer is None or self._streamer.done()):
            self._streamer = self.spawn(self._stream())

    async def _stream(self) -> None:
        # Generation runs ahead of playing (config.audio_pace × real time), as on the
        # real API: response.done usually arrives while the audio still plays.
        while not self.record.ended:
            step = self.conversation.step_response()
            if step is None:
                return
            events, seconds = step
            self._handle(events)
            pace = self.config.audio_pace
            await asyncio.sleep(seconds * pace if seconds > 0 and pace > 0 else 0)

    async def _clock(self) -> None:
        config = self.config
        while not self.record.ended:
            await asyncio.sleep(_TICK_S if self.conversation.wants_ticks else _SLOW_TICK_S)
            if time.monotonic() - self.opened >= config.max_session_s:
                self.spawn_end("max_duration", 1001, MAX_DURATION_REASON)
                return
            self._handle(self.conversation.tick(time.monotonic()))
            self.record.audio_ms_played = self.playout.played_bytes // BYTES_PER_MS

    # ------------------------------------------------------------------ media-free script

    def _schedule_candidate_turn(self) -> None:
        if self._script is None or self._script.done():
            self._script = self.spawn(self._candidate_turn())

    async def _candidate_turn(self) -> None:
        """Media-free mode: after each reply, the candidate answers after a pause."""
        await asyncio.sleep(self.config.candidate_pause_s)
        line = default_transcript(self._script_turn)
        self._script_turn += 1
        pcm = _candidate_speech(line, self.config.speech_ms_per_char)
        chunk = _SCRIPT_CHUNK_MS * BYTES_PER_MS
        for offset in range(0, len(pcm), chunk):
            if self.record.ended:
                return
            self.audio_in(pcm[offset : offset + chunk])
            await asyncio.sleep(_SCRIPT_CHUNK_MS / 1000)

    # ------------------------------------------------------------------ the end

    def spawn_end(self, reason: str, code: int = 1000, close_reason: str = "") -> None:
        """End the call from inside one of its own callbacks or tasks."""
        # Not one of the call's own tasks (end() cancels those); kept so it is not lost.
        self._ending = asyncio.get_running_loop().create_task(self.end(reason, code, close_reason))

    async def end(self, reason: str, code: int = 1000, close_reason: str = "") -> None:
        """End the call (idempotent): close sidebands with ``code``, stop the media."""
        if self.record.ended:
            return
        self.record.ended, self.record.end_reason = True, reason
        self.record.audio_ms_played = self.playout.played_bytes // BYTES_PER_MS
        self.on_end()
        if isinstance(self.playout, VirtualPlayout):
            self.playout.close()
        for sink in list(self.sinks):
            sink.close(code, close_reason)
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        for closer in self.closers:
            with contextlib.suppress(Exception):
                await closer()
        self.ended.set()


def _event(kind: str, **fields: Any) -> Event:
    return {"type": kind, "event_id": new_event_id(), **fields}


def _event_type(message: str | bytes) -> str:
    # Only for the record and for output_audio_buffer.clear; the conversation answers
    # malformed input with its own error events.
    if isinstance(message, bytes):
        return "<binary>"
    try:
        parsed = json.loads(message)
    except (ValueError, RecursionError):
        return "<invalid json>"
    return str(parsed.get("type")) if isinstance(parsed, dict) else "<not an object>"


_SPEECH_CACHE: dict[tuple[str, int], bytes] = {}


def _candidate_speech(line: str, ms_per_char: int) -> bytes:
    key = (line, ms_per_char)
    if key not in _SPEECH_CACHE:
        voiced = b"".join(pcm for _, pcm in synthesize_speech(line, ms_per_char))
        _SPEECH_CACHE[key] = voiced + bytes(_SCRIPT_TAIL_MS * BYTES_PER_MS)
    return _SPEECH_CACHE[key]
