"""GA session defaults, validation and merging (no sockets)."""

from __future__ import annotations

from typing import Any

import pytest

from vivavoce.testing.realtime_session import (
    SessionConfigError,
    apply_session_update,
    default_session,
)


def update(**fields: Any) -> dict[str, Any]:
    return apply_session_update(default_session("gpt-realtime"), {"type": "realtime", **fields})


def test_merge_keeps_what_was_not_mentioned() -> None:
    base = default_session("gpt-realtime")
    merged = apply_session_update(base, {"type": "realtime", "audio": {"output": {"speed": 1.2}}})
    assert merged["audio"]["output"] == {**base["audio"]["output"], "speed": 1.2}
    assert merged["audio"]["input"] == base["audio"]["input"]
    assert base["audio"]["output"]["speed"] == 1.0  # the input is not modified


def test_turn_detection_switch_null_and_partial_update() -> None:
    semantic = update(audio={"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}}})
    assert semantic["audio"]["input"]["turn_detection"] == {
        "type": "semantic_vad", "eagerness": "low", "create_response": True, "interrupt_response": True,
    }
    assert update(audio={"input": {"turn_detection": None}})["audio"]["input"]["turn_detection"] is None
    partial = update(audio={"input": {"turn_detection": {"type": "server_vad", "threshold": 0.7}}})
    assert partial["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 200
    assert partial["audio"]["input"]["turn_detection"]["threshold"] == 0.7


def test_accepts_the_fields_a_relay_sends() -> None:
    session = update(
        model="gpt-realtime-2.1",
        instructions="Interview the candidate.",
        output_modalities=["audio"],
        max_output_tokens=800,
        tools=[],
        tool_choice="auto",
        audio={
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-4o-mini-transcribe", "language": "en"},
                "noise_reduction": {"type": "near_field"},
                "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                                   "silence_duration_ms": 500, "idle_timeout_ms": None,
                                   "create_response": True, "interrupt_response": True},
            },
            "output": {"format": {"type": "audio/pcmu"}, "voice": "cedar", "speed": 1.0},
        },
    )
    assert session["model"] == "gpt-realtime-2.1"
    assert session["audio"]["output"]["format"] == {"type": "audio/pcmu"}


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        ("not an object", "invalid_type", "session"),
        ({"type": "transcription"}, "invalid_value", "session.type"),
        ({"type": "realtime", "output_modalities": ["audio", "text"]}, "invalid_value", "session.output_modalities"),
        ({"type": "realtime", "max_output_tokens": 0}, "integer_below_min_value", "session.max_output_tokens"),
        ({"type": "realtime", "instructions": 5}, "invalid_type", "session.instructions"),
        ({"type": "realtime", "audio": {"output": {"speed": 3}}}, "integer_above_max_value", "session.audio.output.speed"),
        ({"type": "realtime", "audio": {"output": {"speed": 0.1}}}, "decimal_below_min_value", "session.audio.output.speed"),
        ({"type": "realtime", "audio": {"input": {"noise_reduction": {"type": "loud"}}}}, "invalid_value", "session.audio.input.noise_reduction.type"),
        ({"type": "realtime", "audio": {"input": {"transcription": {"modle": "x"}}}}, "unknown_parameter", "session.audio.input.transcription.modle"),
        ({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "eagerness": "low"}}}}, "unknown_parameter", "session.audio.input.turn_detection.eagerness"),
        ({"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": "high"}}}}, "invalid_type", "session.audio.input.turn_detection.threshold"),
        ({"type": "realtime", "audio": {"voice": "alloy"}}, "unknown_parameter", "session.audio.voice"),
    ],
)
def test_rejections_name_the_parameter(session: Any, code: str, param: str) -> None:
    with pytest.raises(SessionConfigError) as caught:
        apply_session_update(default_session("gpt-realtime"), session)
    error = caught.value.error
    assert (error.type, error.code, error.param) == ("invalid_request_error", code, param)
