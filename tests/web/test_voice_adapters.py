"""The browser's WebSocket as the relay sees it: ``StarletteBrowser`` reads the server's
ASGI ``receive`` itself (the hot path) and must give what Starlette's own
``WebSocket.receive`` gives, Starlette's state included."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.websockets import WebSocket, WebSocketState

from vivavoce.realtime.relay import BrowserGone
from vivavoce.web.voice_adapters import StarletteBrowser

SCOPE = {"type": "websocket", "path": "/voice", "headers": [], "query_string": b""}
MESSAGES: list[dict[str, Any]] = [
    {"type": "websocket.receive", "bytes": b"\x01\x02" * 480},
    {"type": "websocket.receive", "text": '{"type":"ping"}'},
    {"type": "websocket.receive", "bytes": b""},
    {"type": "websocket.receive", "text": ""},
    {"type": "websocket.disconnect", "code": 1001},
]


def connected(messages: list[dict[str, Any]]) -> WebSocket:
    script = iter(messages)

    async def receive() -> dict[str, Any]:
        return next(script)

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing is sent here")

    websocket = WebSocket(SCOPE, receive, send)
    websocket.client_state = websocket.application_state = WebSocketState.CONNECTED
    return websocket


async def through_starlette(websocket: WebSocket) -> str | bytes:
    """What the relay read before: Starlette's ``WebSocket.receive``, then the payload."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise BrowserGone()
    data = message.get("bytes")
    return bytes(data) if data is not None else str(message.get("text") or "")


async def read_all(read: Any) -> list[object]:
    out: list[object] = []
    while True:
        try:
            out.append(await read())
        except BrowserGone:
            out.append("gone")
            return out


async def test_reading_the_asgi_receive_gives_what_starlette_gives() -> None:
    slow_ws, fast_ws = connected(MESSAGES), connected(MESSAGES)
    slow = await read_all(lambda: through_starlette(slow_ws))
    fast = await read_all(StarletteBrowser(fast_ws).receive)
    assert fast == slow == [b"\x01\x02" * 480, '{"type":"ping"}', b"", "", "gone"]
    assert [type(x) for x in fast] == [type(x) for x in slow]
    # Starlette knows the browser left, as after its own receive.
    assert fast_ws.client_state is slow_ws.client_state is WebSocketState.DISCONNECTED
    with pytest.raises(RuntimeError):
        await fast_ws.receive()
