"""The GA ``session.update`` event for one interview.

GA shape (OPENAI-FACTS.md): ``session.type = "realtime"``, ``output_modalities``,
``audio.input`` (format, transcription, turn detection) and ``audio.output`` (format,
voice). There is no ``temperature`` in GA. Server VAD defaults differ between models, so
the silence before the end of a turn is always set explicitly.
"""

from __future__ import annotations

from typing import Final, Literal

from openai.types.realtime import AudioTranscriptionParam, SessionUpdateEventParam
from openai.types.realtime.realtime_audio_input_turn_detection_param import (
    RealtimeAudioInputTurnDetectionParam,
)

__all__ = ["SAMPLE_RATE", "SILENCE_MS", "session_update"]

SAMPLE_RATE: Final = 24_000

# How long the candidate may pause before their turn ends. Interview answers have
# thinking pauses, so longer than the 200 ms gpt-realtime uses by default.
SILENCE_MS = 700


def _turn_detection(
    kind: Literal["server_vad", "semantic_vad"],
) -> RealtimeAudioInputTurnDetectionParam:
    if kind == "semantic_vad":
        # "low" eagerness: wait longer before deciding the candidate has finished.
        return {"type": "semantic_vad", "eagerness": "low", "create_response": True,
                "interrupt_response": True}
    return {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": SILENCE_MS,
        "create_response": True,
        "interrupt_response": True,
    }


def session_update(
    *,
    model: str,
    instructions: str,
    voice: str,
    transcription_model: str,
    turn_detection: Literal["server_vad", "semantic_vad"] = "server_vad",
    language: str | None = None,
    max_output_tokens: int | Literal["inf"] = 4096,
) -> SessionUpdateEventParam:
    """The ``session.update`` client event (the SDK's TypedDict: a plain dict, ready
    to send, whose shape mypy checks)."""
    transcription: AudioTranscriptionParam = {"model": transcription_model}
    if language:
        # The transcription model takes ISO-639-1 ("en" of "en-GB").
        transcription["language"] = language.split("-")[0].lower()
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "model": model,
            "instructions": instructions,
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                    "transcription": transcription,
                    "turn_detection": _turn_detection(turn_detection),
                    "noise_reduction": {"type": "near_field"},
                },
                "output": {
                    "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                    "voice": voice,
                },
            },
            "max_output_tokens": max_output_tokens,
        },
    }
