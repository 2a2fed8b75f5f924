"""The ``vivavoce`` command: serve, doctor, db, questions, fake-openai."""

from __future__ import annotations

import signal
from typing import Annotated, Any

import typer

from vivavoce import secret_cli
from vivavoce.cli_settings import settings_or_exit
from vivavoce.diagnosis import cli as diagnosis_cli
from vivavoce.store import cli as store_cli
from vivavoce.testing import cli as testing_cli

__all__ = ["app", "main"]

app = typer.Typer(
    name="vivavoce",
    help="Live AI voice interviews over the OpenAI Realtime API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Live AI voice interviews over the OpenAI Realtime API."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: $PORT or 8000]")] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes sharing the port, to use several cores "
                     "[default: $VIVAVOCE_WORKERS; production: the CPUs the container may use, else 1]"),
    ] = None,
) -> None:
    """Run the service: web app, /voice relay, API (migrates the database first)."""
    import uvicorn

    from vivavoce.banner import render_banner
    from vivavoce.logs import setup_logging
    from vivavoce.startup import check_can_start
    from vivavoce.store.cli import migrate_or_exit
    from vivavoce.web.app import build_runtime, create_app
    from vivavoce.web.graceful import DrainingServer
    from vivavoce.web.ws_protocol import VoiceWebSocketProtocol

    if hasattr(signal, "SIGHUP"):
        # SIGHUP means "reload the key" once the app is up (web/ops.py installs that);
        # until then it must not kill the process mid-migration.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    settings = settings_or_exit(host=host, port=port, workers=workers)
    if settings.source_of("workers").kind == "default":
        from vivavoce.supervisor import default_workers

        settings.workers = default_workers(settings)
    setup_logging(settings)
    problems = check_can_start(settings)
    if problems is None and settings.workers > 1:
        from vivavoce.supervisor import workers_problem

        problems = workers_problem(settings)
    if problems:
        typer.echo(problems, err=True)
        raise typer.Exit(1)
    # An unusable DATABASE_URL or an unreachable database is a one-line message here,
    # not a traceback from inside the server's start-up.
    migrate_or_exit(settings.effective_database_url)
    runtime = build_runtime(settings)
    runtime.options.settle_heap = True
    typer.echo(render_banner(runtime))
    options: dict[str, Any] = {
        "log_config": None,
        # X-Forwarded-For/-Proto are believed from these peers only (the setting; unset:
        # any on Railway, loopback elsewhere): a port clients reach directly must not let
        # them claim another address or https.
        "proxy_headers": True,
        "forwarded_allow_ips": settings.effective_forwarded_allow_ips,
        # uvicorn's sans-I/O WebSocket protocol with a per-frame fast path and a bounded
        # backlog (web/ws_protocol.py). A class, not a name: the config reaches the
        # workers of --workers pickled, and a class pickles as its import path.
        "ws": VoiceWebSocketProtocol,
        "ws_max_size": 1024 * 1024,
        # No permessage-deflate on /voice (browsers offer it): PCM audio barely compresses
        # and deflating each frame both ways was a fifth of the relay's CPU at 200
        # interviews (docs/performance.md).
        "ws_per_message_deflate": False,
        # A dead browser is noticed within the timeout (docs/protocol.md, Keepalive).
        "ws_ping_interval": settings.ws_ping_interval_seconds,
        "ws_ping_timeout": settings.ws_ping_timeout_seconds,
    }
    if settings.workers > 1:
        from vivavoce.supervisor import serve_workers

        flags = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
        try:
            serve_workers(runtime, flags, **options)
        except OSError as exc:  # the metrics port
            typer.echo(f"vivavoce: {exc.strerror or exc}", err=True)
            raise typer.Exit(1) from None
        return
    # One process: on SIGTERM /voice is drained before uvicorn closes the connections
    # (web/graceful.py).
    server = DrainingServer(uvicorn.Config(create_app(runtime=runtime), host=settings.host,
                                           port=settings.port, **options), runtime)
    server.run()
    if not server.started:  # as uvicorn.run: the app's start-up failed
        raise typer.Exit(3)


# Each area keeps its own commands next to its code.
diagnosis_cli.register(app)
secret_cli.register(app)
store_cli.register(app)
testing_cli.register(app)


def main() -> None:
    app(prog_name="vivavoce")


if __name__ == "__main__":  # pragma: no cover
    main()
