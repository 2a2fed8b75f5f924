"""serve's WebSocket protocol (web/ws_protocol.py) through real sockets, and where it
frames or splits bytes itself, against what ``websockets`` would do."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import pickle
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st
from uvicorn.protocols.websockets import websockets_sansio_impl
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.sync.client import connect
from websockets.uri import parse_uri

from vivavoce.web import ws_protocol
from vivavoce.web.ws_protocol import (
    HIGH_BYTES,
    HIGH_MESSAGES,
    SEND_BYTES_NOW,
    VoiceWebSocketProtocol,
)

MAX_SIZE = 1024 * 1024
SIZES = [0, 1, 2, 125, 126, 127, 1920, 65535, 65536, 70000, MAX_SIZE]


class Served:
    """What the test app saw: disconnect codes, and a gate that holds ``/hold``."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.gate: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: uvicorn.Server | None = None

    def protocols(self) -> list[VoiceWebSocketProtocol]:
        assert self.server is not None
        return [p for p in self.server.server_state.connections
                if isinstance(p, VoiceWebSocketProtocol)]

    def open_gate(self) -> None:
        assert self.loop is not None and self.gate is not None
        self.loop.call_soon_threadsafe(self.gate.set)


def echo_app(served: Served) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        if scope["path"] == "/hold":
            served.loop = asyncio.get_running_loop()
            served.gate = asyncio.Event()
            await served.gate.wait()
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                served.codes.append(message["code"])
                return
            if message.get("text") == "close me":
                await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
                continue
            reply = {k: message[k] for k in ("bytes", "text") if message.get(k) is not None}
            await send({"type": "websocket.send", **reply})

    return app


@contextlib.contextmanager
def serving(**options: Any) -> Iterator[tuple[int, Served]]:
    """The echo app on uvloop (as serve runs it) with serve's protocol."""
    served = Served()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(echo_app(served), ws=VoiceWebSocketProtocol, ws_max_size=MAX_SIZE,
                            ws_per_message_deflate=False, log_config=None, lifespan="off",
                            **{"ws_ping_interval": None, "ws_ping_timeout": None, **options})
    server = served.server = uvicorn.Server(config)

    def run() -> None:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    try:
        yield sock.getsockname()[1], served
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def wait_for(condition: Any) -> None:
    """Until ``condition()`` (a deadline only against hanging; not a timing assert)."""
    for _ in range(2000):
        if condition():
            return
        threading.Event().wait(0.005)
    raise AssertionError("condition never became true")


class RawClient:
    """A client socket driven by ``websockets``' sans-I/O ClientProtocol: the test decides
    how the bytes are cut into writes."""

    def __init__(self, port: int, path: str = "/echo") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proto = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}{path}"),
                                    max_size=None)
        self.proto.send_request(self.proto.connect())
        self.flush()
        events = self.read_events()
        assert isinstance(events[0], Response) and events[0].status_code == 101

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def flush(self, pieces: list[int] | None = None) -> None:
        data = b"".join(self.proto.data_to_send())
        if pieces is None:
            self.sock.sendall(data)
            return
        start = 0
        for cut in [*sorted(pieces), len(data)]:
            if cut > start:
                self.sock.sendall(data[start:cut])
                start = cut

    def read_events(self) -> list[Any]:
        """Read until at least one event (or the end of the stream)."""
        while True:
            events = self.proto.events_received()
            if events:
                return events
            data = self.sock.recv(1 << 20)
            if not data:
                self.proto.receive_eof()
                return self.proto.events_received()
            self.proto.receive_data(data)

    def close_code(self) -> int | None:
        """Read until the server's close frame; its code."""
        while self.proto.close_rcvd is None:
            if not self.read_events() and self.proto.state is State.CLOSED:
                break
        return None if self.proto.close_rcvd is None else self.proto.close_rcvd.code


# What goes out: the same bytes as websockets.


def reference_frame(opcode: Opcode, payload: bytes) -> bytes:
    server = ServerProtocol()
    server.state = State.OPEN
    if opcode is Opcode.TEXT:
        server.send_text(payload)
    else:
        server.send_binary(payload)
    return b"".join(server.data_to_send())


class Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.paused = 0
        self.resumed = 0

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        self.paused += 1

    def resume_reading(self) -> None:
        self.resumed += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name in ("peername", "sockname") else default


async def opened_protocol(app: Any | None = None) -> tuple[VoiceWebSocketProtocol, Recording,
                                                            ClientProtocol]:
    """A protocol on a recording transport, past the handshake, and a client for it."""
    async def accept(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        with contextlib.suppress(asyncio.CancelledError):  # the test reads the backlog
            await asyncio.Event().wait()

    config = uvicorn.Config(app or accept, ws_max_size=MAX_SIZE, ws_ping_interval=None,
                            ws_per_message_deflate=False, log_config=None)
    config.load()
    protocol = VoiceWebSocketProtocol(config, ServerState(), {})
    transport = Recording()
    protocol.connection_made(transport)
    client = ClientProtocol(parse_uri("ws://127.0.0.1/echo"))
    client.send_request(client.connect())
    protocol.data_received(b"".join(client.data_to_send()))
    while not protocol.handshake_complete:
        await asyncio.sleep(0)
    client.receive_data(b"".join(transport.written))
    assert client.state is State.OPEN and client.events_received()
    transport.written.clear()
    return protocol, transport, client


@pytest.mark.parametrize("size", [*SIZES, 65537, 3 * 65536])
@pytest.mark.parametrize("opcode", [Opcode.TEXT, Opcode.BINARY])
async def test_a_frame_sent_is_the_bytes_websockets_writes(opcode: Opcode, size: int) -> None:
    protocol, transport, _ = await opened_protocol()
    payload = (b"a\xc3\xa9" * size)[:size] if opcode is Opcode.TEXT else os.urandom(size)
    if opcode is Opcode.TEXT:
        payload = payload.decode(errors="ignore").encode()
        await protocol.send({"type": "websocket.send", "text": payload.decode()})
    else:
        await protocol.send({"type": "websocket.send", "bytes": payload})
    assert transport.written == [reference_frame(opcode, payload)]
    # websockets' state is untouched: its close handshake still starts from OPEN.
    assert protocol.conn.state is State.OPEN and not protocol.conn.writes
    protocol.connection_lost(None)


@pytest.mark.parametrize("size", [1, 126, 70000])
async def test_after_close_sends_take_uvicorns_path(size: int) -> None:
    protocol, transport, client = await opened_protocol()
    await protocol.send({"type": "websocket.close", "code": 1000})
    client.receive_data(b"".join(transport.written))
    assert client.close_rcvd is not None and client.close_rcvd.code == 1000
    transport.written.clear()
    with pytest.raises(RuntimeError, match="after sending 'websocket.close'"):
        await protocol.send({"type": "websocket.send", "bytes": b"x" * size})
    assert transport.written == []
    protocol.connection_lost(None)


# What comes in: split anywhere, the same messages.


def client_stream(messages: list[str | bytes]) -> tuple[bytes, list[Any]]:
    """The bytes of ``messages`` from a client, with a ping, a pong and a fragmented message
    between them; the messages the app should see."""
    client = ClientProtocol(parse_uri("ws://127.0.0.1/echo"))
    client.state = State.OPEN
    expected: list[Any] = []
    for i, message in enumerate(messages):
        if isinstance(message, str):
            client.send_text(message.encode())
        else:
            client.send_binary(message)
        expected.append(message)
        if i == 1:
            client.send_ping(b"p1")
            client.send_pong(b"unsolicited")
        if i == 2:
            client.send_binary(b"frag-", fin=False)
            client.send_continuation(b"ment", fin=True)
            expected.append(b"frag-ment")
    return b"".join(client.data_to_send()), expected


@settings(max_examples=60, deadline=None)
@given(
    messages=st.lists(st.one_of(st.binary(max_size=300), st.text(max_size=100),
                                st.sampled_from([b"x" * 70000, "é" * 40000])),
                      min_size=3, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=200_000), max_size=12),
)
def test_a_stream_cut_anywhere_gives_the_same_messages(
    messages: list[str | bytes], cuts: list[int]
) -> None:
    stream, expected = client_stream(messages)

    async def scenario() -> None:
        protocol, transport, client = await opened_protocol()
        start = 0
        for cut in [*sorted(c for c in cuts if c < len(stream)), len(stream)]:
            protocol.data_received(stream[start:cut])
            start = cut
        received = []
        while not protocol.backlog.empty():
            message = await protocol.receive()
            received.append(message.get("text", message.get("bytes")))
        assert received == expected
        client.receive_data(b"".join(transport.written))
        pongs = [e for e in client.events_received() if e.opcode is Opcode.PONG]
        assert [p.data for p in pongs] == [b"p1"]
        assert protocol.conn.state is State.OPEN and not protocol.partial
        protocol.connection_lost(None)

    asyncio.run(scenario())


