"""The fake's network faults on one Realtime socket: a drop and a stall.

Both act on the TCP transport (from :func:`~vivavoce.testing.servers.transport_of`),
not on the WebSocket protocol, because that is what a failing network does:

* a **drop** aborts the connection without a close frame, as when a route or a NAT
  entry dies; the client sees code 1006 (its library's "closed abnormally");
* a **stall** stops reading from the socket, and the session driver, holding its send
  lock meanwhile, processes and sends nothing: the socket stays open and silent, and the
  peer's keepalive pings go unanswered. Afterwards it carries on where it stopped.
  (uvicorn may already have read one message before the stall; it is handled after it.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from fastapi import WebSocket

from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_records import RealtimeSessionRecord, StallRecord
from vivavoce.testing.servers import transport_of

__all__ = ["drop_connection", "live_delay", "stall_connection"]

log = logging.getLogger("vivavoce.testing.fake")
_STALL_CHECK_S = 0.05


def drop_connection(websocket: WebSocket, record: RealtimeSessionRecord) -> bool:
    """Abort the TCP connection under ``websocket``; False when the server does not
    expose it (not served by ``serve_in_background`` or ``vivavoce fake-openai``)."""
    transport = transport_of(websocket.scope)
    if transport is None:
        log.error("fake OpenAI: cannot drop a connection on this server (no transport)")
        return False
    if record.close_code is None:
        record.close_code, record.close_reason, record.closed_by = 1006, "", "server"
    record.dropped = True
    transport.abort()
    return True


async def stall_connection(
    websocket: WebSocket, record: RealtimeSessionRecord, config: FakeConfig
) -> None:
    """Read nothing from ``websocket``'s socket for ``config.stall_s`` seconds, read live
    (a test may end a long stall by lowering it; see :func:`live_delay`). The caller
    holds the session's send lock, so nothing is processed or sent either."""
    transport = transport_of(websocket.scope)
    if transport is None:
        log.error("fake OpenAI: cannot stop reading on this server (no transport)")
    else:
        transport.pause_reading()
    stall = StallRecord(time.monotonic())
    record.stalls.append(stall)
    try:
        await live_delay(lambda: config.stall_s, stall.started)
    finally:
        if transport is not None:
            transport.resume_reading()  # a no-op once the connection is closing
        stall.ended = time.monotonic()


async def live_delay(seconds: Callable[[], float], started: float) -> None:
    """Wait until ``seconds()`` after ``started`` (``time.monotonic()``), reading it
    again as time goes: a test ends a long delay by lowering the config field."""
    # Polled, not an Event: the delay is a plain config field a test may change any time.
    while (left := started + seconds() - time.monotonic()) > 0:  # noqa: ASYNC110
        await asyncio.sleep(min(left, _STALL_CHECK_S))
