"""The fake's audio helpers: energy VAD and the synthetic voice."""

from __future__ import annotations

import pytest

from vivavoce.testing.fake_audio import (
    BYTES_PER_MS,
    EnergyVad,
    VadEvent,
    has_speech,
    pcm_ms,
    rms,
    synthesize_speech,
    tone,
)


def silence(ms: int) -> bytes:
    return b"\x00" * (ms * BYTES_PER_MS)


def test_rms_of_silence_and_tone() -> None:
    assert rms(b"") == 0.0
    assert rms(silence(10)) == 0.0
    assert 8000 * 0.6 < rms(tone(100, amplitude=8000)) < 8000 * 0.8  # a sine's RMS is A/√2
    assert has_speech(tone(50)) and not has_speech(silence(500))
    assert not has_speech(tone(100, amplitude=200))  # room noise is not speech


def test_vad_reports_start_with_padding_and_stop_after_silence() -> None:
    vad = EnergyVad(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=200)
    events = vad.feed(silence(1000) + tone(500) + silence(250))
    assert events == [VadEvent("started", 700), VadEvent("stopped", 1700)]
    assert not vad.speaking


@pytest.mark.parametrize("chunk_bytes", [2, 7 * BYTES_PER_MS + 2, 480, 4800, 10_000])
def test_vad_is_independent_of_chunking(chunk_bytes: int) -> None:
    audio = silence(400) + tone(300) + silence(150) + tone(200) + silence(600)
    whole = EnergyVad(silence_duration_ms=300).feed(audio)
    vad = EnergyVad(silence_duration_ms=300)
    pieces = [e for i in range(0, len(audio), chunk_bytes) for e in vad.feed(audio[i : i + chunk_bytes])]
    assert pieces == whole == [VadEvent("started", 100), VadEvent("stopped", 1350)]


def test_short_pause_does_not_end_the_turn_and_reset_forgets_speech() -> None:
    vad = EnergyVad(silence_duration_ms=500)
    assert [e.kind for e in vad.feed(tone(200) + silence(300) + tone(200))] == ["started"]
    vad.reset()
    assert not vad.speaking and vad.feed(silence(600)) == []


def test_synthetic_voice_is_deterministic_proportional_and_speech_like() -> None:
    text = "Tell me about a project you enjoyed."
    pieces = synthesize_speech(text, ms_per_char=60)
    assert pieces == synthesize_speech(text, ms_per_char=60)
    assert "".join(piece for piece, _ in pieces) == text
    total = b"".join(audio for _, audio in pieces)
    assert pcm_ms(len(total)) == len(text) * 60
    assert has_speech(total)
    # Different words get different pitches (not one monotonous tone).
    assert len({audio[: 48 * 50] for _, audio in pieces}) > 3
    # And the fake's own VAD hears it as one utterance ending after the silence.
    events = EnergyVad(silence_duration_ms=300).feed(total + silence(400))
    assert [e.kind for e in events] == ["started", "stopped"]
