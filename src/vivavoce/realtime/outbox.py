"""A bounded, two-lane send queue with one writer task: control outranks audio.

Each direction of the relay (to the browser, to OpenAI) has one. Control messages (JSON
events) always go before queued audio, so ``ai_audio_clear`` or ``interview_ended`` is
never stuck behind seconds of speech. Audio is bounded in bytes: above the high-water
mark :meth:`Outbox.put_audio` reports it (the browser side then drops the oldest audio
with :meth:`Outbox.shed_audio`: a client that cannot keep up) and :meth:`Outbox.wait_for_room` lets a producer pause until the queue
drains below the low-water mark (the upstream side pauses reading the browser).

Asyncio's own queues have neither priorities by lane nor byte limits, hence this class.
The writer's wake-up is one bare future, made only when both lanes are empty and resolved
by the next put: an ``asyncio.Event`` per message (its ``wait`` coroutine, its waiter list,
``set`` and ``clear``) cost about twice as much on the relay's hot path
(docs/performance.md, "The hot path (session 6)").
The lanes are lists, not deques: a deque is 760 bytes even when empty (its first block
of 64 slots), an empty list 56, and each interview holds four lanes that are empty or
nearly so while the peers keep up (docs/performance.md, "Memory at 200 (session 7)").
``pop(0)`` moves the rest of the list: ~0.1 µs more per chunk with none behind it, ~1 µs
with 5,000 behind (a peer 200 s behind on 40 ms chunks, past every shedding limit).

With ``write_audio_now`` (a synchronous write that says whether it could take the chunk
at once), audio put while the writer waits on two empty lanes is written by the caller
there and then: nothing is queued before it, so the order is the same, and the writer
task is not woken for it. Per echoed frame that was two task switches (one each way) of
the relay's ~80 µs (docs/performance.md, "On a quiet machine, 2026-12-05"). Whatever it
cannot take (a full write buffer, a closing socket) is queued as before, and the writer's
awaited send then waits or raises as it always did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from vivavoce.realtime.lightsync import Flag

__all__ = ["Outbox"]

A = TypeVar("A", str, bytes)


class Outbox(Generic[A]):
    """Control lane (str, small count limit) and audio lane (``A``, byte limit)."""

    def __init__(
        self,
        send_control: Callable[[str], Awaitable[None]],
        send_audio: Callable[[A], Awaitable[None]],
        *,
        audio_high_bytes: int,
        audio_low_bytes: int | None = None,
        control_limit: int = 1000,
        write_audio_now: Callable[[A], bool] | None = None,
    ) -> None:
        self._send_control = send_control
        self._send_audio: Callable[[A], Awaitable[None]] = send_audio
        self._write_audio_now: Callable[[A], bool] | None = write_audio_now
        self._control: list[str] = []
        self._audio: list[A] = []
        self.audio_bytes = 0
        self.audio_high_bytes = audio_high_bytes
        self.audio_low_bytes = audio_high_bytes // 2 if audio_low_bytes is None else audio_low_bytes
        self.control_limit = control_limit
        # The writer's wake-up: set only while it waits on two empty lanes.
        self._waiter: asyncio.Future[None] | None = None
        # Flags, not asyncio.Events: each event costs a 760-byte deque (realtime/lightsync.py).
        self._room = Flag()
        self._room.set()
        self._idle = Flag()
        self._idle.set()
        self.closed = False

    def put_control(self, text: str) -> bool:
        """Queue a control message. False when the lane is over its limit (the peer is
        not reading) or the outbox is closed."""
        if self.closed or len(self._control) >= self.control_limit:
            return False
        self._control.append(text)
        self._idle.clear()
        if self._waiter is not None:
            self._wake()
        return True

    def put_audio(self, chunk: A) -> bool:
        """Queue audio. False when the audio lane is above its high-water mark (the
        chunk is still queued) or the outbox is closed (it is dropped)."""
        if self.closed:
            return False
        if self._waiter is not None and self._write_audio_now is not None:
            # The writer waits on two empty lanes: nothing is ahead of this chunk.
            try:
                if self._write_audio_now(chunk):
                    return True
            except Exception:  # the writer's own send meets the failure, and raises it
                pass
        self._audio.append(chunk)
        self.audio_bytes += len(chunk)
        self._idle.clear()
        if self._waiter is not None:
            self._wake()
        if self.audio_bytes >= self.audio_high_bytes:
            self._room.clear()
            return False
        return True

    def shed_audio(self, keep_bytes: int) -> int:
        """Drop the oldest audio chunks until at most ``keep_bytes`` are queued (the newest
        chunk always stays); returns how many bytes were dropped. Control is untouched."""
        dropped = cut = 0
        audio = self._audio
        while self.audio_bytes - dropped > keep_bytes and cut < len(audio) - 1:
            dropped += len(audio[cut])
            cut += 1
        del audio[:cut]  # one move of the rest, not one per chunk dropped
        self.audio_bytes -= dropped
        if self.audio_bytes <= self.audio_low_bytes:
            self._room.set()
        return dropped

    def clear_audio(self) -> int:
        """Drop every queued audio chunk; returns how many bytes were dropped."""
        dropped = self.audio_bytes
        self._audio.clear()
        self.audio_bytes = 0
        self._room.set()
        if not self._control:
            self._idle.set()
        return dropped

    async def wait_for_room(self) -> None:
        """Return once the audio lane is below its low-water mark (or closed)."""
        while not self._room.is_set() and not self.closed:
            await self._room.wait()

    async def wait_idle(self) -> None:
        """Return once everything queued has been handed to the sender (or closed)."""
        while not self._idle.is_set() and not self.closed:
            await self._idle.wait()

    def close(self) -> None:
        """Stop: queued items are dropped and waiters released."""
        self.closed = True
        self._control.clear()
        self._audio.clear()
        self.audio_bytes = 0
        self._room.set()
        self._idle.set()
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run(self) -> None:
        """The writer: send until closed. Exceptions of the send callables propagate
        (the peer went away); the outbox is closed then."""
        loop = asyncio.get_running_loop()
        control, audio = self._control, self._audio
        try:
            while not self.closed:
                if control:
                    await self._send_control(control.pop(0))
                elif audio:
                    chunk = audio.pop(0)
                    self.audio_bytes -= len(chunk)
                    if self.audio_bytes <= self.audio_low_bytes:
                        self._room.set()
                    await self._send_audio(chunk)
                    # Not kept while the writer waits for the next one (a frame per
                    # interview and direction).
                    del chunk
                else:
                    self._idle.set()
                    self._waiter = waiter = loop.create_future()
                    await waiter
        finally:
            self.close()
