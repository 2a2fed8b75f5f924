"""The model catalogue the fake lists at ``GET /v1/models``."""

from __future__ import annotations

from typing import Any

__all__ = ["MODELS", "REALTIME_MODELS", "is_realtime_model", "model_object"]

# Ids a late-2026 account lists that matter to vivavoce; realtime ones first.
REALTIME_MODELS: tuple[str, ...] = (
    "gpt-realtime",
    "gpt-realtime-2025-08-28",
    "gpt-realtime-1.5",
    "gpt-realtime-2",
    "gpt-realtime-2.1",
    "gpt-realtime-mini",
    "gpt-realtime-2.1-mini",
)
MODELS: tuple[str, ...] = (
    *REALTIME_MODELS,
    "gpt-4o-mini-transcribe",
    "gpt-4o-transcribe",
    "whisper-1",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-4.1-mini",
    "text-embedding-3-small",
)

# A fixed creation time keeps listings deterministic.
_CREATED = 1_756_339_200


def is_realtime_model(model: str) -> bool:
    """True for the Realtime models the fake serves."""
    return model in REALTIME_MODELS


def model_object(model: str) -> dict[str, Any]:
    """The JSON object OpenAI returns for one model."""
    return {"id": model, "object": "model", "created": _CREATED, "owned_by": "system"}
