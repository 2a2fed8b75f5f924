"""A stand-in for the server's side of /voice with WebRTC (docs/protocol.md "WebRTC"),
for testing the room's JavaScript on its own.

The page's /voice socket is routed to this object (Playwright ``route_web_socket``,
never reaching the app): it speaks the agreed messages, placing a real call on the fake
OpenAI's ``POST /v1/realtime/calls`` with the browser's offer — so Chromium's
RTCPeerConnection connects to the fake's aiortc peer — and joining the call's sideband
to make the interviewer speak first. ``fallback`` makes it fall back to the relay
instead (after the answer), streaming PCM to the page and taking its frames.
"""

from __future__ import annotations

import json
import math
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.sync.client import connect

__all__ = ["StubVoice", "tone"]


def tone(ms: int, hz: float = 440.0, level: float = 0.3) -> bytes:
    """PCM16 24 kHz mono."""
    n = 24 * ms
    return b"".join(
        struct.pack("<h", int(level * 32767 * math.sin(2 * math.pi * hz * i / 24000)))
        for i in range(n)
    )


@dataclass
class StubVoice:
    base_url: str  # the fake's …/v1
    ws_url: str  # the fake's ws://…/v1/realtime
    key: str
    fallback: str | None = None  # a webrtc_fallback reason: fall back after the answer
    bad_answer: bool = False  # answer with SDP the browser cannot apply
    # After a fallback, wait for the test to call go_relay() (to look at the room between
    # webrtc_fallback and interview_started).
    hold_start: bool = False
    # A server from before WebRTC: ignores the offer, relays, no `transport` field.
    ignore_offer: bool = False
    # Runs what must reach the fake (its HTTP calls, the sideband's thread): the network
    # namespace's NetNamespace.run in the tests.
    run: Callable[..., Any] = lambda fn, *args, **kwargs: fn(*args, **kwargs)
    texts: list[dict[str, Any]] = field(default_factory=list)  # JSON from the page
    binary_bytes: int = 0  # PCM the page sent up
    call_id: str | None = None
    fell_back: bool = False
    sideband_events: list[dict[str, Any]] = field(default_factory=list)
    route: Any = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __call__(self, route: Any) -> None:
        self.route = route
        route.on_message(self.on_message)
        route.send(json.dumps({"type": "connected", "message": "stub /voice"}))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.texts if m.get("type") == kind]

    def send(self, message: dict[str, Any]) -> None:
        self.route.send(json.dumps(message))

    def on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.binary_bytes += len(message)
            return
        data = json.loads(message)
        self.texts.append(data)
        if data["type"] == "start_interview":
            self.start(data)
        elif data["type"] == "webrtc_state" and data["state"] == "connected" and not self.fell_back:
            self.send(
                {
                    "type": "interview_started",
                    "message": "started",
                    "interview_id": "stub",
                    "transport": "webrtc",
                }
            )
            self.join_sideband()
        elif data["type"] == "webrtc_state" and data["state"] == "failed" and not self.fell_back:
            self.hangup()
            self.fall_back("media_failed")
        elif data["type"] == "ping":
            self.send({"type": "pong"})

    def start(self, data: dict[str, Any]) -> None:
        self.send({"type": "interview_starting", "message": "starting"})
        offer = (data.get("webrtc") or {}).get("sdp")
        if not offer or self.ignore_offer:
            self.go_relay()
            return
        session = {
            "type": "realtime",
            "model": "gpt-realtime",
            "instructions": "You are a friendly interviewer.",
        }
        response = self.run(
            httpx.post,
            f"{self.base_url}/realtime/calls",
            headers={"Authorization": f"Bearer {self.key}"},
            files={"sdp": (None, offer), "session": (None, json.dumps(session))},
            timeout=15,
        )
        assert response.status_code == 201, response.text
        self.call_id = response.headers["location"].rsplit("/", 1)[-1]
        answer = "v=0\r\nnot an answer\r\n" if self.bad_answer else response.text
        self.send({"type": "webrtc_answer", "sdp": answer})
        if self.fallback is not None:
            self.hangup()
            self.fall_back(self.fallback)

    def fall_back(self, reason: str) -> None:
        self.fell_back = True
        self.send({"type": "webrtc_fallback", "reason": reason})
        if not self.hold_start:
            self.go_relay()

    def go_relay(self) -> None:
        self.fell_back = True
        started = {"type": "interview_started", "message": "started", "interview_id": "stub"}
        if not self.ignore_offer:
            started["transport"] = "relay"
        self.send(started)
        # The greeting, relayed: 1.5 s of tone in 100 ms frames (faster than real time).
        pcm = tone(1500)
        for i in range(0, len(pcm), 4800):
            self.route.send(pcm[i : i + 4800])

    def hangup(self) -> None:
        if self.call_id is None:
            return
        self.run(
            httpx.post,
            f"{self.base_url}/realtime/calls/{self.call_id}/hangup",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=10,
        )

    def join_sideband(self) -> None:
        """The server's sideband: the interviewer speaks first."""
        url = f"{self.ws_url}?call_id={self.call_id}"

        def run() -> None:
            with connect(url, additional_headers={"Authorization": f"Bearer {self.key}"}) as ws:
                ws.send(json.dumps({"type": "response.create"}))
                while not self._stop.is_set():
                    try:
                        raw = ws.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    except Exception:
                        return
                    self.sideband_events.append(json.loads(raw))

        thread = threading.Thread(target=run, daemon=True)
        self.run(thread.start)  # started from the namespace's thread, it runs there
        self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
