"""``vivavoce secret``: print a strong random value for VIVAVOCE_ADMIN_TOKEN or
VIVAVOCE_SECRET_KEY (what production's start-up check and the warnings point to)."""

from __future__ import annotations

import typer

from vivavoce.secret_strength import generate

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("secret")
    def secret() -> None:
        """Print a strong random secret (256 bits) for VIVAVOCE_ADMIN_TOKEN or
        VIVAVOCE_SECRET_KEY; run it once per setting."""
        typer.echo(generate())
