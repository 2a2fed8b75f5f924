"""The browser's messages, checked: text to a message (or the ``error`` to answer with),
and candidate audio to base64 of a whole number of samples (or the ``error``).

The core acts on what these return; every check of what a browser may send lives here
(see docs/protocol.md, "Client → server"). Pure, and never raises for any input.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from vivavoce.interview import browser_messages

__all__ = ["Audio", "Rejected", "StartBuffer", "bad_message", "check_audio_chunk", "check_pcm",
           "parse_text", "play_head_ms", "start_refusal", "unknown_message"]

@dataclass(frozen=True, slots=True)
class Rejected:
    """What the browser sent is refused: answer with this non-fatal ``error``."""

    error: dict[str, Any]


Audio = tuple[str, int]
"""Candidate audio as (base64 text, decoded size in bytes)."""


def bad_message(text: str, code: str = "bad_message") -> Rejected:
    return Rejected(browser_messages.error(code, text, fatal=False))


def parse_text(text: str) -> dict[str, Any] | Rejected:
    """The message as a dict with a string ``type``, or why it is refused."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return bad_message("The message is not valid JSON.")
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return bad_message('Each message must be a JSON object with a "type".')
    return message


def _frame_too_large(size: int, max_frame_bytes: int) -> Rejected:
    return bad_message(f"Audio frames must be at most {max_frame_bytes} bytes; "
                       f"this one had {size}.", "audio_frame_too_large")


def _odd(size: int) -> Rejected:
    # OpenAI joins appended audio byte by byte: half a sample would shift every later
    # sample by one byte and turn the rest of the candidate's speech into noise.
    return bad_message(f"Audio must be PCM16 (two bytes a sample); this frame had {size} "
                       "bytes.", "bad_audio")


def check_pcm(pcm: bytes, max_frame_bytes: int) -> Audio | Rejected:
    """A binary frame (PCM16 24 kHz mono), encoded once for the Realtime API."""
    if len(pcm) > max_frame_bytes:
        return _frame_too_large(len(pcm), max_frame_bytes)
    if len(pcm) % 2:
        return _odd(len(pcm))
    return base64.b64encode(pcm).decode("ascii"), len(pcm)


def check_audio_chunk(audio: Any, max_frame_bytes: int) -> Audio | Rejected:
    """``audio_chunk``'s base64, decoded only to check it and count its length: the text
    itself goes upstream as it came (the Realtime API wants base64 too)."""
    if not isinstance(audio, str) or not audio:
        return bad_message('"audio_chunk" needs "audio": base64 PCM16.', "bad_audio")
    if len(audio) > (max_frame_bytes * 4) // 3 + 4:
        return _frame_too_large(len(audio) * 3 // 4, max_frame_bytes)
    try:
        size = len(binascii.a2b_base64(audio, strict_mode=True))
    except (binascii.Error, ValueError):
        return bad_message('"audio" is not valid base64.', "bad_audio")
    if size % 2:
        return _odd(size)
    return audio, size


class StartBuffer:
    """Candidate audio sent while the interview starts: kept (the newest, up to
    ``max_bytes``; the oldest goes first) and sent once the session is configured.

    A list, not a deque: every interview holds its buffer to the end, empty once started,
    and an empty deque keeps its 64-slot block (~0.7 KB), an empty list 56 bytes
    (realtime/outbox.py says the same of its lanes). The oldest are cut in one slice."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._chunks: list[Audio] = []
        self._bytes = 0
        self.dropped_bytes = 0

    def add(self, audio: Audio) -> None:
        chunks = self._chunks
        chunks.append(audio)
        self._bytes += audio[1]
        if self._bytes > self.max_bytes:
            cut = 0
            while self._bytes > self.max_bytes and cut < len(chunks):
                dropped = chunks[cut][1]
                self._bytes -= dropped
                self.dropped_bytes += dropped
                cut += 1
            del chunks[:cut]

    def take(self) -> list[str]:
        """Everything kept, oldest first (base64), and empty the buffer."""
        chunks = [chunk for chunk, _ in self._chunks]
        self.clear()
        return chunks

    def clear(self) -> None:
        self._chunks.clear()
        self._bytes = 0


def start_refusal(idle: bool, context: Any) -> Rejected | None:
    """Why a ``start_interview`` cannot be taken (already started, a context that is not
    an object), or None."""
    if not idle:
        return bad_message("The interview has already started.", "already_started")
    if context is not None and not isinstance(context, dict):
        return bad_message('"candidateContext" must be an object.', "invalid_candidate_context")
    return None


def play_head_ms(ms: Any) -> float | Rejected:
    """A ``playback_position``'s ``ms``: a number >= 0 (not a bool, not NaN)."""
    if isinstance(ms, bool) or not isinstance(ms, int | float) or ms < 0 or ms != ms:
        return bad_message('"playback_position" needs "ms": a number >= 0.')
    return float(ms)


def unknown_message(kind: str) -> Rejected:
    return bad_message(f"Unknown message type {kind[:40]!r}.", "unknown_message")
