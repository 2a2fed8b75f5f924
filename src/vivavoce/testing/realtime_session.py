"""The GA Realtime session object: defaults, validation of ``session.update``, merging.

The allowed field names come from the installed ``openai`` SDK's request types, so the
fake accepts exactly what the GA interface accepts and rejects the rest the way the real
API does (``unknown_parameter``), e.g. ``temperature`` or a beta-shaped session.
"""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from openai.types.realtime.audio_transcription_param import AudioTranscriptionParam
from openai.types.realtime.realtime_audio_config_input_param import RealtimeAudioConfigInputParam
from openai.types.realtime.realtime_audio_config_output_param import (
    RealtimeAudioConfigOutputParam,
)
from openai.types.realtime.realtime_audio_config_param import RealtimeAudioConfigParam
from openai.types.realtime.realtime_audio_input_turn_detection_param import (
    SemanticVad,
    ServerVad,
)
from openai.types.realtime.realtime_session_create_request_param import (
    RealtimeSessionCreateRequestParam,
)

from vivavoce.testing.fake_errors import FakeError, invalid_request

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "SessionConfigError",
    "apply_session_update",
    "default_session",
    "default_turn_detection",
]

DEFAULT_INSTRUCTIONS = (
    "Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI. "
    "Act like a human, but remember that you aren't a human."
)

_SESSION_KEYS = frozenset(RealtimeSessionCreateRequestParam.__annotations__)
_AUDIO_KEYS = frozenset(RealtimeAudioConfigParam.__annotations__)
_INPUT_KEYS = frozenset(RealtimeAudioConfigInputParam.__annotations__)
_OUTPUT_KEYS = frozenset(RealtimeAudioConfigOutputParam.__annotations__)
_TRANSCRIPTION_KEYS = frozenset(AudioTranscriptionParam.__annotations__)
_VAD_KEYS = {
    "server_vad": frozenset(ServerVad.__annotations__),
    "semantic_vad": frozenset(SemanticVad.__annotations__),
}
_FORMATS = ("audio/pcm", "audio/pcmu", "audio/pcma")
_VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar",
)


class SessionConfigError(Exception):
    """A ``session.update`` (or client-secret session) the real API would reject."""

    def __init__(self, error: FakeError) -> None:
        super().__init__(error.message)
        self.error = error


def _fail(message: str, param: str, code: str = "invalid_value") -> SessionConfigError:
    return SessionConfigError(invalid_request(message, code=code, param=param))


