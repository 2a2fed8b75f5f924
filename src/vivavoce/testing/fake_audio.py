"""Audio for the fake: energy-based voice activity detection and a synthetic voice.

PCM16 little-endian mono at 24 kHz throughout (the GA ``audio/pcm`` format): 48 bytes
per millisecond. Pure Python with the ``array`` module — numpy would be faster but is
not a dependency, and these loops are small (a 10 ms frame is 240 samples).
"""

from __future__ import annotations

import math
import operator
import sys
from array import array
from dataclasses import dataclass

__all__ = [
    "BYTES_PER_MS",
    "EnergyVad",
    "VadEvent",
    "has_speech",
    "pcm_ms",
    "rms",
    "synthesize_speech",
    "tone",
]

SAMPLE_RATE = 24_000
BYTES_PER_MS = SAMPLE_RATE * 2 // 1000
_FRAME_MS = 10
_FRAME_BYTES = _FRAME_MS * BYTES_PER_MS
# A VAD threshold of 1.0 maps to an RMS of 10 % of full scale; the default 0.5 is then
# about -26 dBFS: ordinary speech is above it, room noise well below.
_THRESHOLD_SCALE = 0.1 * 32768
# VAD reads every 4th sample (6 kHz): energy of voice-band audio survives that fine.
_STRIDE = 4


def _samples(pcm: bytes) -> array[int]:
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def _to_bytes(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def pcm_ms(pcm_length: int) -> int:
    """Duration in whole milliseconds of ``pcm_length`` bytes of PCM16 24 kHz."""
    return pcm_length // BYTES_PER_MS


def rms(pcm: bytes, stride: int = 1) -> float:
    """Root mean square of the samples in ``pcm`` (0 for empty input).

    ``stride`` > 1 looks at every n-th sample only: plenty for an energy estimate and
    n times cheaper, which matters when a benchmark drives hundreds of sessions.
    """
    samples = _samples(pcm)[::stride]
    if not samples:
        return 0.0
    return math.sqrt(sum(map(operator.mul, samples, samples)) / len(samples))


def has_speech(pcm: bytes, threshold: float = 0.5) -> bool:
    """True if any 10 ms frame of ``pcm`` is loud enough to count as speech."""
    limit = threshold * _THRESHOLD_SCALE
    return any(
        rms(pcm[i : i + _FRAME_BYTES], _STRIDE) >= limit for i in range(0, len(pcm), _FRAME_BYTES)
    )


@dataclass(frozen=True)
class VadEvent:
    """Speech started or stopped at ``ms`` (from the start of the session's audio)."""

    kind: str  # "started" | "stopped"
    ms: int


class EnergyVad:
    """Server-VAD stand-in: speech is a 10 ms frame whose RMS exceeds the threshold.

    Speech starts on the first loud frame and stops after ``silence_duration_ms`` of
    quiet frames; ``prefix_padding_ms`` moves the reported start earlier, as the real
    server does. Fed incrementally with any chunk size; the clock is the audio itself.
    """

    def __init__(self, threshold: float = 0.5, prefix_padding_ms: int = 300, silence_duration_ms: int = 200) -> None:
        self.threshold = threshold
        self.prefix_padding_ms = prefix_padding_ms
        self.silence_duration_ms = silence_duration_ms
        self.position_ms = 0
        self.speaking = False
        self._silence_ms = 0
        self._pending = b""

    def feed(self, pcm: bytes) -> list[VadEvent]:
        """Consume audio; return the speech boundaries it crossed, in order."""
        data = self._pending + pcm
        usable = len(data) - len(data) % _FRAME_BYTES
        self._pending = data[usable:]
        limit = self.threshold * _THRESHOLD_SCALE
        found: list[VadEvent] = []
        for offset in range(0, usable, _FRAME_BYTES):
            loud = rms(data[offset : offset + _FRAME_BYTES], _STRIDE) >= limit
            start_ms = self.position_ms
            self.position_ms += _FRAME_MS
            if loud:
                self._silence_ms = 0
                if not self.speaking:
                    self.speaking = True
                    found.append(VadEvent("started", max(0, start_ms - self.prefix_padding_ms)))
            elif self.speaking:
                self._silence_ms += _FRAME_MS
                if self._silence_ms >= self.silence_duration_ms:
                    self.speaking = False
                    self._silence_ms = 0
                    found.append(VadEvent("stopped", self.position_ms))
        return found

    def reset(self) -> None:
        """Forget any speech in progress (the input buffer was cleared)."""
        self.speaking = False
        self._silence_ms = 0
        self._pending = b""


def tone(ms: int, freq: float = 220.0, amplitude: int = 8000) -> bytes:
    """A plain sine tone: handy as 'speech' input in tests."""
    count = ms * SAMPLE_RATE // 1000
    step = 2 * math.pi * freq / SAMPLE_RATE
    return _to_bytes(array("h", (int(amplitude * math.sin(i * step)) for i in range(count))))


def _voiced_period(freq: float, amplitude: int) -> bytes:
    # One pitch period with a few harmonics: buzzy, vowel-like, cheap to repeat.
    n = max(1, round(SAMPLE_RATE / freq))
    values = (
        amplitude
        * (0.6 * math.sin(2 * math.pi * i / n) + 0.3 * math.sin(4 * math.pi * i / n) + 0.1 * math.sin(6 * math.pi * i / n))
        for i in range(n)
    )
    return _to_bytes(array("h", (int(v) for v in values)))


def synthesize_speech(text: str, ms_per_char: int = 60) -> list[tuple[str, bytes]]:
    """Deterministic speech-like PCM for ``text``: one (transcript piece, audio) per word.

    Each word is a voiced stretch at a pitch derived from the word, quieter at its
    edges, followed by a short pause; duration is proportional to the characters.
    """
    pieces: list[tuple[str, bytes]] = []
    words = text.split(" ")
    for index, word in enumerate(words):
        piece = word if index == len(words) - 1 else word + " "
        total_ms = max(_FRAME_MS, len(piece) * ms_per_char)
        voiced_ms = total_ms * 4 // 5
        freq = 110.0 + (sum(map(ord, word)) % 90)
        loud = _voiced_period(freq, 9000)
        soft = _voiced_period(freq, 3000)
        edge = min(40, voiced_ms // 4) * BYTES_PER_MS
        body = voiced_ms * BYTES_PER_MS - 2 * edge
        audio = (
            (soft * (edge // len(soft) + 1))[:edge]
            + (loud * (body // len(loud) + 1))[:body]
            + (soft * (edge // len(soft) + 1))[:edge]
            + b"\x00" * ((total_ms - voiced_ms) * BYTES_PER_MS)
        )
        pieces.append((piece, audio))
    return pieces
