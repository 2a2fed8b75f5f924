"""The fake Realtime session's replies: what the assistant says, piece by piece, and usage.

:class:`Replies` starts a response (asking the configured responder for the line), hands
out its pieces (text deltas, or transcript + synthetic audio deltas) and closes it with
the events and the token usage the real API sends. The conversation
(``realtime_conversation``) owns the items, the audio buffer and its VAD, and decides
*when* a response starts or ends; this module decides *what* it is. Deterministic.
"""

from __future__ import annotations

import base64
import logging
import math
from dataclasses import dataclass
from typing import Any

from vivavoce.testing.fake_audio import BYTES_PER_MS, synthesize_speech
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_errors import FakeError
from vivavoce.testing.fake_records import ResponseRecord
from vivavoce.testing.fake_voice_lines import default_responder
from vivavoce.testing.realtime_items import (
    ConversationItem,
    ConversationView,
    Event,
    new_event,
    new_id,
)

__all__ = ["Replies", "Reply"]

log = logging.getLogger("vivavoce.testing.fake_openai")


@dataclass
class Reply:
    """The response being generated."""

    record: ResponseRecord
    item: ConversationItem
    pieces: list[tuple[str, bytes]]
    audio: bool
    next_piece: int = 0
    spoken: str = ""
    audio_started: bool = False
    status_details: dict[str, Any] | None = None

    @property
    def exhausted(self) -> bool:
        """Every piece was handed out: what is left is closing it."""
        return self.next_piece >= len(self.pieces)


