"""The simulated browsers' WebSocket and their frame clock, built to cost the driver little.

The driver shares the machine with the relay under test, so every microsecond it spends
per frame is taken from the relay. Two things cost it most with websockets' asyncio
client: a task wake-up per message received (the library's message queue, then the
reader coroutine) and a timer and task wake-up per frame sent (each browser sleeping
until its next frame). Here:

* :class:`BrowserSocket` is an ``asyncio.Protocol`` around websockets' sans-I/O
  ``ClientProtocol`` (the same handshake, framing, masking, pings and close as the
  library's client, its C speedups included), with no asyncio layer on top: while a
  browser streams, each message goes to a plain callback straight from the loop's read
  callback, which timestamps it there; before that (starting the interview) messages
  are awaited with :meth:`BrowserSocket.recv`. A send never waits: like a browser's
  ``WebSocket.send`` it buffers when the peer reads slowly, and the frame's time is
  taken when it is handed over, so a slow reader shows as latency.
* :class:`Pacer` is one clock for all the browsers of a level: browser k of N sends
  frame n at ``start + (n + k / N) × period``, so the browsers' frames are spread
  evenly over each period (as unsynchronised microphones are), with one timer for
  everyone instead of one per browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import cast

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

__all__ = ["BrowserSocket", "Pacer", "Stream"]

Message = str | bytes


class BrowserSocket(asyncio.Protocol):
    """One browser's WebSocket (see the module docstring)."""

    def __init__(self, protocol: ClientProtocol) -> None:
        self.protocol = protocol
        self.transport: asyncio.Transport | None = None
        self.on_message: Callable[[Message], None] | None = None  # set while streaming
        self._inbox: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._fragments: list[bytes] = []
        self._text = False
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()

    @classmethod
    async def connect(cls, url: str, headers: Iterable[tuple[str, str]] = (), *,
                      deflate: bool = False) -> BrowserSocket:
        """Open ``url``; ``deflate`` offers permessage-deflate, as browsers do."""
        uri = parse_uri(url)
        protocol = ClientProtocol(
            uri, extensions=[ClientPerMessageDeflateFactory()] if deflate else None,
            max_size=None)
        loop = asyncio.get_running_loop()
        _, socket = await loop.create_connection(lambda: cls(protocol), uri.host, uri.port)
        request = protocol.connect()
        for name, value in headers:
            request.headers[name] = value
        protocol.send_request(request)
        socket._flush()
        try:
            await socket.opened
        except BaseException:
            socket.abort()
            raise
        return socket

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        events = self.protocol.events_received()
        self._flush()  # pongs and the close reply the protocol wrote
        for event in events:
            if isinstance(event, Frame):
                self._frame(event)
            elif isinstance(event, Response) and not self.opened.done():
                if self.protocol.handshake_exc is not None:
                    self.opened.set_exception(self.protocol.handshake_exc)
                else:
                    self.opened.set_result(None)

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        failure = ConnectionError(f"connection lost: {exc or 'closed'}")
        if not self.opened.done():
            self.opened.set_exception(failure)
        if not self.lost.done():
            self.lost.set_result(None)
        self._wake()

    # --- messages -----------------------------------------------------------------------

    def _frame(self, frame: Frame) -> None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._text, self._fragments = frame.opcode is Opcode.TEXT, [frame.data]
        elif frame.opcode is Opcode.CONT:
            self._fragments.append(frame.data)
        else:
            return  # ping, pong, close: the protocol answers them
        if not frame.fin:
            return
        data = self._fragments[0] if len(self._fragments) == 1 else b"".join(self._fragments)
        self._fragments = []
        # websockets' parser may hand a bytearray: the callbacks get bytes or str.
        message: Message = data.decode() if self._text else bytes(data)
        if self.on_message is not None:
            self.on_message(message)
        else:
            self._inbox.append(message)
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def recv(self) -> Message:
        """The next message; ConnectionError once the connection is gone."""
        while not self._inbox:
            if self.lost.done():
                raise ConnectionError("connection closed")
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._inbox.popleft()

    def send(self, message: Message) -> None:
        """Send now (never waits; see the module docstring); ConnectionError once the
        connection is closing."""
        if self.protocol.state is not State.OPEN or self.lost.done():
            raise ConnectionError("connection closed")
        if isinstance(message, str):
            self.protocol.send_text(message.encode())
        else:
            self.protocol.send_binary(message)
        self._flush()

    def _flush(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():  # the protocol's end of stream
                transport.write_eof()

    async def close(self, patience_s: float = 2.0) -> None:
        """The closing handshake, then the TCP connection (aborted after ``patience_s``)."""
        if self.protocol.state is State.OPEN and not self.lost.done():
            self.protocol.send_close(1000)
            self._flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.lost), patience_s)
        self.abort()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class Stream:
    """One browser's frames: sent by the :class:`Pacer`, matched as they come back.

    ``frames`` are built once per level and shared; ``number`` reads a received
    message's frame number (``None``: not an echo of ours)."""

    def __init__(self, socket: BrowserSocket, frames: list[Message],
                 number: Callable[[Message], int | None], rtts: list[float]) -> None:
        self.socket, self.frames, self.number, self.rtts = socket, frames, number, rtts
        self.sent = 0
        self.sent_at = [0.0] * len(frames)
        loop = asyncio.get_running_loop()
        self.all_sent: asyncio.Future[None] = loop.create_future()
        self.all_back: asyncio.Future[None] = loop.create_future()
        socket.on_message = self._received
        socket.lost.add_done_callback(lambda _: self._end())

    def send_next(self) -> None:
        if self.all_sent.done():
            return
        n = self.sent
        self.sent_at[n] = time.perf_counter()
        try:
            self.socket.send(self.frames[n])
        except ConnectionError:
            self._end()
            return
        self.sent = n + 1
        if self.sent == len(self.frames):
            self.all_sent.set_result(None)

    def _received(self, message: Message) -> None:
        n = self.number(message)
        if n is None or not 0 <= n < self.sent or not self.sent_at[n]:
            return
        self.rtts.append((time.perf_counter() - self.sent_at[n]) * 1000)
        self.sent_at[n] = 0.0  # each frame's echo counted once
        if len(self.rtts) == len(self.frames) and not self.all_back.done():
            self.all_back.set_result(None)

    def _end(self) -> None:
        """The connection failed: nothing more is sent; what is missing is lost."""
        for done in (self.all_sent, self.all_back):
            if not done.done():
                done.set_result(None)

    async def finish(self, patience_s: float) -> None:
        """Wait until every frame is sent, then (at most ``patience_s``) for the echoes."""
        await self.all_sent
        with contextlib.suppress(TimeoutError):  # what never came back is counted as lost
            await asyncio.wait_for(asyncio.shield(self.all_back), patience_s)
        self.socket.on_message = None


class Pacer:
    """One clock for every browser of a level (see the module docstring)."""

    def __init__(self) -> None:
        self.streams: list[Stream] = []

    def add(self, stream: Stream) -> None:
        self.streams.append(stream)

    async def run(self, period_s: float, *, spread: bool = True) -> None:
        """Send every stream's frames at real time, their phases spread over the period
        (``spread=False``: every stream's frame n at the same instant, in one burst)."""
        streams = self.streams
        count = len(streams)
        if not count:
            return
        total = max(len(s.frames) for s in streams)
        step = period_s / count if spread else 0.0
        begin = time.perf_counter()
        late = 0
        for slot in range(total * count):
            n, k = divmod(slot, count)
            delay = begin + n * period_s + k * step - time.perf_counter()
            if delay > 0.0005:  # frames due within half a millisecond go together
                await asyncio.sleep(delay)
                late = 0
            elif (late := late + 1) == 64:  # behind time: still let the echoes in
                await asyncio.sleep(0)
                late = 0
            stream = streams[k]
            if n < len(stream.frames):
                stream.send_next()