def test_messages_of_every_size_echo_both_ways() -> None:
    with serving() as (port, served), connect(f"ws://127.0.0.1:{port}/echo",
                                              max_size=None, compression=None) as ws:
        for size in SIZES:
            blob = os.urandom(size)
            ws.send(blob)
            assert ws.recv() == blob
            text = ("vivavoce é ✓ " * (size // 16 + 1))[:size]
            if len(text.encode()) <= MAX_SIZE:
                ws.send(text)
                assert ws.recv() == text
        assert all(p.split_frames for p in served.protocols())


def test_frames_written_a_byte_at_a_time_arrive_intact() -> None:
    with serving() as (port, _), RawClient(port) as raw:
        blob = os.urandom(300)
        raw.proto.send_binary(blob)
        raw.proto.send_ping(b"are you there")
        raw.proto.send_text("über".encode())
        data = b"".join(raw.proto.data_to_send())
        for i in range(len(data)):
            raw.sock.sendall(data[i:i + 1])
            threading.Event().wait(0.0005)
        got: list[Frame] = []
        while len(got) < 3:
            got += raw.read_events()
        assert [(f.opcode, f.data) for f in got] == [
            (Opcode.BINARY, blob), (Opcode.PONG, b"are you there"), (Opcode.TEXT, "über".encode())]


# Closing.


def test_close_codes_go_both_ways() -> None:
    with serving() as (port, served):
        with connect(f"ws://127.0.0.1:{port}/echo") as ws:
            ws.send("hello")
            assert ws.recv() == "hello"
            ws.close(4000, "done")
        wait_for(lambda: served.codes)
        assert served.codes == [4000]
        with connect(f"ws://127.0.0.1:{port}/echo") as ws:
            ws.send("close me")
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv()
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "bye")


def test_an_oversize_message_closes_1009() -> None:
    with serving() as (port, _), connect(f"ws://127.0.0.1:{port}/echo", max_size=None) as ws:
        ws.send(b"x" * MAX_SIZE)
        assert len(ws.recv()) == MAX_SIZE  # the limit itself is allowed
        # The server's 1009 may arrive while the client is still sending: then the send
        # raises it, else the next receive does.
        with pytest.raises(ConnectionClosed) as closed:
            ws.send(b"x" * (MAX_SIZE + 1))
            ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


@pytest.mark.parametrize(("header", "code"), [
    (bytes((0x82, 0xFF)) + (1 << 40).to_bytes(8, "big"), 1009),  # 1 TB declared, nothing sent
    (bytes((0x89, 0xFE, 0x01, 0x00)) + b"mask" + bytes(256), 1002),  # a 256-byte ping
    (bytes((0x82, 0x05)) + b"abcde", 1002),  # unmasked
    (bytes((0xC2, 0x80)) + b"mask", 1002),  # RSV1 without an extension
    # A whole binary frame while a fragmented message is unfinished.
    (bytes((0x02, 0x81)) + b"mask" + b"a" + bytes((0x82, 0x81)) + b"mask" + b"b", 1002),
])
def test_a_bad_header_is_refused_without_waiting_for_its_payload(header: bytes,
                                                                 code: int) -> None:
    with serving() as (port, _), RawClient(port) as raw:
        raw.sock.sendall(header)
        assert raw.close_code() == code


@pytest.mark.parametrize("fragmented", [False, True])
def test_invalid_utf8_closes_1007(fragmented: bool) -> None:
    with serving() as (port, served), RawClient(port) as raw:
        raw.proto.send_text(b"fine")
        raw.flush()
        assert raw.read_events()[0].data == b"fine"
        if fragmented:  # assembled by uvicorn from websockets' parser
            raw.proto.send_text(b"ok \xc3", fin=False)
            raw.proto.send_continuation(b"\x28", fin=True)
        else:
            raw.proto.send_text(b"\xff\xfe")
        raw.flush()
        assert raw.close_code() == 1007
        wait_for(lambda: served.codes)
        assert served.codes == [1007]


def test_keepalive_closes_a_peer_that_never_answers_and_keeps_one_that_does() -> None:
    with serving(ws_ping_interval=0.1, ws_ping_timeout=0.3) as (port, served):
        # ``raw`` reads, but the pongs its ClientProtocol queues are never sent.
        with connect(f"ws://127.0.0.1:{port}/echo") as alive, RawClient(port) as raw:
            pings = []
            while raw.proto.close_rcvd is None:
                pings += [e for e in raw.read_events() if e.opcode is Opcode.PING]
            assert pings and raw.proto.close_rcvd.code == 1011
            alive.send("still here")  # answered every ping meanwhile
            assert alive.recv() == "still here"
        wait_for(lambda: len(served.codes) == 2)


# Backpressure.


def test_a_browser_faster_than_the_app_is_paused_then_resumed_and_nothing_is_lost() -> None:
    chunk = 64 * 1024
    count = 400  # 25 MiB: far more than the socket buffers hold
    with serving() as (port, served), RawClient(port, "/hold") as raw:
        for i in range(count):
            raw.proto.send_binary(i.to_bytes(4, "big") + bytes(chunk - 4))
        data = b"".join(raw.proto.data_to_send())
        sender = threading.Thread(target=raw.sock.sendall, args=(data,))
        sender.start()
        wait_for(lambda: served.protocols() and served.protocols()[0].read_paused)
        protocol = served.protocols()[0]
        # Paused: the app's backlog stays bounded, the rest waits in the kernel.
        threading.Event().wait(0.2)
        backlog = protocol.backlog
        assert backlog.bytes < HIGH_BYTES + 512 * 1024
        assert len(backlog.items) < count and sender.is_alive()
        served.open_gate()
        seen = []
        while len(seen) < count:
            for frame in raw.read_events():
                seen.append(int.from_bytes(frame.data[:4], "big"))
                assert len(frame.data) == chunk
        sender.join()
        assert seen == list(range(count))
        assert not protocol.read_paused


async def test_the_backlog_pauses_at_its_bound_and_resumes_at_half() -> None:
    protocol, transport, client = await opened_protocol()
    for i in range(HIGH_MESSAGES + 4):
        client.send_binary(bytes([i]))
    protocol.data_received(b"".join(client.data_to_send()))
    assert (transport.paused, transport.resumed) == (1, 0)  # once, not per message
    for i in range(HIGH_MESSAGES + 4):
        assert (await protocol.receive())["bytes"] == bytes([i])
        assert transport.resumed == (1 if HIGH_MESSAGES + 3 - i <= HIGH_MESSAGES // 2 else 0)
    client.send_binary(b"x" * HIGH_BYTES)
    protocol.data_received(b"".join(client.data_to_send()))
    assert transport.paused == 2  # by bytes: one message of HIGH_BYTES
    protocol.connection_lost(None)


def test_the_handshake_is_let_go_after_the_accept_and_frames_still_echo() -> None:
    """uvicorn's ``request`` and ``response`` (the upgrade's headers) are dropped on the
    first frame after the accept; the connection works on."""
    with serving() as (port, served), RawClient(port) as client:
        client.proto.send_text(b"one")
        client.flush()
        assert [e.data for e in client.read_events()] == [b"one"]
        (protocol,) = served.protocols()
        assert "request" not in vars(protocol) and "response" not in vars(protocol)
        client.proto.send_binary(b"two")
        client.flush()
        assert [e.data for e in client.read_events()] == [b"two"]


def test_uvicorn_reads_the_handshake_only_until_the_accept() -> None:
    """Every use of ``self.request``/``self.response`` in uvicorn's protocol is in
    ``handle_connect`` or in ``send``'s branch for a handshake not yet complete."""
    cls = websockets_sansio_impl.WebSocketsSansIOProtocol
    uses = re.compile(r"self\.(?:request|response)\b")
    connect = inspect.getsource(cls.handle_connect)
    send = inspect.getsource(cls.send)
    assert len(uses.findall(inspect.getsource(cls))) == (
        len(uses.findall(connect)) + len(uses.findall(send)))
    branch = send.index("if not self.handshake_complete and self.initial_response is None:")
    after = send.index("\n        elif ", branch)  # the branch's end, at send's level
    assert all(branch < m.start() < after for m in uses.finditer(send))


# What this relies on.


def test_the_library_internals_relied_on_are_still_there() -> None:
    source = inspect.getsource(websockets_sansio_impl.WebSocketsSansIOProtocol)
    # Besides receive() (overridden), uvicorn only ever puts on its queue, and keeps the
    # pause/resume, handler and state names this class uses.
    uses = set(re.findall(r"self\.queue\.(\w+)", source))
    assert uses == {"put_nowait", "get", "empty"}
    assert "async def receive" in inspect.getsource(
        websockets_sansio_impl.WebSocketsSansIOProtocol.receive)
    for name in ws_protocol.PINNED_INTERNALS["WebSocketsSansIOProtocol"]:
        attr = name.split(" ")[0]
        assert f"self.{attr}" in source or hasattr(
            websockets_sansio_impl.WebSocketsSansIOProtocol, attr), attr
    server = ServerProtocol(max_size=MAX_SIZE)
    for name in ws_protocol.PINNED_INTERNALS["ServerProtocol"]:
        obj: Any = server
        for part in name.split("."):
            assert hasattr(obj, part), name
            obj = getattr(obj, part)
    assert isinstance(server.reader.buffer, bytearray) and isinstance(server.writes, list)
    # The parser checks the size limit from a frame's header (the 1009 above relies on it).
    assert "max_size" in inspect.getsource(Frame.parse)
    assert Close(1000, "").serialize() == b"\x03\xe8"


def test_serve_and_its_workers_use_this_protocol(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from vivavoce import supervisor
    from vivavoce.cli import app
    from vivavoce.web import graceful

    seen: dict[str, Any] = {}

    class NotServed:
        started = True

        def __init__(self, config: uvicorn.Config, runtime: Any) -> None:
            seen["one"] = config

        def run(self) -> None:
            pass

    def workers(runtime: Any, overrides: Any, **options: Any) -> None:
        seen["workers"] = options

    monkeypatch.setattr(graceful, "DrainingServer", NotServed)
    monkeypatch.setattr(supervisor, "serve_workers", workers)
    for name in list(os.environ):
        if name.startswith(("VIVAVOCE_", "OPENAI_", "DATABASE_URL", "PORT")):
            monkeypatch.delenv(name)
    env = {"VIVAVOCE_DATA_DIR": str(tmp_path), "OPENAI_API_KEY": "sk-test-" + "x" * 20}
    for args in ([], ["--workers", "2"]):
        result = CliRunner().invoke(app, ["serve", "--port", "8999", *args], env=env)
        assert result.exit_code == 0, result.output
    assert seen["one"].ws is VoiceWebSocketProtocol
    # The workers' config reaches them pickled (uvicorn's spawn): the class survives it.
    assert pickle.loads(pickle.dumps(seen["workers"]["ws"])) is VoiceWebSocketProtocol


async def test_the_scope_offers_a_synchronous_binary_write_that_declines_when_it_must_wait(
) -> None:
    """``send_bytes_now`` (offered in the scope's extensions): the same bytes as
    ``send``, written at once; False — nothing written — while the transport is paused
    for writing, once closing, and once disconnected."""
    protocol, transport, client = await opened_protocol()
    offer = protocol.scope["extensions"][SEND_BYTES_NOW]["send_bytes_now"]
    payload = os.urandom(1920)
    assert offer(payload) is True
    assert transport.written == [reference_frame(Opcode.BINARY, payload)]
    transport.written.clear()
    protocol.pause_writing()
    assert offer(payload) is False and transport.written == []
    protocol.resume_writing()
    assert offer(b"x") is True
    transport.written.clear()
    await protocol.send({"type": "websocket.close", "code": 1000})
    transport.written.clear()
    assert offer(payload) is False and transport.written == []
    protocol.connection_lost(None)
    assert offer(payload) is False
