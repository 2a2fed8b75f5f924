"""Logging set-up (placeholder)."""

from __future__ import annotations

import logging

from vivavoce.config import Settings


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level)
