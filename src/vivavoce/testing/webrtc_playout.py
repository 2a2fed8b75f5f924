"""Reply audio as a WebRTC call plays it: a real-time buffer, what was heard, and when.

Over WebRTC OpenAI plays the model's audio itself, so it knows what the user heard:
it reports ``output_audio_buffer.started/stopped`` and, on an interruption, cuts the
reply at the millisecond reached. :class:`Playout` keeps that account — which response
and item each queued byte belongs to, how much of each item was played — and
``webrtc_media.ReplyTrack`` is the aiortc track that plays it in real time (this module
imports no media library, so the fake starts fast). :class:`VirtualPlayout` is the media-free mode's
stand-in: the same account, consumed by the wall clock, with no frames at all (a
benchmark's hundreds of calls cannot afford 50 timer wake-ups a second each).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from vivavoce.testing.fake_audio import BYTES_PER_MS, SAMPLE_RATE

__all__ = ["Cut", "Playout", "VirtualPlayout"]



@dataclass(frozen=True)
class Cut:
    """What was playing when the buffer was cleared, and how much of it was heard."""

    response_id: str
    item_id: str
    played_ms: int


@dataclass
class _Segment:
    response_id: str
    item_id: str
    remaining: int  # bytes of PCM16 24 kHz still to play


class Playout:
    """The reply audio queued for playing; ``take`` plays it (see module docstring).

    ``on_started(response_id)`` fires when a response's audio starts; ``on_stopped``
    when all of it was played and the response has no more audio coming
    (:meth:`finish`). A cleared buffer fires neither (the caller reports the clear).
    """

    def __init__(
        self,
        on_started: Callable[[str], None],
        on_stopped: Callable[[str], None],
        *,
        keep_audio: bool = True,
    ) -> None:
        self.on_started = on_started
        self.on_stopped = on_stopped
        self._keep_audio = keep_audio
        self._pcm = bytearray()
        self._segments: deque[_Segment] = deque()
        self._played: dict[str, int] = {}
        self._finished: set[str] = set()
        self._current: str | None = None
        self._current_item: str | None = None
        self.buffered_bytes = 0
        self.played_bytes = 0

    @property
    def playing(self) -> bool:
        """True from a response's first audio until it stopped or was cleared."""
        return self._current is not None

    def push(self, response_id: str, item_id: str, pcm: bytes) -> None:
        """Queue ``pcm`` (PCM16 24 kHz) of ``item_id``, part of ``response_id``."""
        if not pcm:
            return
        if self._segments and self._segments[-1].item_id == item_id:
            self._segments[-1].remaining += len(pcm)
        else:
            self._segments.append(_Segment(response_id, item_id, len(pcm)))
        if self._keep_audio:
            self._pcm += pcm
        self.buffered_bytes += len(pcm)
        if self._current is None:
            self._start(response_id, item_id)

    def finish(self, response_id: str) -> None:
        """``response_id`` will queue no more audio (its ``response.done`` was sent)."""
        self._finished.add(response_id)
        self._check_drained()

    def take(self, size: int) -> bytes:
        """Play up to ``size`` bytes; returns them (empty bytes when not keeping audio)."""
        size = min(size, self.buffered_bytes)
        left = size
        while left > 0 and self._segments:
            head = self._segments[0]
            if head.response_id != self._current:
                self._stop_current()
                self._start(head.response_id, head.item_id)
            self._current_item = head.item_id
            step = min(left, head.remaining)
            head.remaining -= step
            left -= step
            self._played[head.item_id] = self._played.get(head.item_id, 0) + step
            if head.remaining == 0:
                self._segments.popleft()
        self.buffered_bytes -= size
        self.played_bytes += size
        data = b""
        if self._keep_audio:
            data = bytes(self._pcm[:size])
            del self._pcm[:size]
        self._check_drained()
        return data

    def played_ms(self, item_id: str) -> int:
        """How much of ``item_id``'s audio was played, in ms."""
        return self._played.get(item_id, 0) // BYTES_PER_MS

    def clear(self) -> Cut | None:
        """Drop all queued audio; return what was playing (None when nothing was)."""
        response_id, item_id = self._current, self._current_item
        self._segments.clear()
        self._pcm.clear()
        self.buffered_bytes = 0
        self._current = self._current_item = None
        if response_id is None or item_id is None:
            return None
        self._finished.add(response_id)
        return Cut(response_id, item_id, self.played_ms(item_id))

    def _start(self, response_id: str, item_id: str) -> None:
        self._current, self._current_item = response_id, item_id
        self.on_started(response_id)

    def _stop_current(self) -> None:
        if self._current is not None:
            stopped, self._current, self._current_item = self._current, None, None
            self.on_stopped(stopped)

    def _check_drained(self) -> None:
        if self._current is not None and not self._segments and self._current in self._finished:
            self._stop_current()


class VirtualPlayout(Playout):
    """A :class:`Playout` consumed by the wall clock instead of a media track."""

    def __init__(
        self,
        on_started: Callable[[str], None],
        on_stopped: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(on_started, on_stopped, keep_audio=False)
        self._clock = clock
        self._last = clock()
        self._timer: asyncio.TimerHandle | None = None

    def advance(self) -> None:
        """Play what the time since the last call allows."""
        now = self._clock()
        elapsed = now - self._last
        self._last = now
        if self.buffered_bytes:
            self.take(int(elapsed * SAMPLE_RATE) * 2)

    def push(self, response_id: str, item_id: str, pcm: bytes) -> None:
        self.advance()
        super().push(response_id, item_id, pcm)
        self._arm()

    def finish(self, response_id: str) -> None:
        self.advance()
        super().finish(response_id)
        self._arm()

    def clear(self) -> Cut | None:
        self.advance()
        return super().clear()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _arm(self) -> None:
        # One timer, due when the queued audio has played: then "stopped" can fire.
        if self._timer is not None:
            self._timer.cancel()
        if self.buffered_bytes:
            delay = self.buffered_bytes / (SAMPLE_RATE * 2) + 0.001
            self._timer = asyncio.get_running_loop().call_later(delay, self._due)

    def _due(self) -> None:
        self._timer = None
        self.advance()
        self._arm()
