"""Run an ASGI app on a real loopback socket in a background thread.

Tests, benchmarks and the simulator need real sockets (the relay must be exercised the
way production exercises it), so this starts uvicorn on 127.0.0.1 with port 0 and hands
back the bound address. Its own thread and event loop keep it independent of whatever
loop the caller runs.

Its WebSocket connections carry their TCP transport in the ASGI scope
(:func:`transport_of`): the fake's network faults — a connection dropped without a
close frame, a stall — act on the socket itself, which ASGI has no message for.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

__all__ = [
    "FAST_TEXT_EXTENSION",
    "TRANSPORT_EXTENSION",
    "BackgroundServer",
    "FastText",
    "TransportExposingProtocol",
    "fast_text_of",
    "serve_in_background",
    "transport_of",
]

TRANSPORT_EXTENSION = "vivavoce.transport"
FAST_TEXT_EXTENSION = "vivavoce.fast_text"


class FastText:
    """Where an app puts a synchronous handler for the text messages it can answer at
    once (:class:`TransportExposingProtocol`); ``None``: every message goes through ASGI."""

    handler: Callable[[str], str | None] | None = None
    answered = 0  # messages the handler answered (the rest went through ASGI)


class TransportExposingProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol (the one it picks itself when ``websockets`` is
    installed), with the connection's transport added to the ASGI scope's extensions,
    and a :class:`FastText` there too.

    A text message the app's ``FastText.handler`` answers (it returns the reply's text;
    ``None`` declines) is answered from the protocol's read callback, without the ASGI
    round (a message dict, the queue, a task wake-up, reads paused and resumed): the fake's
    ECHO mode answers a benchmark's every audio chunk so. Only when nothing is queued for
    the app, so a reply never overtakes what an earlier message is still causing; the
    handler itself declines while the app is busy.

    Only for test servers: an app that can abort its peer's TCP connection has no place
    in production.
    """

    fast_text: FastText | None = None

    async def run_asgi(self) -> None:
        extensions = self.scope.get("extensions")
        if extensions is not None:
            extensions[TRANSPORT_EXTENSION] = {"transport": self.transport}
            self.fast_text = FastText()
            extensions[FAST_TEXT_EXTENSION] = self.fast_text  # type: ignore[assignment]
        await super().run_asgi()

    def send_receive_event_to_app(self) -> None:
        fast = self.fast_text
        if (fast is not None and fast.handler is not None and self.curr_msg_data_type == "text"
                and len(self.frames) == 1 and self.queue.empty() and not self.close_sent
                and self.writable.is_set() and self.conn.state is State.OPEN):
            try:
                reply = fast.handler(self.frames[0].decode())
            except UnicodeDecodeError:
                reply = None  # uvicorn's own path reports it
            if reply is not None:
                fast.answered += 1
                self.frames = []
                self.conn.send_text(reply.encode())
                self.transport.write(b"".join(self.conn.data_to_send()))
                return
        super().send_receive_event_to_app()


def fast_text_of(scope: Mapping[str, Any]) -> FastText | None:
    """The :class:`FastText` of a WebSocket served by :class:`TransportExposingProtocol`
    (None under any other server)."""
    fast = (scope.get("extensions") or {}).get(FAST_TEXT_EXTENSION)
    return fast if isinstance(fast, FastText) else None


def transport_of(scope: Mapping[str, Any]) -> asyncio.Transport | None:
    """The TCP transport under a WebSocket served by :class:`TransportExposingProtocol`
    (None under any other server)."""
    extension = (scope.get("extensions") or {}).get(TRANSPORT_EXTENSION) or {}
    transport = extension.get("transport")
    return transport if isinstance(transport, asyncio.Transport) else None


@dataclass
class BackgroundServer:
    host: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            # Open websockets can hold a graceful shutdown; force it.
            self.server.force_exit = True
            self.thread.join(timeout)


@contextlib.contextmanager
def serve_in_background(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ws_max_size: int = 16 * 1024 * 1024,
    ws_ping_interval: float | None = None,
    ws_ping_timeout: float | None = None,
    startup_timeout: float = 15.0,
) -> Iterator[BackgroundServer]:
    """Serve ``app`` until the ``with`` block ends. Raises RuntimeError if it cannot start."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        lifespan="on",
        ws=TransportExposingProtocol,
        ws_max_size=ws_max_size,
        # Off unless asked for (keepalive tests): pings would only add noise elsewhere.
        ws_ping_interval=ws_ping_interval,
        ws_ping_timeout=ws_ping_timeout if ws_ping_timeout is not None else ws_ping_interval,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the caller below
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"server-{bound_port}", daemon=True)
    thread.start()
    deadline = startup_timeout
    step = 0.01
    while not server.started and thread.is_alive() and deadline > 0:
        threading.Event().wait(step)
        deadline -= step
    if not server.started:
        server.should_exit = True
        thread.join(5)
        sock.close()
        raise RuntimeError(f"server did not start: {errors[0] if errors else 'timeout'}")
    handle = BackgroundServer(host, bound_port, server, thread)
    try:
        yield handle
    finally:
        handle.stop()
        sock.close()
