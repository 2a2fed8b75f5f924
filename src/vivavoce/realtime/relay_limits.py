"""Per-connection bounds of the relay (adapter side; the interview's own are in
``interview/time_limits.Limits``). Re-exported by ``realtime/relay.py``."""

from __future__ import annotations

from dataclasses import dataclass

from vivavoce.interview.playback import BYTES_PER_MS

__all__ = ["RelayLimits"]


@dataclass(frozen=True)
class RelayLimits:
    """Per-connection bounds (adapter side; the interview's own are in ``Limits``)."""

    # AI audio queued for the browser (20 s) past which the oldest is dropped: the
    # browser cannot take it in real time. Above OpenAI's bursts (it sends a reply
    # faster than real time) to a browser whose link is only a little faster.
    browser_audio_shed_bytes: int = 20_000 * BYTES_PER_MS
    # Control messages queued for the browser before it counts as gone (client_too_slow).
    browser_control_limit: int = 1000
    # Candidate audio (base64 characters) queued for OpenAI before reading pauses (~4 s).
    upstream_audio_high_chars: int = 256 * 1024
    max_text_chars: int = 512 * 1024
    # Messages per second from one browser (the original client sends ~6 audio chunks a
    # second; a page with 20 ms frames sends 50).
    max_messages_per_s: int = 400
    tick_s: float = 1.0
    connect_timeout_s: float = 10.0
    # How long the browser gets to receive the last messages before its socket closes.
    flush_timeout_s: float = 2.0
    # How long pending database writes may take after the interview ended.
    db_drain_timeout_s: float = 10.0
    # After the browser left mid-answer: how long OpenAI's transcript of that answer is
    # waited for, so that what the candidate said is stored.
    answer_grace_s: float = 3.0
