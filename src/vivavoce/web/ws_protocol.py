"""The browser's WebSocket (``/voice`` and every other WebSocket route): uvicorn's sans-I/O
protocol with a cheaper path for the frames an interview exchanges 50 times a second.

``serve`` (one process and every worker of ``--workers N``) gives this class to uvicorn as
its ``ws`` protocol. The handshake, the close handshake, pings and pongs, uvicorn's
keepalive, errors and limits stay with uvicorn's ``WebSocketsSansIOProtocol`` and the
``websockets`` sans-I/O ``ServerProtocol`` under it; what this class changes, per frame:

* **Receive**: a complete, unfragmented, masked text or binary frame that arrives while
  the connection is open is unmasked here (``websockets``' own C ``apply_mask``) and handed
  to the app; every other frame (control frames, fragments, anything after a close) is fed
  to ``websockets``' parser whole. The parser is only ever fed at frame boundaries, so it
  never holds half a frame that this class would then misread. ``websockets``' generator
  parser costs ~5 µs a frame, this path ~1 µs (docs/performance.md, "The browser socket
  (session 7)"). The size limit (``ws_max_size``, close 1009) and UTF-8 validation of text
  (close 1007) are kept: an oversize header goes to the parser at once, which refuses it.
* **The app's backlog**: uvicorn stops reading the socket after every message and starts
  again when the app has read it: two ``epoll_ctl`` calls per frame under uvloop. Here
  reading stops when the app's unread messages pass ``HIGH_MESSAGES`` or ``HIGH_BYTES`` and
  resumes once they are back to half of that: the same flow control (a browser that sends
  faster than the app reads is paused, nothing is lost), without the per-frame calls. The
  backlog is a deque and one future instead of an ``asyncio.Queue``.
* **Send**: an unfragmented text or binary frame while the connection is open is framed
  here (a server's frames are unmasked: a 2-10 byte header) and written with one
  ``transport.write``; anything else goes through ``ServerProtocol``, as in uvicorn. The
  bytes are the same as ``ServerProtocol.send_binary``/``send_text`` produce (pinned by
  tests/web/test_ws_protocol.py).

Why not a library: uvicorn's protocols and ``websockets``' asyncio server are the
well-kept options, and this is a subclass of the first, on the second's sans-I/O core;
neither has a per-frame fast path or a backlog bound to switch on. What of their internals
this relies on is listed in ``PINNED_INTERNALS`` and checked by the tests.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from typing import Any

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.http11 import Request
from websockets.protocol import State

try:  # as websockets.frames does: the C version when it was built
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover
    from websockets.utils import apply_mask

__all__ = ["HIGH_BYTES", "HIGH_MESSAGES", "PINNED_INTERNALS", "SEND_BYTES_NOW",
           "VoiceWebSocketProtocol"]

#: The ASGI scope's extension under which the socket offers ``send_bytes_now``.
SEND_BYTES_NOW = "vivavoce.websocket.send_bytes_now"

#: The app's unread backlog above which the socket is no longer read (either bound).
HIGH_MESSAGES = 16
HIGH_BYTES = 1024 * 1024

#: What of uvicorn's and websockets' internals this module reads or calls, by object
#: (tests/web/test_ws_protocol.py checks each still exists and means what it did).
PINNED_INTERNALS = {
    "WebSocketsSansIOProtocol": (
        "queue (put_nowait only, besides receive's get/empty)", "read_paused",
        "handshake_complete", "close_sent", "disconnected", "writable", "transport", "conn",
        "logger", "send_receive_event_to_app", "handle_events", "handle_parser_exception",
        "frames", "curr_msg_data_type", "request (until the accept)",
        "response (until the accept)",
    ),
    "ServerProtocol": (
        "state", "cur_size", "reader.buffer", "writes", "expect_continuation_frame",
        "extensions", "debug", "parser_exc", "max_size",
    ),
}

_OPEN = State.OPEN
_TEXT_FIN = 0x81  # FIN, no RSV bits, opcode 1
_BINARY_FIN = 0x82  # FIN, no RSV bits, opcode 2
_FAST_FIRST = frozenset((_TEXT_FIN, _BINARY_FIN))
_HEADER_16 = struct.Struct("!BBH").pack
_HEADER_64 = struct.Struct("!BBQ").pack
# The 2-byte headers of every short frame, built once.
_SHORT_TEXT = [bytes((_TEXT_FIN, n)) for n in range(126)]
_SHORT_BINARY = [bytes((_BINARY_FIN, n)) for n in range(126)]


def frame_header(first: int, size: int) -> bytes:
    """The header of an unmasked frame (a server's) of ``size`` payload bytes whose first
    byte is ``first`` (RFC 6455 5.2: 7-bit, 16-bit or 64-bit length)."""
    if size < 126:
        return bytes((first, size))
    if size < 65536:
        return _HEADER_16(first, 126, size)
    return _HEADER_64(first, 127, size)


class _Backlog:
    """The app's unread messages: uvicorn's ``asyncio.Queue`` with the same
    ``put_nowait``/``empty`` (uvicorn's own code puts disconnects on it), plus a byte
    count, and one bare future as the reader's wake-up."""

    __slots__ = ("bytes", "items", "waiter")

    def __init__(self) -> None:
        self.items: deque[tuple[ASGIReceiveEvent, int]] = deque()
        self.bytes = 0
        self.waiter: asyncio.Future[None] | None = None

    def put_nowait(self, message: ASGIReceiveEvent, size: int = 0) -> None:
        self.items.append((message, size))
        self.bytes += size
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def empty(self) -> bool:
        return not self.items

    def qsize(self) -> int:
        return len(self.items)


class VoiceWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol with the per-frame fast paths of the module."""

    # The backlog's bound (bench/ws_protocol_bench.py sets 1 to measure uvicorn's pause
    # after every message).
    high_messages = HIGH_MESSAGES
    high_bytes = HIGH_BYTES

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.backlog = _Backlog()
        # uvicorn's own code (disconnects, closes) puts on ``self.queue``.
        self.queue = self.backlog  # type: ignore[assignment]
        max_size = config.ws_max_size
        self.max_size: int = max_size if max_size is not None else 1 << 63
        # Whether received bytes are split into frames here (see data_received).
        self.split_frames = False
        # The start of a frame whose end has not arrived yet.
        self.partial = b""

    # Receiving

    def _can_split_frames(self) -> bool:
        """Whether from now on this class may split the stream into frames: the
        connection is open, the parser holds no partial frame or message, and no
        extension (permessage-deflate) transforms frames."""
        conn = self.conn
        return (self.handshake_complete and conn.state is _OPEN and not conn.reader.buffer
                and conn.cur_size is None and not conn.extensions and not conn.debug
                and conn.parser_exc is None)

    def data_received(self, data: bytes) -> None:
        if not self.split_frames:
            if not self._can_split_frames():
                super().data_received(data)
                return
            self.split_frames = True
            self._release_handshake()
        if self.partial:
            data = self.partial + data
            self.partial = b""
        view = memoryview(data)
        end = len(data)
        pos = 0
        conn = self.conn
        max_size = self.max_size
        while end - pos >= 2:
            first = data[pos]
            second = data[pos + 1]
            size = second & 0x7F
            start = pos + 2
            if size == 126:
                if end - pos < 4:
                    break
                size = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            elif size == 127:
                if end - pos < 10:
                    break
                size = int.from_bytes(view[pos + 2:pos + 10], "big")
                start = pos + 10
            masked = second & 0x80
            if masked:
                start += 4
            if size > max_size:
                # The parser refuses it from its header (1009): never wait for its end.
                # From here on the parser has the stream (were it to wait for more, it
                # would hold part of a frame).
                self.split_frames = False
                self._to_parser(bytes(view[pos:]))
                return
            stop = start + size
            if stop > end:
                break
            if first in _FAST_FIRST and masked and conn.state is _OPEN \
                    and conn.cur_size is None:
                # Both apply_masks (C and Python) take any buffer: no copy of the payload.
                payload = apply_mask(view[start:stop], view[start - 4:start])  # type: ignore[arg-type]
                self._deliver(first == _TEXT_FIN, payload)
                if not self.split_frames:  # invalid UTF-8: closing, the parser has the rest
                    self._to_parser(bytes(view[stop:]))
                    return
            elif not self._to_parser(bytes(view[pos:stop])):
                return
            pos = stop
        if pos < end:
            self.partial = bytes(view[pos:])

    def _release_handshake(self) -> None:
        """Let go of the upgrade's ``Request`` and ``Response`` (their headers: ~2 KB a
        connection from the bench's client, more from a browser with cookies). uvicorn
        keeps them for the connection's life but reads them only until the accept
        (``handle_connect``, and ``send``'s branch taken before ``handshake_complete``;
        pinned by tests/web/test_ws_protocol.py); this runs on the first frame after it.
        The scope's headers stay: the app may read them."""
        attrs = vars(self)
        attrs.pop("request", None)
        attrs.pop("response", None)

    def _to_parser(self, data: bytes) -> bool:
        """Feed whole frames to ``websockets``' parser and act on what it found (as
        uvicorn does). False once the parser failed: it then discards the rest, so the
        stream is no longer split here."""
        conn = self.conn
        conn.receive_data(data)
        if conn.parser_exc is not None:
            self.split_frames = False
            self.handle_parser_exception()
            return False
        self.handle_events()
        return True

    def send_receive_event_to_app(self) -> None:
        # uvicorn's: a message the parser assembled (handle_text/handle_bytes/handle_cont).
        frames = self.frames
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        self.frames = []
        self._deliver(self.curr_msg_data_type == "text", data)

    def _deliver(self, text: bool, data: bytes) -> None:
        """Put a message on the app's backlog, as uvicorn does, but stop reading only
        when the backlog passes its bound (the module's docstring)."""
        if self.close_sent:
            # The app is past ``websocket.close``: discarded, as uvicorn does, so reads
            # stay active until the peer's close reply arrives.
            return
        backlog = self.backlog
        if text:
            try:
                decoded = data.decode()
            except UnicodeDecodeError:
                # uvicorn logs this with a traceback as an error; it is the client's.
                self.logger.warning("Invalid UTF-8 sequence received from client.")
                self.conn.send_close(1007)
                self.split_frames = False
                self.handle_parser_exception()
                return
            backlog.put_nowait({"type": "websocket.receive", "text": decoded}, len(data))
        else:
            backlog.put_nowait({"type": "websocket.receive", "bytes": data}, len(data))
        if not self.read_paused and (len(backlog.items) >= self.high_messages
                                     or backlog.bytes >= self.high_bytes):
            self.read_paused = True
            self.transport.pause_reading()

    async def receive(self) -> ASGIReceiveEvent:
        backlog = self.backlog
        items = backlog.items
        while not items:
            waiter = backlog.waiter
            if waiter is None or waiter.done():
                waiter = backlog.waiter = self.loop.create_future()
            await waiter
        message, size = items.popleft()
        backlog.bytes -= size
        if self.read_paused and len(items) <= self.high_messages // 2 \
                and backlog.bytes <= self.high_bytes // 2:
            self.read_paused = False
            self.transport.resume_reading()
        return message

    # Sending

    def _can_write_now(self) -> bool:
        """Whether an unfragmented data frame may be framed and written here at once:
        open, nothing of websockets' waiting to go out, the transport not paused."""
        conn = self.conn
        return (conn.state is _OPEN and not self.close_sent and not self.disconnected
                and self.writable.is_set() and not conn.writes
                and not conn.expect_continuation_frame and not conn.extensions
                and not conn.debug)

    def send_bytes_now(self, data: bytes) -> bool:
        """A binary message written at once, synchronously (no ASGI message, no
        coroutine): True when written, False when it must go through ``send`` (which
        waits for the transport or raises). Offered to the app in the scope's
        extensions (:data:`SEND_BYTES_NOW`); the relay's outbox writes AI audio with it
        when nothing is queued before it (realtime/outbox.py)."""
        if not self._can_write_now():
            return False
        size = len(data)
        header = _SHORT_BINARY[size] if size < 126 else frame_header(_BINARY_FIN, size)
        self.transport.write(header + data)
        return True

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = self.__dict__.get("scope")  # none when the handshake was refused
        if scope is not None:
            scope["extensions"][SEND_BYTES_NOW] = {"send_bytes_now": self.send_bytes_now}

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "websocket.send" and self._can_write_now():
            data = message.get("bytes")
            if data is not None and self.send_bytes_now(data):
                return
            text = message.get("text")
            if text is not None:
                data = text.encode()
                size = len(data)
                header = _SHORT_TEXT[size] if size < 126 else frame_header(_TEXT_FIN, size)
                self.transport.write(header + data)
                return
        await super().send(message)
