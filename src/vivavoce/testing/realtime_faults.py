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
import socket
import struct
import time
from collections.abc import Callable

from fastapi import WebSocket

from vivavoce.testing.fake_records import RealtimeSessionRecord, StallRecord
from vivavoce.testing.servers import transport_of

__all__ = ["drop_connection", "live_delay", "stall_connection"]

log = logging.getLogger("vivavoce.testing.fake")
_STALL_CHECK_S = 0.05
# A drop waits at most this long for what was sent to reach the client.
_FLUSH_LIMIT_S = 2.0


async def drop_connection(websocket: WebSocket, record: RealtimeSessionRecord) -> bool:
    """Abort the TCP connection under ``websocket``; False when the server does not
    expose it (not served by ``serve_in_background`` or ``vivavoce fake-openai``).

    What was sent before reaches the client first (waited for, at most
    ``_FLUSH_LIMIT_S``): a drop "after N events" is a path that died once the client had
    those N events, so a test knows exactly what the client got. ``record.drop_flushed``
    says whether it did."""
    transport = transport_of(websocket.scope)
    if transport is None:
        log.error("fake OpenAI: cannot drop a connection on this server (no transport)")
        return False
    if record.close_code is None:
        record.close_code, record.close_reason, record.closed_by = 1006, "", "server"
    record.dropped = True
    record.drop_flushed = await _flushed(transport)
    transport.abort()
    return True


async def _flushed(transport: asyncio.Transport) -> bool | None:
    """Wait until the transport's buffer and the kernel's send queue are empty (the
    client's TCP stack acknowledged every byte). None where the queue cannot be read."""
    sock = transport.get_extra_info("socket")
    deadline = time.monotonic() + _FLUSH_LIMIT_S
    while True:
        try:
            unsent = transport.get_write_buffer_size() + _kernel_unacked(sock)
        except (OSError, ValueError, AttributeError, ImportError):
            return None
        if unsent == 0:
            return True
        if transport.is_closing() or time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_STALL_CHECK_S / 5)


def _kernel_unacked(sock: socket.socket | None) -> int:
    """Bytes in the socket's send queue not yet acknowledged by the peer (Linux
    ``SIOCOUTQ``)."""
    import fcntl  # POSIX only: elsewhere the drop is not waited for (ImportError)
    import termios

    if sock is None:
        raise ValueError("no socket")
    value = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return int(struct.unpack("i", value)[0])


async def stall_connection(
    websocket: WebSocket, record: RealtimeSessionRecord, seconds: Callable[[], float]
) -> None:
    """Read nothing from ``websocket``'s socket for ``seconds()`` seconds, read live
    (a test may end a long stall by lowering ``config.stall_s``; see :func:`live_delay`).
    The caller holds the session's send lock, so nothing is processed or sent either."""
    transport = transport_of(websocket.scope)
    if transport is None:
        log.error("fake OpenAI: cannot stop reading on this server (no transport)")
    else:
        transport.pause_reading()
    stall = StallRecord(time.monotonic())
    record.stalls.append(stall)
    try:
        await live_delay(seconds, stall.started)
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
