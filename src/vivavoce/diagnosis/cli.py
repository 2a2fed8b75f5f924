"""``vivavoce doctor``: check the configuration and the key, name the cause, give the fix."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from vivavoce.cli_settings import settings_or_exit
from vivavoce.diagnosis.doctor import run_doctor_sync
from vivavoce.diagnosis.render import render_text
from vivavoce.redact import install_redaction, redact, register_secret

__all__ = ["register"]


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only the checks that need no network.")
    ] = False,
) -> None:
    """Check the configuration and the OpenAI key; explain any problem and how to fix it.

    Exit status: 0 healthy, 1 a cause was found, 2 the checks could not run.
    """
    settings = settings_or_exit()
    # No logging is configured for this command, but a library warning still reaches
    # stderr through logging's last-resort handler: redact those too.
    install_redaction()
    if settings.openai_api_key is not None:
        register_secret(settings.openai_api_key.get_secret_value())
    try:
        report = run_doctor_sync(settings, offline=offline)
    except Exception as exc:  # a bug or an environment we did not foresee: say so, exit 2
        typer.echo(f"vivavoce doctor could not run its checks: {redact(repr(exc))}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        # Colour only for a person at a terminal; NO_COLOR (no-color.org) turns it off.
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        typer.echo(render_text(report, colour=colour))
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    """Add the ``doctor`` command to the ``vivavoce`` CLI."""
    app.command("doctor")(doctor)
