"""The fake Realtime conversation, with no sockets: client events in, server events out.

:class:`Conversation` owns the session object, the input audio buffer and its VAD, and
the conversation items, and decides when a response starts and ends; what a response
says and the events and usage it produces belong to ``realtime_replies``. The socket handler
(``realtime_ws``) feeds it client messages (:meth:`Conversation.receive`), asks it for
the next piece of a response (:meth:`Conversation.step_response`, which also says how
much audio that piece holds so the handler can pace it) and gives it the time
(:meth:`Conversation.tick`, for idle nudges). Everything here is deterministic.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vivavoce.testing import fake_errors as errors
from vivavoce.testing.fake_audio import (
    BYTES_PER_MS,
    EnergyVad,
    VadEvent,
    has_speech,
)
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_errors import FakeError
from vivavoce.testing.fake_records import ResponseRecord
from vivavoce.testing.fake_voice_lines import default_transcript
from vivavoce.testing.realtime_echo import APPEND, echo_delta, echo_wire
from vivavoce.testing.realtime_items import (
    ConversationItem,
    ConversationView,
    Event,
    new_event,
    new_id,
)
from vivavoce.testing.realtime_replies import Replies
from vivavoce.testing.realtime_session import (
    SessionConfigError,
    apply_session_update,
    default_session,
)

__all__ = ["Conversation"]

# Client events the GA interface defines; anything else gets an error event.
_CLIENT_EVENTS = frozenset(
    {
        "session.update",
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "input_audio_buffer.clear",
        "conversation.item.create",
        "conversation.item.retrieve",
        "conversation.item.truncate",
        "conversation.item.delete",
        "response.create",
        "response.cancel",
        "output_audio_buffer.clear",
    }
)
_MIN_COMMIT_MS = 100
_SEMANTIC_SILENCE_MS = {"low": 1000, "medium": 500, "auto": 500, "high": 250}


@dataclass
class Conversation:
    """One Realtime session's state machine (no I/O; see module docstring)."""

    model: str
    config: FakeConfig
    session: dict[str, Any] = field(default_factory=dict)
    rate_limited: bool = False
    """Set by the socket handler for the ``ratelimited`` scenario."""

    def __post_init__(self) -> None:
        if not self.session:
            self.session = default_session(self.model)
        self.items: list[ConversationItem] = []
        self._replies = Replies(self.config)
        self.user_transcripts: list[str] = []
        self.audio_bytes_received = 0
        self.events_received: list[str] = []
        self._buffer = bytearray()
        self._buffer_start_ms = 0
        self._vad = EnergyVad()
        self._configure_vad()
        self._speech_item_id: str | None = None
        self._deferred: list[Event] = []
        self._user_turns = 0
        self._script_index = 0
        self._idle_armed = False
        self._idle_since: float | None = None
        # Ids of the messages the client created before the first response: the
        # structural sign that this session continues an earlier conversation.
        self._carried_over: set[str] = set()

    # ------------------------------------------------------------------ public API

    @property
    def responses(self) -> list[ResponseRecord]:
        """Every response of the session, in order (the fake's observations share it)."""
        return self._replies.responses

    @property
    def wants_ticks(self) -> bool:
        """True when :meth:`tick` can do something (an idle timeout is configured)."""
        return self._idle_timeout_ms() is not None

    @property
    def active_response(self) -> bool:
        """True while a response is being generated."""
        return self._replies.active is not None

    def session_created(self) -> Event:
        """The first server event of every session."""
        return new_event("session.created", session=self.session)

    def receive(self, message: str | bytes) -> list[Event]:
        """Handle one client WebSocket message; return the server events it causes.

        Never raises on bad input: malformed messages become ``error`` events and the
        session stays usable, as with the real API.
        """
        if isinstance(message, bytes):
            self.events_received.append("<binary>")
            return [errors.invalid_request(
                "Binary frames are not supported; send JSON text events.", code="invalid_type"
            ).event()]
        try:
            event = json.loads(message)
        except json.JSONDecodeError as exc:
            self.events_received.append("<invalid json>")
            return [errors.invalid_request(
                f"Invalid JSON: {exc.msg} (line {exc.lineno} column {exc.colno}).", code="invalid_json"
            ).event()]
        except RecursionError:
            self.events_received.append("<invalid json>")
            return [errors.invalid_request("Invalid JSON: nested too deeply.", code="invalid_json").event()]
        if not isinstance(event, dict):
            self.events_received.append("<not an object>")
            return [errors.invalid_request("Expected a JSON object.", code="invalid_type").event()]
        client_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        kind = event.get("type")
        self.events_received.append(str(kind))
        if kind not in _CLIENT_EVENTS:
            return [errors.invalid_request(
                f"Invalid value: '{kind}'. Supported values are: "
                + ", ".join(f"'{k}'" for k in sorted(_CLIENT_EVENTS)) + ".",
                param="type",
            ).event(client_id)]
        handler: Callable[[Event, str | None], list[Event]] = getattr(
            self, "_on_" + str(kind).replace(".", "_")
        )
        return handler(event, client_id)

    def echo_fast(self, message: str) -> str | None:
        """ECHO mode's fast path (``realtime_echo``): for an append in the relay's shape,
        the wire text of the delta :meth:`receive` would give, recorded as it records
        it; ``None`` for anything else (then hand ``message`` to :meth:`receive`)."""
        echoed = echo_wire(message) if self.config.echo else None
        if echoed is None:
            return None
        text, size = echoed
        self.events_received.append(APPEND)
        self.audio_bytes_received += size
        return text

    def step_response(self) -> tuple[list[Event], float] | None:
        """The next piece of the active response and its audio length in seconds.

        Returns None when no response is active. The last piece carries the closing
        events (``response.done`` …) and ends the response.
        """
        active = self._replies.active
        if active is None:
            return None
        if active.exhausted:
            return self._finish("completed"), 0.0
        events, seconds = self._replies.step()
        if active.audio and self._deferred:
            # Quirk of real sessions: the user's transcript lands mid-reply.
            events.extend(self._deferred)
            self._deferred = []
        return events, seconds

    def tick(self, now: float) -> list[Event]:
        """Advance wall-clock behaviour (idle nudges) to ``now`` (seconds, monotonic)."""
        timeout_ms = self._idle_timeout_ms()
        if not self._idle_armed or timeout_ms is None or self._replies.active is not None or self._vad.speaking:
            self._idle_since = None
            return []
        if self._idle_since is None:
            self._idle_since = now
            return []
        if (now - self._idle_since) * 1000 < timeout_ms:
            return []
        self._idle_armed = False
        self._idle_since = None
        item_id = new_id("item")
        position = self._vad.position_ms
        events = [new_event(
            "input_audio_buffer.timeout_triggered",
            audio_start_ms=max(0, position - timeout_ms), audio_end_ms=position, item_id=item_id,
        )]
        events += self._commit(item_id, nudge=True)
        return events

    # ------------------------------------------------------------------ client events

    def _on_session_update(self, event: Event, client_id: str | None) -> list[Event]:
        try:
            self.session = apply_session_update(self.session, event.get("session"))
        except SessionConfigError as exc:
            return [exc.error.event(client_id)]
        self._configure_vad()
        self._idle_armed = self._idle_timeout_ms() is not None
        return [new_event("session.updated", session=self.session)]

    def _on_input_audio_buffer_append(self, event: Event, client_id: str | None) -> list[Event]:
        audio = event.get("audio")
        try:
            if not isinstance(audio, str):
                raise ValueError
            pcm = base64.b64decode(audio, validate=True)
        except (ValueError, binascii.Error):
            return [errors.invalid_request(
                "Invalid 'audio'. Expected base64-encoded audio bytes.", param="audio"
            ).event(client_id)]
        self.audio_bytes_received += len(pcm)
        if self.config.echo:
            return [echo_delta(audio)]  # echo_fast is the fast path
        self._buffer += pcm
        if self._turn_detection() is None:
            self._vad.position_ms += len(pcm) // BYTES_PER_MS
            return []
        events: list[Event] = []
        for boundary in self._vad.feed(pcm):
            events += self._on_vad(boundary)
        if not self._vad.speaking:
            # Like the real server VAD, keep only the prefix padding while nobody speaks:
            # a long silent session must not grow the buffer (or the next turn) forever.
            keep = self._vad.prefix_padding_ms * BYTES_PER_MS
            if len(self._buffer) > keep:
                del self._buffer[: len(self._buffer) - keep]
        return events

    def _on_input_audio_buffer_commit(self, event: Event, client_id: str | None) -> list[Event]:
        buffered_ms = len(self._buffer) / BYTES_PER_MS
        if buffered_ms < _MIN_COMMIT_MS:
            return [errors.invalid_request(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{_MIN_COMMIT_MS}ms of audio, but buffer only has {buffered_ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
            ).event(client_id)]
        item_id = self._speech_item_id or new_id("item")
        self._speech_item_id = None
        self._vad.reset()
        return self._commit(item_id, nudge=False, auto_response=False)

    def _on_input_audio_buffer_clear(self, event: Event, client_id: str | None) -> list[Event]:
        self._buffer.clear()
        self._vad.reset()
        self._speech_item_id = None
        return [new_event("input_audio_buffer.cleared")]

    def _on_conversation_item_create(self, event: Event, client_id: str | None) -> list[Event]:
        raw = event.get("item")
        if not isinstance(raw, dict) or raw.get("type") not in ("message", "function_call", "function_call_output"):
            return [errors.invalid_request(
                "Invalid 'item': expected an object whose type is 'message', 'function_call' "
                "or 'function_call_output'.", param="item",
            ).event(client_id)]
        role = raw.get("role")
        if raw["type"] == "message" and role not in ("user", "assistant", "system"):
            return [errors.invalid_request(
                f"Invalid value: '{role}'. Supported values are: 'user', 'assistant' and 'system'.",
                param="item.role",
            ).event(client_id)]
        content = raw.get("content", [])
        if not isinstance(content, list) or not all(isinstance(p, dict) for p in content):
            return [errors.invalid_request(
                "Invalid 'item.content': expected an array of objects.", code="invalid_type",
                param="item.content",
            ).event(client_id)]
        previous = event.get("previous_item_id")
        if previous is not None and previous != "root" and self._find(previous) is None:
            return [errors.invalid_request(
                f"Previous item with id '{previous}' not found.", param="previous_item_id",
            ).event(client_id)]
        if previous is None:
            previous = self.items[-1].id if self.items else None
        elif previous == "root":
            previous = None
        text = " ".join(
            str(part.get("text") or part.get("transcript") or "") for part in content
        ).strip()
        audio_ms = 0
        for part in content:
            if isinstance(part.get("audio"), str):
                try:
                    audio_ms += len(base64.b64decode(part["audio"], validate=True)) // BYTES_PER_MS
                except (ValueError, binascii.Error):
                    return [errors.invalid_request(
                        "Invalid 'item.content.audio'. Expected base64-encoded audio bytes.",
                        param="item.content.audio",
                    ).event(client_id)]
        item = ConversationItem(
            id=str(raw.get("id") or new_id("item")),
            type=raw["type"],
            role=role,
            content=[dict(p) for p in content],
            previous_item_id=previous,
            transcript=text,
            audio_ms=audio_ms,
            created_by_client=True,
        )
        self.items.append(item)
        if not self.responses and item.type == "message":
            self._carried_over.add(item.id)
        return self._item_added_done(item)

    def _on_conversation_item_retrieve(self, event: Event, client_id: str | None) -> list[Event]:
        item = self._find(event.get("item_id"))
        if item is None:
            return [self._no_item(event.get("item_id")).event(client_id)]
        return [new_event("conversation.item.retrieved", item=item.as_json())]

    def _on_conversation_item_delete(self, event: Event, client_id: str | None) -> list[Event]:
        item = self._find(event.get("item_id"))
        if item is None:
            return [self._no_item(event.get("item_id")).event(client_id)]
        self.items.remove(item)
        return [new_event("conversation.item.deleted", item_id=item.id)]

    def _on_conversation_item_truncate(self, event: Event, client_id: str | None) -> list[Event]:
        item = self._find(event.get("item_id"))
        end_ms = event.get("audio_end_ms")
        if item is None:
            return [self._no_item(event.get("item_id")).event(client_id)]
        if isinstance(end_ms, bool) or not isinstance(end_ms, int) or end_ms < 0:
            return [errors.invalid_request(
                "Invalid 'audio_end_ms': expected a non-negative integer.", param="audio_end_ms",
            ).event(client_id)]
        if item.role != "assistant" or item.audio_ms == 0:
            return [errors.invalid_request(
                f"Only assistant messages with audio can be truncated; item '{item.id}' has none.",
                param="item_id",
            ).event(client_id)]
        if end_ms > item.audio_ms:
            # The relay bug the product guards against: truncating past the audio sent.
            return [errors.invalid_request(
                f"Audio content of {item.audio_ms}ms is already shorter than {end_ms}ms",
                param="audio_end_ms",
            ).event(client_id)]
        item.audio_ms = end_ms
        # The real server drops the transcript of a truncated item (it no longer matches).
        item.transcript = ""
        for part in item.content:
            if "transcript" in part:
                part["transcript"] = ""
        return [new_event(
            "conversation.item.truncated", item_id=item.id,
            content_index=event.get("content_index", 0), audio_end_ms=end_ms,
        )]

    def _on_response_create(self, event: Event, client_id: str | None) -> list[Event]:
        params = event.get("response") or {}
        if not isinstance(params, dict):
            return [errors.invalid_request(
                "Invalid 'response': expected an object.", code="invalid_type", param="response"
            ).event(client_id)]
        if self._replies.active is not None:
            return [errors.invalid_request(
                "Conversation already has an active response in progress: "
                f"{self._replies.active.record.response_id}. Wait until the response is finished "
                "before creating a new one.",
                code="conversation_already_has_active_response",
            ).event(client_id)]
        instructions = params.get("instructions")
        modalities = params.get("output_modalities")
        return self._start_response(
            instructions if isinstance(instructions, str) else None,
            modalities if isinstance(modalities, list) else None,
            client_id,
        )

    def _on_response_cancel(self, event: Event, client_id: str | None) -> list[Event]:
        wanted = event.get("response_id")
        active = self._replies.active
        if active is None or (wanted is not None and wanted != active.record.response_id):
            return [errors.invalid_request(
                "Cancellation failed: no active response found", code="response_cancel_not_active"
            ).event(client_id)]
        return self._finish("cancelled", {"type": "cancelled", "reason": "client_cancelled"})

    def _on_output_audio_buffer_clear(self, event: Event, client_id: str | None) -> list[Event]:
        response_id = self._replies.active.record.response_id if self._replies.active else None
        return [new_event("output_audio_buffer.cleared", response_id=response_id)]

    # ------------------------------------------------------------------ internals

    def _turn_detection(self) -> dict[str, Any] | None:
        td = self.session.get("audio", {}).get("input", {}).get("turn_detection")
        return td if isinstance(td, dict) else None

    def _idle_timeout_ms(self) -> int | None:
        td = self._turn_detection()
        if not self.config.idle_nudges or td is None or td.get("type") != "server_vad":
            return None
        value = td.get("idle_timeout_ms")
        return int(value) if isinstance(value, int | float) else None

    def _configure_vad(self) -> None:
        td = self._turn_detection()
        if td is None:
            return
        if td.get("type") == "semantic_vad":
            silence = _SEMANTIC_SILENCE_MS.get(str(td.get("eagerness", "auto")), 500)
            self._vad.threshold, self._vad.prefix_padding_ms = 0.5, 300
        else:
            silence = int(td.get("silence_duration_ms", 200))
            self._vad.threshold = float(td.get("threshold", 0.5))
            self._vad.prefix_padding_ms = int(td.get("prefix_padding_ms", 300))
        self._vad.silence_duration_ms = silence

    def _transcription_enabled(self) -> bool:
        tr = self.session.get("audio", {}).get("input", {}).get("transcription")
        return isinstance(tr, dict)

    def _find(self, item_id: Any) -> ConversationItem | None:
        return next((item for item in self.items if item.id == item_id), None)

    @staticmethod
    def _no_item(item_id: Any) -> FakeError:
        return errors.invalid_request(
            f"Conversation item with id '{item_id}' not found.", code="item_not_found", param="item_id"
        )

    def _on_vad(self, boundary: VadEvent) -> list[Event]:
        td = self._turn_detection() or {}
        if boundary.kind == "started":
            self._speech_item_id = new_id("item")
            self._idle_armed = False
            self._idle_since = None
            events = [new_event(
                "input_audio_buffer.speech_started",
                audio_start_ms=boundary.ms, item_id=self._speech_item_id,
            )]
            if self._replies.active is not None and td.get("interrupt_response", True):
                events += self._finish("cancelled", {"type": "cancelled", "reason": "turn_detected"})
            return events
        item_id = self._speech_item_id or new_id("item")
        self._speech_item_id = None
        events = [new_event("input_audio_buffer.speech_stopped", audio_end_ms=boundary.ms, item_id=item_id)]
        return events + self._commit(item_id, nudge=False, auto_response=bool(td.get("create_response", True)))

    def _commit(self, item_id: str, *, nudge: bool, auto_response: bool = True) -> list[Event]:
        pcm = bytes(self._buffer)
        self._buffer.clear()
        previous = self.items[-1].id if self.items else None
        item = ConversationItem(
            id=item_id,
            type="message",
            role="user",
            content=[{"type": "input_audio", "transcript": None}],
            previous_item_id=previous,
            audio_ms=len(pcm) // BYTES_PER_MS,
        )
        self.items.append(item)
        events = [new_event("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)]
        events += self._item_added_done(item)
        transcript = self._transcribe(pcm, nudge)
        item.transcript = transcript
        item.content[0]["transcript"] = transcript
        if not nudge and transcript:
            self._user_turns += 1
            self.user_transcripts.append(transcript)
        transcription = self._transcription_events(item_id, transcript, len(pcm))
        td = self._turn_detection()
        respond = auto_response and (nudge or td is not None) and self._replies.active is None
        if respond and self.config.late_transcription and self.session.get("output_modalities") == ["audio"]:
            self._deferred = transcription
            events += self._start_response(None, None, None)
            if self._replies.active is None:  # no reply after all (e.g. rate limited): no reason to wait
                events += self._deferred
                self._deferred = []
            return events
        events += transcription
        if respond:
            events += self._start_response(None, None, None)
        return events

    def _transcribe(self, pcm: bytes, nudge: bool) -> str:
        # An idle nudge or a buffer with no speech in it has nothing to transcribe.
        if nudge or not has_speech(pcm, float((self._turn_detection() or {}).get("threshold", 0.5))):
            return ""
        if self.config.transcriber is not None:
            return self.config.transcriber(self._view(None))
        if self._script_index < len(self.config.transcripts):
            text = self.config.transcripts[self._script_index]
            self._script_index += 1
            return text
        self._script_index += 1
        return default_transcript(self._script_index - 1)

    def _transcription_events(self, item_id: str, transcript: str, pcm_bytes: int) -> list[Event]:
        if not self._transcription_enabled():
            return []
        events: list[Event] = []
        words = transcript.split(" ") if transcript else []
        for i in range(0, len(words), 3):
            piece = " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "")
            events.append(new_event(
                "conversation.item.input_audio_transcription.delta",
                item_id=item_id, content_index=0, delta=piece,
            ))
        audio_tokens = pcm_bytes // BYTES_PER_MS // 100
        text_tokens = math.ceil(len(transcript) / 4)
        events.append(new_event(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id, content_index=0, transcript=transcript,
            usage={
                "type": "tokens",
                "total_tokens": audio_tokens + text_tokens,
                "input_tokens": audio_tokens,
                "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
                "output_tokens": text_tokens,
            },
        ))
        return events

    def _item_added_done(self, item: ConversationItem) -> list[Event]:
        return [
            new_event("conversation.item.added", previous_item_id=item.previous_item_id, item=item.as_json()),
            new_event("conversation.item.done", previous_item_id=item.previous_item_id, item=item.as_json()),
        ]

    def _view(self, response_instructions: str | None) -> ConversationView:
        last_user = next((i for i in reversed(self.items) if i.role == "user"), None)
        return ConversationView(
            assistant_turns=len(self.responses),
            user_turns=self._user_turns,
            last_user_transcript=last_user.transcript if last_user else None,
            instructions=str(self.session.get("instructions", "")),
            response_instructions=response_instructions,
            history=tuple((i.role or i.type, i.transcript or "") for i in self.items),
            earlier_turns=tuple(
                (i.role or i.type, i.transcript or "")
                for i in self.items if i.id in self._carried_over
            ),
        )

    def _start_response(
        self, instructions: str | None, modalities: list[Any] | None, client_id: str | None
    ) -> list[Event]:
        if self.rate_limited:
            return [errors.rate_limit_exceeded(self.model, self.config.retry_after).event(client_id)]
        events = self._replies.start(self._view(instructions), self.session, self.items,
                                     modalities=modalities, client_id=client_id)
        if self._replies.active is not None:
            self._idle_armed = False
        return events

    def _finish(self, status: str, details: dict[str, Any] | None = None) -> list[Event]:
        events = self._replies.finish(status, details, self.session, self.items)
        if self._deferred:
            events = self._deferred + events
            self._deferred = []
        self._idle_armed = self._idle_timeout_ms() is not None
        self._idle_since = None
        return events
