"""A restart that loses nothing: ``vivavoce serve`` drains ``/voice`` on SIGTERM.

uvicorn, told to stop, closes every WebSocket at once (1012) and only then runs the app's
lifespan shutdown, so the app would learn of the restart as a browser that went away
(an open interview ended ``browser_disconnected``, a link's without a word). Instead
:class:`DrainingServer` runs :func:`drain_voice` first, in the server's own loop, between
the signal and uvicorn's closing of connections:

1. new ``/voice`` connections are refused (``server_restarting``, retryable, close
   1012) and the listening sockets are closed, so a load balancer sends them elsewhere;
2. every relay is drained (:meth:`~vivavoce.realtime.relay.VoiceRelay.drain`): a link's
   interview gets a retryable ending and stays resumable, an open interview ends
   ``server_shutdown``; each relay writes every pending turn before it reports done;
3. this waits for them up to ``VIVAVOCE_DRAIN_TIMEOUT_SECONDS`` (keep it below the
   platform's grace period), then uvicorn's own shutdown closes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time

import uvicorn
from fastapi import WebSocket

from vivavoce.interview import browser_messages
from vivavoce.interview.shutdown import RESTARTING_CODE
from vivavoce.realtime.relay import VoiceRelay
from vivavoce.runtime import Runtime

__all__ = [
    "DrainingServer",
    "drain_before_shutdown",
    "drain_voice",
    "refuse_while_draining",
    "relays_finished",
    "server_of_this_process",
]

log = logging.getLogger("vivavoce.voice")


async def drain_voice(runtime: Runtime, timeout_s: float) -> int:
    """Drain every ``/voice`` connection of this process and wait for them to finish,
    at most ``timeout_s``. Returns how many were still running when the wait ended."""
    runtime.draining = True
    relays = [r for r in runtime.voice_relays if not r.done.is_set()]
    if not relays:
        return 0
    log.info("stopping: draining %d /voice connection(s) (at most %.0f s)", len(relays), timeout_s)
    started = time.monotonic()
    for relay in relays:
        relay.drain()
    await _until_done(relays, timeout_s)
    left = sum(not r.done.is_set() for r in relays)
    if left:
        log.warning(
            "stopping: %d /voice connection(s) did not finish draining in %.0f s; "
            "they are closed now",
            left,
            timeout_s,
        )
    else:
        log.info("stopping: /voice drained in %.1f s", time.monotonic() - started)
    return left


def drain_before_shutdown(server: uvicorn.Server, runtime: Runtime) -> None:
    """Make an existing uvicorn server drain ``/voice`` (as :class:`DrainingServer`) when
    it shuts down: for the worker processes of ``--workers N``, whose server uvicorn's
    supervisor creates (a worker's app finds it through its SIGTERM handler,
    :func:`server_of_this_process`)."""
    shutdown = server.shutdown

    async def draining_shutdown(sockets: list[socket.socket] | None = None) -> None:
        await _drain_then(server, runtime)
        await shutdown(sockets)

    server.shutdown = draining_shutdown  # type: ignore[method-assign]


def server_of_this_process() -> uvicorn.Server | None:
    """The uvicorn server running this process, while it serves: the owner of the
    SIGTERM handler uvicorn installs (``Server.handle_exit``); None otherwise."""
    owner = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return owner if isinstance(owner, uvicorn.Server) else None


async def _drain_then(server: uvicorn.Server, runtime: Runtime) -> None:
    # Stop accepting first: a reconnecting browser must reach another instance.
    for listening in server.servers:
        listening.close()
    if not server.force_exit:
        await drain_voice(runtime, runtime.settings.drain_timeout_seconds)


class DrainingServer(uvicorn.Server):
    """uvicorn's server, draining ``/voice`` (:func:`drain_voice`) before it closes the
    connections on a shutdown signal."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime) -> None:
        super().__init__(config)
        self.runtime = runtime

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await _drain_then(self, self.runtime)
        await super().shutdown(sockets)


async def refuse_while_draining(websocket: WebSocket) -> None:
    """A ``/voice`` connection that arrives while this process drains: a retryable
    ``server_restarting`` error, then close 1012 (service restart)."""
    with contextlib.suppress(Exception):  # the client may be gone already
        await websocket.send_json(
            browser_messages.error(
                RESTARTING_CODE,
                "The server is restarting. Please open your link again in a moment.",
                fatal=True,
                retryable=True,
            )
        )
        await websocket.close(1012, RESTARTING_CODE)


async def relays_finished(runtime: Runtime, timeout_s: float = 5.0) -> None:
    """Wait (at most ``timeout_s``) for the relays still finishing — a browser just gone,
    an answer's transcript awaited — so that their last turns are written before the
    database closes (the app's shutdown)."""
    await _until_done([r for r in runtime.voice_relays if not r.done.is_set()], timeout_s)


async def _until_done(relays: list[VoiceRelay], timeout_s: float) -> None:
    """Wait until every relay of ``relays`` is done, at most ``timeout_s``."""
    if relays:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await asyncio.gather(*(r.done.wait() for r in relays))
