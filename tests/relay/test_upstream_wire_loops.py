"""The upstream socket's hot path over TLS, as it runs against OpenAI (``wss://``), and
over plain TCP, as against the fake, on both event loops ``serve`` may run: asyncio's and
uvloop's. uvloop's TCP transport keeps the protocol's ``data_received`` it was given (the
reader re-registers with ``set_protocol``); over TLS the transport is the loop's SSL
transport, and what reaches ``data_received`` is decrypted records, split where TLS split
them, not where the socket did."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Callable
from typing import Any

import pytest
import trustme
import uvloop
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from tests.relay.test_upstream_wire import CountingReader, counting  # noqa: F401
from vivavoce.realtime.upstream import Upstream

MESSAGES = 120
HANG_GUARD_S = 30  # a hang guard only; nothing here is timed


def _contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


async def _scenario(tls: bool) -> tuple[list[Any], int | None, str | None]:
    server_ctx, client_ctx = _contexts() if tls else (None, None)

    async def handler(conn: ServerConnection) -> None:
        await conn.recv()  # the client's reader is in place: go
        for n in range(MESSAGES):
            # Sizes across the three length encodings, so frames straddle TLS records.
            await conn.send(json.dumps({"n": n, "pad": "x" * (n * 997 % 70_000)}))
            if n % 40 == 0:
                await conn.ping()
        await conn.close(4000, "bye")

    async with serve(handler, "127.0.0.1", 0, ssl=server_ctx, compression=None,
                     max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        ws = await connect(f"{'wss' if tls else 'ws'}://127.0.0.1:{port}", ssl=client_ctx,
                           compression=None, max_size=None)

        class SdkConnection:  # what Upstream takes from the SDK's connection
            _connection = ws

        upstream = Upstream(SdkConnection())  # type: ignore[arg-type]
        got: list[Any] = []
        reading = asyncio.ensure_future(upstream.run(lambda event: got.append(event["n"])))
        await asyncio.sleep(0)  # the reader is in place before the server starts
        await ws.send("go")
        await reading
        await ws.close()
        return got, upstream.close_code, upstream.close_reason


@pytest.mark.parametrize("tls", [True, False], ids=["wss", "ws"])
@pytest.mark.parametrize("loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop],
                         ids=["asyncio", "uvloop"])
def test_every_message_is_taken_in_order_and_the_close_reported(
        loop_factory: Callable[[], asyncio.AbstractEventLoop], tls: bool,
        counting: list[bytes]) -> None:  # noqa: F811
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        got, code, reason = runner.run(asyncio.wait_for(_scenario(tls), HANG_GUARD_S))
    assert got == list(range(MESSAGES))
    assert (code, reason) == (4000, "bye")
    # Taken by the relay's reader itself, not handed to websockets' recv.
    assert len(counting) == MESSAGES
