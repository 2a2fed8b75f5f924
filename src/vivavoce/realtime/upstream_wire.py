"""WebSocket frames to and from OpenAI on the audio hot path, beside websockets.

The SDK opens, authenticates, owns and closes the upstream socket: a websockets 15
``ClientConnection`` (``websockets.asyncio.client``). Every audio frame crossing it paid
for websockets' general machinery, per frame, both ways (docs/performance.md, "The
upstream socket (session 7)"):

* **In** (an audio delta, 25–50 a second per interview): the sans-I/O parser's generators
  (``Protocol.parse`` → ``Frame.parse`` → ``StreamReader.read_exact``), a ``Frame``, the
  events list, then the ``Assembler``'s queue, a future, a task switch and four coroutines
  resumed (``recv`` → ``Assembler.get`` → ``SimpleQueue.get``) before the relay saw it.
* **Out** (an append, the same rate): a ``Frame``, ``Frame.serialize``'s ``BytesIO`` and
  an ``os.urandom(4)`` system call for the mask, the protocol's write list.

:class:`FrameReader` splits the bytes the socket reads into frames itself (RFC 6455 §5.2:
a 2–10 byte header, then the payload; a server's frames are never masked) and hands each
complete, unfragmented text or binary message straight to the relay, synchronously, from
the connection's ``data_received``. Everything else goes to websockets *whole*, as it
would have read it: control frames (a ping is answered, a pong settles the keepalive, a
close runs the closing handshake — all websockets' own code), and from the first frame it
does not take on its own (a fragment, a reserved bit, a masked or oversized frame, an
unknown opcode) or once the connection is no longer OPEN, the rest of the stream, for
good. Because websockets is only ever given whole frames, its parser is always at a frame
boundary when it gets them, so its state is what it would have been. A close, a drop
(EOF or a reset) and every error still reach ``recv`` (``Upstream.run``) exactly as
before.

:func:`client_text_frame` builds a masked text frame with a mask cut from a batch of
``os.urandom`` bytes (:class:`MaskSource`, below, says why that is as unpredictable as a
call per frame).

Why not a library: websockets is the library, and takes neither a frame callback nor a
mask source; wsproto and aiohttp would each be a second WebSocket stack beside the SDK's.
What of websockets this relies on is pinned by ``tests/relay/test_upstream_wire.py``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from typing import Any

# websockets' masking in C, as ``Frame.serialize`` uses it (and its fallback, as there).
try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - a build without the C extension
    from websockets.utils import apply_mask
from websockets.protocol import State

__all__ = ["FrameReader", "MaskSource", "client_text_frame"]

_OP_TEXT, _OP_BINARY = 0x1, 0x2
_OP_CLOSE, _OP_PING, _OP_PONG = 0x8, 0x9, 0xA
# The opcodes taken whole; 0x0 (a continuation) is never one (no fragment is taken).
_OPCODES = frozenset((_OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG))
_FIN = 0x80
_HEAD16 = struct.Struct("!BBH")
_HEAD64 = struct.Struct("!BBQ")


class MaskSource:
    """Four-byte client masks cut from a batch of ``os.urandom`` bytes.

    RFC 6455 §5.3: the mask "MUST be derived from a strong source of entropy" and must
    not be predictable from earlier frames, so that script in a browser cannot choose the
    bytes a proxy sees. websockets takes ``secrets.token_bytes(4)`` per frame, i.e. one
    ``getrandom`` system call for four bytes. Here one call fills 4,096 bytes and each
    frame takes the next four. Every mask is still drawn from the kernel's CSPRNG output,
    each used once: a run of that output split into pieces is as unpredictable as the
    pieces drawn one by one (observing some masks says nothing about the next). What
    differs is only that up to 1,023 future masks sit in this process's memory, which
    anyone able to read that memory could see — and such a reader has the OpenAI key
    already. A child process forked from this one drops the batch (its masks must not
    repeat the parent's).
    """

    __slots__ = ("_batch", "_next", "_size")

    def __init__(self, batch_bytes: int = 4096) -> None:
        self._size = batch_bytes - batch_bytes % 4
        self._batch = b""
        self._next = self._size  # empty: the first take fills it

    def take(self) -> bytes:
        """The next unused mask."""
        at = self._next
        if at >= self._size:
            self._batch, at = os.urandom(self._size), 0
        self._next = at + 4
        return self._batch[at:at + 4]

    def drop(self) -> None:
        """Forget the batch (after a fork)."""
        self._batch, self._next = b"", self._size


MASKS = MaskSource()
os.register_at_fork(after_in_child=MASKS.drop)


def client_text_frame(payload: bytes, masks: MaskSource = MASKS) -> bytes:
    """``payload`` as one final, masked text frame: the bytes ``Frame(OP_TEXT, payload)
    .serialize(mask=True)`` gives, with the mask from ``masks``."""
    mask = masks.take()
    length = len(payload)
    if length < 126:
        head = bytes((_FIN | _OP_TEXT, 0x80 | length))
    elif length < 65536:
        head = _HEAD16.pack(_FIN | _OP_TEXT, 0x80 | 126, length)
    else:
        head = _HEAD64.pack(_FIN | _OP_TEXT, 0x80 | 127, length)
    return head + mask + apply_mask(payload, mask)


class FrameReader:
    """Takes the upstream connection's incoming bytes ahead of websockets (module
    docstring). ``deliver`` gets each complete data message's payload, in order; when it
    raises, the reader stops taking frames, keeps the exception in :attr:`failure` and
    hands that frame and the rest to websockets (so ``recv`` wakes up for it, and its
    caller raises the failure where the relay's reader task used to raise it).

    Installed as the connection's ``data_received`` (an attribute of the instance, which
    ``transport.set_protocol`` makes the transport call: uvloop keeps the bound method it
    was given). :meth:`stop` gives every later byte to websockets untouched.
    """

    __slots__ = ("_need", "_pending", "_protocol", "_websockets_data_received", "deliver",
                 "failure", "taking")

    def __init__(self, ws: Any, deliver: Callable[[bytes], None]) -> None:
        self._protocol = ws.protocol
        # The class's method, bound: websockets' own handling of the bytes given to it.
        self._websockets_data_received: Callable[[bytes], None] = type(ws).data_received.__get__(ws)
        # A frame's first bytes, until the rest comes; ``_need`` bytes make it complete (or
        # its header readable).
        self._pending: bytes | bytearray = b""
        self._need = 0
        self.deliver = deliver
        self.failure: Exception | None = None
        self.taking = True

    @classmethod
    def install(cls, ws: Any, deliver: Callable[[bytes], None]) -> FrameReader | None:
        """Put a reader in front of ``ws`` (a websockets asyncio ``Connection``), or
        return ``None`` when this connection is one the reader does not handle: not OPEN,
        with an extension (permessage-deflate, off here: ``_WS_OPTIONS``), or one that
        already had a reader put in front of it."""
        protocol = ws.protocol
        if (protocol.state is not State.OPEN or protocol.extensions
                or "data_received" in vars(ws) or ws.transport.is_closing()):
            return None
        reader = cls(ws, deliver)
        ws.data_received = reader.data_received
        ws.transport.set_protocol(ws)  # uvloop caches protocol.data_received: renew it
        return reader

    def stop(self) -> None:
        """From now on every byte goes to websockets, starting with any partial frame
        held here (it is at a frame boundary then)."""
        if self.taking:
            self.taking = False
            pending, self._pending = bytes(self._pending), b""
            if pending:
                self._websockets_data_received(pending)

    def data_received(self, data: bytes) -> None:
        if not self.taking:
            self._websockets_data_received(data)
            return
        if self._pending:
            self._pending += data
            if len(self._pending) < self._need:
                return  # a large frame still arriving: no copy until it is complete
            data, self._pending = bytes(self._pending), b""
        protocol = self._protocol
        at, end = 0, len(data)
        while at < end:
            # Not ours any more (a close was received or sent, or websockets failed the
            # connection): websockets gets the rest, as it would have.
            if protocol.state is not State.OPEN:
                break
            if end - at < 2:
                self._hold(data, at, at + 2)
                return
            head1, head2 = data[at], data[at + 1]
            opcode = head1 & 0x0F
            # Ours: FIN set, no reserved bit, unmasked (head2's top bit), an opcode in
            # use. Anything else (a fragment, an odd frame) websockets decides, as the
            # first frame of the rest of the stream.
            if head1 & 0xF0 != _FIN or head2 & 0x80 or opcode not in _OPCODES:
                break
            length = head2 & 0x7F
            if length < 126:
                start = at + 2
            elif length == 126:
                start = at + 4
                if start > end:
                    self._hold(data, at, start)
                    return
                length = (data[at + 2] << 8) | data[at + 3]
            else:
                start = at + 10
                if start > end:
                    self._hold(data, at, start)
                    return
                length = int.from_bytes(data[at + 2:start], "big")
            if length > (protocol.max_size or length):
                break  # websockets closes with 1009, as before
            stop = start + length
            if stop > end:
                self._hold(data, at, stop)
                return
            if opcode <= _OP_BINARY:
                try:
                    self.deliver(data[start:stop])
                except Exception as exc:
                    self.failure = exc
                    break
            else:  # ping, pong, close: websockets answers, settles, closes
                self._websockets_data_received(data[at:stop])
            at = stop
        else:
            return
        self.taking = False
        self._websockets_data_received(data[at:])

    def _hold(self, data: bytes, at: int, until: int) -> None:
        """Keep ``data[at:]``, a frame's beginning, until ``until - at`` bytes of it
        have come."""
        self._pending = bytearray(data[at:])
        self._need = until - at