def default_turn_detection(model: str, kind: str = "server_vad") -> dict[str, Any]:
    """Server VAD defaults; silence before end of speech differs by model (facts file)."""
    if kind == "semantic_vad":
        return {
            "type": "semantic_vad",
            "eagerness": "auto",
            "create_response": True,
            "interrupt_response": True,
        }
    silence = 500 if model.endswith("-mini") else 200
    return {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": silence,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }


def default_session(model: str) -> dict[str, Any]:
    """The session object ``session.created`` carries for a new connection."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_" + secrets.token_hex(11),
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "prompt": None,
        "truncation": "auto",
        "expires_at": int(time.time()) + 3600,
        "include": None,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": default_turn_detection(model),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
    }


def _check_object(value: Any, allowed: frozenset[str], path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(
            f"Invalid type for '{path}': expected an object, but got {type(value).__name__} instead.",
            path,
            "invalid_type",
        )
    for key in value:
        if key not in allowed:
            raise _fail(f"Unknown parameter: '{path}.{key}'.", f"{path}.{key}", "unknown_parameter")
    return value


def _check_format(value: Any, path: str) -> None:
    fmt = _check_object(value, frozenset({"type", "rate"}), path)
    if fmt.get("type") not in _FORMATS:
        raise _fail(
            f"Invalid value: '{fmt.get('type')}'. Supported values are: "
            + ", ".join(f"'{f}'" for f in _FORMATS) + ".",
            f"{path}.type",
        )
    if fmt.get("type") == "audio/pcm" and fmt.get("rate", 24000) != 24000:
        raise _fail("Invalid value: only 24000 Hz is supported for 'audio/pcm'.", f"{path}.rate")


def _check_number(value: Any, path: str, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"Invalid type for '{path}': expected a number, got {value!r}.", path, "invalid_type")
    kind = "integer" if isinstance(value, int) else "decimal"
    if value < low:
        raise _fail(f"Invalid '{path}': expected a value >= {low}, but got {value} instead.", path, f"{kind}_below_min_value")
    if value > high:
        raise _fail(f"Invalid '{path}': expected a value <= {high}, but got {value} instead.", path, f"{kind}_above_max_value")


def _merge_turn_detection(current: Any, update: Any, model: str, path: str) -> Any:
    if update is None:
        return None
    kind = _check_object(update, frozenset(_VAD_KEYS["server_vad"] | _VAD_KEYS["semantic_vad"]), path).get("type")
    if kind not in _VAD_KEYS:
        raise _fail(
            f"Invalid value: '{kind}'. Supported values are: 'server_vad' and 'semantic_vad'.",
            f"{path}.type",
        )
    _check_object(update, _VAD_KEYS[kind], path)
    if "threshold" in update:
        _check_number(update["threshold"], f"{path}.threshold", 0.0, 1.0)
    for name in ("prefix_padding_ms", "silence_duration_ms"):
        if name in update:
            _check_number(update[name], f"{path}.{name}", 0, 10_000)
    if update.get("idle_timeout_ms") is not None:
        _check_number(update["idle_timeout_ms"], f"{path}.idle_timeout_ms", 5_000, 30_000)
    base = current if isinstance(current, dict) and current.get("type") == kind else default_turn_detection(model, kind)
    return {**base, **update}


def _merge_input(current: dict[str, Any], update: Any, model: str, path: str) -> dict[str, Any]:
    update = _check_object(update, _INPUT_KEYS, path)
    merged = dict(current)
    if "format" in update:
        _check_format(update["format"], f"{path}.format")
        merged["format"] = {"rate": 24000, **update["format"]} if update["format"]["type"] == "audio/pcm" else dict(update["format"])
    if "transcription" in update:
        tr = update["transcription"]
        if tr is not None:
            _check_object(tr, _TRANSCRIPTION_KEYS, f"{path}.transcription")
        merged["transcription"] = tr
    if "noise_reduction" in update:
        nr = update["noise_reduction"]
        if nr is not None:
            _check_object(nr, frozenset({"type"}), f"{path}.noise_reduction")
            if nr.get("type") not in ("near_field", "far_field"):
                raise _fail(
                    "Invalid value. Supported values are: 'near_field' and 'far_field'.",
                    f"{path}.noise_reduction.type",
                )
        merged["noise_reduction"] = nr
    if "turn_detection" in update:
        merged["turn_detection"] = _merge_turn_detection(
            current.get("turn_detection"), update["turn_detection"], model, f"{path}.turn_detection"
        )
    return merged


def _merge_output(current: dict[str, Any], update: Any, path: str) -> dict[str, Any]:
    update = _check_object(update, _OUTPUT_KEYS, path)
    merged = dict(current)
    if "format" in update:
        _check_format(update["format"], f"{path}.format")
        merged["format"] = dict(update["format"])
    if "voice" in update:
        voice = update["voice"]
        if isinstance(voice, dict):
            voice = voice.get("id")
        if not isinstance(voice, str) or not voice:
            raise _fail("Invalid type for 'voice': expected a string.", f"{path}.voice", "invalid_type")
        if update["voice"] == voice and voice not in _VOICES:
            raise _fail(
                f"Invalid value: '{voice}'. Supported values are: "
                + ", ".join(f"'{v}'" for v in _VOICES) + ".",
                f"{path}.voice",
            )
        merged["voice"] = update["voice"]
    if "speed" in update:
        _check_number(update["speed"], f"{path}.speed", 0.25, 1.5)
        merged["speed"] = update["speed"]
    return merged


def apply_session_update(current: dict[str, Any], update: Any, *, path: str = "session") -> dict[str, Any]:
    """Validate ``update`` (the ``session`` of a ``session.update``) and merge it.

    Returns the new full session object; ``current`` is not modified.
    Raises SessionConfigError with the error the real API sends.
    """
    if not isinstance(update, dict):
        raise _fail(
            f"Invalid type for '{path}': expected an object, but got {type(update).__name__} instead.",
            path,
            "invalid_type",
        )
    if "type" not in update:
        raise _fail(f"Missing required parameter: '{path}.type'.", f"{path}.type", "missing_required_parameter")
    if update["type"] != "realtime":
        raise _fail(
            f"Invalid value: '{update['type']}'. Supported values are: 'realtime'.", f"{path}.type"
        )
    _check_object(update, _SESSION_KEYS, path)
    merged = copy.deepcopy(current)
    model = str(update.get("model") or merged.get("model") or "gpt-realtime")
    for key in ("instructions", "model"):
        if key in update:
            if not isinstance(update[key], str):
                raise _fail(f"Invalid type for '{path}.{key}': expected a string.", f"{path}.{key}", "invalid_type")
            merged[key] = update[key]
    if "output_modalities" in update:
        mods = update["output_modalities"]
        if not isinstance(mods, list) or len(mods) != 1 or mods[0] not in ("text", "audio"):
            raise _fail(
                "Invalid 'output_modalities': use exactly one of ['audio'] or ['text'].",
                f"{path}.output_modalities",
            )
        merged["output_modalities"] = list(mods)
    if "max_output_tokens" in update:
        mot = update["max_output_tokens"]
        if mot != "inf":
            _check_number(mot, f"{path}.max_output_tokens", 1, 4096)
        merged["max_output_tokens"] = mot
    for key in ("tools", "tool_choice", "tracing", "prompt", "include", "truncation",
                "parallel_tool_calls", "reasoning"):
        if key in update:
            merged[key] = copy.deepcopy(update[key])
    if "audio" in update:
        audio = _check_object(update["audio"], _AUDIO_KEYS, f"{path}.audio")
        if "input" in audio:
            merged["audio"]["input"] = _merge_input(merged["audio"]["input"], audio["input"], model, f"{path}.audio.input")
        if "output" in audio:
            merged["audio"]["output"] = _merge_output(merged["audio"]["output"], audio["output"], f"{path}.audio.output")
    return merged
