"""The settings for a ``vivavoce`` command, or a clear message and exit 2.

Shared by every area's sub-commands (``serve``, ``doctor``, ``db``, ``questions``): it
sits below them all, so ``vivavoce.cli`` can import the areas' commands and they need
nothing from it.
"""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError

from vivavoce.config import Settings, describe_settings_errors, load_settings
from vivavoce.redact import redact

__all__ = ["settings_or_exit"]


def settings_or_exit(**overrides: Any) -> Settings:
    """Load settings; an invalid value ends the command with a clear message (exit 2).
    ``None`` overrides (flags not given) are ignored."""
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        typer.echo("vivavoce: the configuration is not valid:", err=True)
        for line in describe_settings_errors(exc):
            typer.echo(f"  - {redact(line)}", err=True)
        raise typer.Exit(2) from None
