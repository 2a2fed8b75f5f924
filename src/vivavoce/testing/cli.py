"""``vivavoce fake-openai``: run the fake OpenAI server on its own (manual tests, demos)."""

from __future__ import annotations

from typing import Annotated

import typer

from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_openai import FakeOpenAI
from vivavoce.testing.scenarios import SCENARIOS
from vivavoce.testing.servers import TransportExposingProtocol

__all__ = ["fake_openai", "register"]


def fake_openai(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    scenario: Annotated[
        str | None,
        typer.Option(help="Play this scenario for every key (see docs/fake-openai.md)."),
    ] = None,
    audio_pace: Annotated[
        float | None,
        typer.Option(help="Reply audio pace vs real time: 0 no pacing, 1 real time [default: 0.1]."),
    ] = None,
    echo: Annotated[bool, typer.Option(help="Send every input audio chunk straight back.")] = False,
    media_free_calls: Annotated[
        bool,
        typer.Option(help="Answer WebRTC calls without media; a scripted candidate talks on the sideband (benchmarks)."),
    ] = False,
) -> None:
    """Serve a fake of the OpenAI API (REST + Realtime) that needs no key and no network.

    Point the service at it with OPENAI_BASE_URL=http://HOST:PORT/v1 and a test key such
    as sk-test-ok-1 (sk-test-revoked-1, sk-test-noquota-1, … select failures).
    """
    import uvicorn

    if scenario is not None and scenario not in SCENARIOS:
        typer.echo(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}", err=True)
        raise typer.Exit(2)
    if audio_pace is not None and audio_pace < 0:
        typer.echo("--audio-pace must be 0 or more", err=True)
        raise typer.Exit(2)
    config = FakeConfig(force_scenario=scenario, echo=echo, media_free_calls=media_free_calls)
    if audio_pace is not None:
        config.audio_pace = audio_pace
    fake = FakeOpenAI(config)
    typer.echo(f"Fake OpenAI API on http://{host}:{port}/v1 (Realtime: ws://{host}:{port}/v1/realtime)")
    typer.echo(f"  OPENAI_BASE_URL=http://{host}:{port}/v1  OPENAI_API_KEY=sk-test-ok-1")
    if scenario:
        typer.echo(f"  every key plays the {scenario!r} scenario")
    # The transport-exposing protocol lets the fake's network faults reach the socket.
    uvicorn.run(fake.app, host=host, port=port, log_config=None, ws_max_size=16 * 1024 * 1024,
                ws=TransportExposingProtocol)


def register(app: typer.Typer) -> None:
    """Add ``fake-openai`` to the ``vivavoce`` command."""
    app.command("fake-openai")(fake_openai)
