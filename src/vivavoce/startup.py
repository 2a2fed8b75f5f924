"""Whether the service may start (placeholder: production checks land with issue 7)."""

from __future__ import annotations

from vivavoce.config import Settings


def check_can_start(settings: Settings) -> str | None:
    return None
