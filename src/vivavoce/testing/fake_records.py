"""What the fake OpenAI server observed, for tests to assert on.

Keys are never stored: only OpenAI's own mask of them and a short fingerprint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from vivavoce.testing.scenarios import openai_masked_key

__all__ = [
    "RealtimeSessionRecord",
    "ResponseRecord",
    "RestRequestRecord",
    "StallRecord",
    "key_fingerprint",
    "masked_or_none",
]


def key_fingerprint(key: str | None) -> str | None:
    """First 8 hex of the key's SHA-256 (compare keys without holding them)."""
    if not key:
        return None
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def masked_or_none(key: str | None) -> str | None:
    """OpenAI-style mask of ``key``, or None when no key was sent."""
    return openai_masked_key(key) if key else None


@dataclass
class RestRequestRecord:
    """One REST request the fake answered."""

    method: str
    path: str
    key_masked: str | None
    key_fingerprint: str | None
    organization: str | None
    project: str | None
    beta: str | None
    user_agent: str | None
    status: int = 0
    request_id: str = ""


@dataclass
class ResponseRecord:
    """One assistant response made in a Realtime session."""

    response_id: str
    item_id: str
    text: str
    status: str = "in_progress"
    audio_ms: int = 0
    usage: dict[str, Any] | None = None


@dataclass
class StallRecord:
    """One stall of a Realtime socket, in ``time.monotonic()`` (``ended`` None: ongoing)."""

    started: float
    ended: float | None = None


@dataclass
class RealtimeSessionRecord:
    """One Realtime WebSocket connection and everything observed on it."""

    key_masked: str | None
    key_fingerprint: str | None
    model: str | None
    headers: dict[str, str]
    accepted: bool = False
    rejected_status: int | None = None
    events_received: list[str] = field(default_factory=list)
    events_sent: list[str] = field(default_factory=list)
    audio_bytes_received: int = 0
    session_config: dict[str, Any] = field(default_factory=dict)
    responses: list[ResponseRecord] = field(default_factory=list)
    user_transcripts: list[str] = field(default_factory=list)
    # The candidate's non-empty transcripts whose ``…transcription.completed`` event went
    # out on the socket, in order (``user_transcripts`` also holds those a fault or the
    # client's close kept from being sent).
    transcripts_sent: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str | None = None
    closed_by: str | None = None  # "server" or "client"
    dropped: bool = False  # the fake aborted the TCP connection (close_code 1006)
    # Whether everything sent before the drop had reached the client's TCP stack when the
    # connection was aborted (None: no drop, or not measurable on this platform).
    drop_flushed: bool | None = None
    stalls: list[StallRecord] = field(default_factory=list)
