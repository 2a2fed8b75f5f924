"""A Python WebRTC client (aiortc) for the fake's calls, confined to loopback.

It plays the browser's part: a microphone track (PCM the test queues, else silence), the
``oai-events`` data channel, and the remote track read frame by frame with its energy
measured, so a test can tell that the greeting was *heard*.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from array import array
from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from vivavoce.testing.fake_audio import BYTES_PER_MS, synthesize_speech
from vivavoce.testing.webrtc_loopback import loopback_configuration, loopback_only_sdp
from vivavoce.testing.webrtc_media import PacedPcmTrack

__all__ = ["WebRtcClient", "speech"]

_RATE = 24_000
_FRAME_SAMPLES = 480
# A received 20 ms frame this loud counts as heard audio (Opus silence decodes to ~0).
_LOUD_RMS = 500.0
WAIT_S = 15.0


def speech(text: str, ms_per_char: int = 30, tail_ms: int = 900) -> bytes:
    """The fake's own synthetic voice saying ``text``, then quiet (ends a VAD turn)."""
    return b"".join(pcm for _, pcm in synthesize_speech(text, ms_per_char)) + bytes(tail_ms * BYTES_PER_MS)


class _Microphone(PacedPcmTrack):
    """PCM16 24 kHz mono queued by the test, at real-time pace; silence otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.pending = bytearray()

    def take(self, size: int) -> bytes:
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data


class WebRtcClient:
    """One browser-like peer. Use as ``async with WebRtcClient() as client``."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(loopback_configuration())
        self.microphone = _Microphone()
        self.pc.addTrack(self.microphone)
        self.channel = self.pc.createDataChannel("oai-events")
        self.events: list[dict[str, Any]] = []
        self.frames_received = 0
        self.loud_frames = 0
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.channel.on("message", self._on_message)
        self.channel.on("open", self._changed.set)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._changed.set)

    async def __aenter__(self) -> WebRtcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return loopback_only_sdp(self.pc.localDescription.sdp)

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(loopback_only_sdp(answer_sdp), "answer"))

    def say(self, pcm: bytes) -> None:
        self.microphone.pending += pcm

    def send(self, event: dict[str, Any]) -> None:
        self.channel.send(json.dumps(event))

    def types(self) -> list[str]:
        return [str(e.get("type")) for e in self.events]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    async def until(self, check: Callable[[], bool], timeout: float = WAIT_S) -> None:
        """Wait until ``check()`` holds (re-checked on every event, frame or state change)."""
        async with asyncio.timeout(timeout):
            while not check():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.2)

    async def event(self, kind: str, count: int = 1, timeout: float = WAIT_S) -> dict[str, Any]:
        """The ``count``-th event of ``kind`` on the data channel (waits for it)."""
        await self.until(lambda: len(self.of(kind)) >= count, timeout)
        return self.of(kind)[count - 1]

    async def connected(self) -> None:
        await self.until(lambda: self.pc.connectionState == "connected" and self.channel.readyState == "open")

    def _on_message(self, message: str | bytes) -> None:
        self.events.append(json.loads(message))
        self._changed.set()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._tasks.append(asyncio.ensure_future(self._listen(track)))

    async def _listen(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            samples = array("h", bytes(frame.planes[0])[: frame.samples * 2 * len(frame.layout.channels)])  # type: ignore[attr-defined]
            level = math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0
            self.frames_received += 1
            if level >= _LOUD_RMS:
                self.loud_frames += 1
            self._changed.set()
