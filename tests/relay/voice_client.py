"""A browser-side protocol client for /voice, over a real socket (``websockets``).

It keeps everything it received: JSON messages in ``messages`` (in order) and AI audio
in ``audio``. ``until(type)`` reads until a message of that type arrives; its timeout
only stops a broken test from hanging (no test asserts on time).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from vivavoce.testing.fake_audio import tone

__all__ = ["BYTES_PER_MS", "CONTEXT", "VoiceClient", "silence", "speech", "voice_client"]

BYTES_PER_MS = 48
CONTEXT = {
    "name": "Ada Example",
    "major": "Computer Science",
    "year": "3rd year",
    "skills": ["Python", "SQL"],
    "experience": "Intern at a small robotics company, built a telemetry dashboard.",
}
HANG_GUARD_S = 20.0


def speech(ms: int) -> bytes:
    """Loud enough for the fake's energy VAD to hear as speech."""
    return tone(ms, amplitude=8000)


def silence(ms: int) -> bytes:
    return bytes(ms * BYTES_PER_MS)


class VoiceClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.audio = bytearray()
        self.audio_frames = 0
        self.closed_code: int | None = None

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    def types(self) -> list[str]:
        return [str(m.get("type")) for m in self.messages]

    async def receive_one(self) -> dict[str, Any] | bytes:
        data = await asyncio.wait_for(self.ws.recv(), HANG_GUARD_S)
        if isinstance(data, bytes):
            self.audio += data
            self.audio_frames += 1
            return data
        message = json.loads(data)
        self.messages.append(message)
        return message

    async def until(self, kind: str) -> dict[str, Any]:
        """Read until a JSON message of type ``kind``; return it."""
        while True:
            message = await self.receive_one()
            if isinstance(message, dict) and message.get("type") == kind:
                return message

    async def until_closed(self) -> int | None:
        """Read everything until the server closes; return the close code."""
        try:
            while True:
                await self.receive_one()
        except ConnectionClosed as exc:
            self.closed_code = exc.rcvd.code if exc.rcvd else None
        return self.closed_code

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def start(self, context: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.send_json({"type": "start_interview", "candidateContext": context or CONTEXT})
        return await self.until("interview_started")

    async def send_audio(self, pcm: bytes, *, chunk_ms: int = 100, base64_json: bool = False) -> None:
        step = chunk_ms * BYTES_PER_MS
        for i in range(0, len(pcm), step):
            chunk = pcm[i : i + step]
            if base64_json:
                await self.send_json({"type": "audio_chunk",
                                      "audio": base64.b64encode(chunk).decode()})
            else:
                await self.ws.send(chunk)

    async def until_audio(self, ms: int) -> None:
        """Read until at least ``ms`` of AI audio has arrived (control messages outrank
        audio, so ``usage`` can arrive before the last frames of a reply)."""
        while len(self.audio) < ms * BYTES_PER_MS:
            await self.receive_one()

    async def played_everything(self) -> None:
        """Report the play head at the end of the audio received so far."""
        await self.send_json({"type": "playback_position", "ms": len(self.audio) / BYTES_PER_MS})

    async def say(self, ms: int = 600, *, base64_json: bool = False) -> None:
        """One candidate turn: speech, then enough silence to end it."""
        await self.send_audio(speech(ms) + silence(1000), base64_json=base64_json)


@asynccontextmanager
async def voice_client(
    url: str, *, refused: bool = False, **kwargs: Any
) -> AsyncIterator[VoiceClient]:
    """A connected client; ``refused=True`` when the server is expected to answer the
    connection with an error instead of ``connected``."""
    async with connect(url, max_size=16 * 1024 * 1024, open_timeout=HANG_GUARD_S,
                       **kwargs) as ws:
        client = VoiceClient(ws)
        if not refused:
            hello = await client.receive_one()
            assert isinstance(hello, dict) and hello["type"] == "connected", hello
        yield client