class Replies:
    """The assistant's responses in one session (at most one active)."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.responses: list[ResponseRecord] = []
        self.active: Reply | None = None
        self._last_usage: dict[str, int] | None = None

    def start(
        self,
        view: ConversationView,
        session: dict[str, Any],
        items: list[ConversationItem],
        *,
        modalities: list[Any] | None,
        client_id: str | None,
    ) -> list[Event]:
        """Start a response: the responder's line for ``view``, as a new assistant item
        appended to ``items``. A responder that raises becomes a ``server_error`` event."""
        responder = self.config.responder or default_responder
        try:
            text = str(responder(view)).strip()
        except Exception as exc:
            # A broken responder is a bug in the test that supplied it: report it in
            # the session (like a server error) and in the log, and keep the fake alive.
            log.exception("fake OpenAI responder failed")
            return [FakeError(500, "server_error", "responder_failed", f"The fake's responder failed: {exc!r}").event(client_id)]
        audio = (modalities or session.get("output_modalities") or ["audio"]) == ["audio"]
        response_id = new_id("resp")
        previous = items[-1].id if items else None
        item = ConversationItem(
            id=new_id("item"),
            type="message",
            role="assistant",
            content=[],
            previous_item_id=previous,
            transcript="",
            status="in_progress",
        )
        items.append(item)
        record = ResponseRecord(response_id=response_id, item_id=item.id, text=text)
        self.responses.append(record)
        if not text:
            pieces: list[tuple[str, bytes]] = []
        elif audio:
            pieces = synthesize_speech(text, self.config.speech_ms_per_char)
        else:
            words = text.split(" ")
            pieces = [(w if i == len(words) - 1 else w + " ", b"") for i, w in enumerate(words)]
        self.active = Reply(record, item, pieces, audio)
        part = {"type": "audio", "transcript": ""} if audio else {"type": "text", "text": ""}
        ids = {"response_id": response_id, "item_id": item.id, "output_index": 0, "content_index": 0}
        return [
            new_event("response.created", response=self._response_json(self.active, session, "in_progress")),
            new_event("response.output_item.added", response_id=response_id, output_index=0, item=item.as_json()),
            new_event("conversation.item.added", previous_item_id=previous, item=item.as_json()),
            new_event("response.content_part.added", **ids, part=part),
        ]

    def step(self) -> tuple[list[Event], float]:
        """The active response's next piece and its audio length in seconds. Call only
        while a response is active and not :attr:`Reply.exhausted`."""
        active = self.active
        assert active is not None and not active.exhausted
        piece_text, pcm = active.pieces[active.next_piece]
        active.next_piece += 1
        events: list[Event] = []
        ids = {
            "response_id": active.record.response_id,
            "item_id": active.item.id,
            "output_index": 0,
            "content_index": 0,
        }
        if not active.audio:
            active.spoken += piece_text
            events.append(new_event("response.output_text.delta", **ids, delta=piece_text))
            return events, 0.0
        if not active.audio_started:
            active.audio_started = True
            events.append(new_event("output_audio_buffer.started", response_id=active.record.response_id))
        active.spoken += piece_text
        events.append(new_event("response.output_audio_transcript.delta", **ids, delta=piece_text))
        events.append(new_event("response.output_audio.delta", **ids, delta=base64.b64encode(pcm).decode()))
        ms = len(pcm) // BYTES_PER_MS
        active.item.audio_ms += ms
        active.record.audio_ms += ms
        return events, ms / 1000

    def finish(
        self,
        status: str,
        details: dict[str, Any] | None,
        session: dict[str, Any],
        items: list[ConversationItem],
    ) -> list[Event]:
        """Close the active response (``completed``, ``cancelled``…): its closing
        events, ``response.done`` with usage, and the rate limits."""
        active = self.active
        assert active is not None
        self.active = None
        active.status_details = details
        item = active.item
        item.status = "completed" if status == "completed" else "incomplete"
        item.transcript = active.spoken
        response_id = active.record.response_id
        ids = {"response_id": response_id, "item_id": item.id, "output_index": 0, "content_index": 0}
        events: list[Event] = []
        if active.audio:
            part = {"type": "audio", "transcript": active.spoken}
            item.content = [{"type": "output_audio", "transcript": active.spoken}]
            events += [
                new_event("response.output_audio.done", **ids),
                new_event("response.output_audio_transcript.done", **ids, transcript=active.spoken),
            ]
        else:
            part = {"type": "text", "text": active.spoken}
            item.content = [{"type": "output_text", "text": active.spoken}]
            events.append(new_event("response.output_text.done", **ids, text=active.spoken))
        usage = self._usage(active, session, items)
        active.record.status = status
        active.record.usage = usage
        done_previous = "" if self.config.empty_previous_item_id_on_done else item.previous_item_id
        events += [
            new_event("response.content_part.done", **ids, part=part),
            new_event("response.output_item.done", response_id=response_id, output_index=0, item=item.as_json()),
            new_event("conversation.item.done", previous_item_id=done_previous, item=item.as_json()),
            new_event("response.done", response=self._response_json(active, session, status, usage)),
        ]
        if active.audio_started:
            events.append(new_event("output_audio_buffer.stopped", response_id=response_id))
        events.append(new_event("rate_limits.updated", rate_limits=[
            {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
            {"name": "tokens", "limit": 40000, "remaining": max(0, 40000 - usage["total_tokens"]),
             "reset_seconds": 0.5},
        ]))
        return events

    @staticmethod
    def _response_json(
        active: Reply, session: dict[str, Any], status: str, usage: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        audio_out = session.get("audio", {}).get("output", {})
        return {
            "id": active.record.response_id,
            "object": "realtime.response",
            "status": status,
            "status_details": active.status_details,
            "output": [active.item.as_json()] if status != "in_progress" else [],
            "conversation_id": "conv_fake",
            "output_modalities": ["audio"] if active.audio else ["text"],
            "max_output_tokens": session.get("max_output_tokens", "inf"),
            "audio": {"output": {"format": audio_out.get("format"), "voice": audio_out.get("voice")}},
            "usage": usage,
            "metadata": None,
        }

    def _usage(
        self, active: Reply, session: dict[str, Any], items: list[ConversationItem]
    ) -> dict[str, Any]:
        # Each response reads the whole conversation: instructions and text ~4 chars a
        # token, input audio 1 token per 100 ms, output audio 1 token per 50 ms.
        history = [i for i in items if i is not active.item]
        text_chars = len(str(session.get("instructions", ""))) + sum(
            len(i.transcript or "") for i in history if i.role != "user" or i.audio_ms == 0
        )
        in_text = math.ceil(text_chars / 4)
        in_audio = sum(i.audio_ms // 100 for i in history if i.role == "user")
        previous = self._last_usage or {"text": 0, "audio": 0}
        cached_text, cached_audio = min(previous["text"], in_text), min(previous["audio"], in_audio)
        self._last_usage = {"text": in_text, "audio": in_audio}
        out_text = math.ceil(len(active.spoken) / 4)
        # Billed as generated, even when a barge-in truncated the item afterwards.
        out_audio = active.record.audio_ms // 50
        return {
            "total_tokens": in_text + in_audio + out_text + out_audio,
            "input_tokens": in_text + in_audio,
            "output_tokens": out_text + out_audio,
            "input_token_details": {
                "text_tokens": in_text,
                "audio_tokens": in_audio,
                "image_tokens": 0,
                "cached_tokens": cached_text + cached_audio,
                "cached_tokens_details": {
                    "text_tokens": cached_text, "audio_tokens": cached_audio, "image_tokens": 0,
                },
            },
            "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
        }
