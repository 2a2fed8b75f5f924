"""WAV files the fake microphone plays (Chromium loops the file)."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

__all__ = ["write_speech_wav"]

RATE = 48_000


def write_speech_wav(
    path: Path, *, speech_s: float = 1.2, silence_before_s: float = 0.5, silence_after_s: float = 1.5
) -> Path:
    """A 48 kHz mono PCM16 WAV: silence, a loud voice-like burst, silence (one loop).

    The burst is a 180 Hz fundamental with harmonics and a slow tremolo at about -12 dBFS
    RMS, far above the fake server's energy VAD threshold (-26 dBFS), so each loop is one
    candidate "utterance" followed by enough silence for the VAD to close the turn.
    """
    frames = bytearray()

    def silence(seconds: float) -> None:
        frames.extend(b"\x00\x00" * int(RATE * seconds))

    silence(silence_before_s)
    n = int(RATE * speech_s)
    fade = int(RATE * 0.02)
    for i in range(n):
        t = i / RATE
        voice = sum(math.sin(2 * math.pi * 180 * k * t) / k for k in (1, 2, 3, 4))
        envelope = 0.75 + 0.25 * math.sin(2 * math.pi * 4 * t)
        ramp = min(1.0, i / fade, (n - i) / fade)
        value = 0.28 * voice * envelope * ramp
        frames.extend(struct.pack("<h", max(-32768, min(32767, int(value * 32767)))))
    silence(silence_after_s)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))
    return path
