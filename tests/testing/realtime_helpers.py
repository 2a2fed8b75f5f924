"""Helpers for driving the fake's Realtime endpoint with the real ``openai`` SDK."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from openai import AsyncOpenAI
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from websockets.exceptions import ConnectionClosed

__all__ = ["Collected", "client_for", "collect_until", "collect_until_closed"]

# Generous: only a hung fake would hit it, and then the test should fail, not hang.
_WAIT_S = 10.0


def client_for(base_url: str, key: str, **kwargs: Any) -> AsyncOpenAI:
    """An SDK client on the fake, without retries unless asked."""
    kwargs.setdefault("max_retries", 0)
    return AsyncOpenAI(base_url=base_url, api_key=key, **kwargs)


@dataclass
class Collected:
    """Server events received (parsed by the SDK) and how the socket ended."""

    events: list[Any] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str | None = None

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.type == kind]

    def first(self, kind: str) -> Any:
        found = self.of(kind)
        assert found, f"no {kind} among {self.types}"
        return found[0]


async def collect_until_closed(conn: AsyncRealtimeConnection) -> Collected:
    """Read events until the server closes the socket."""
    got = Collected()
    try:
        async with asyncio.timeout(_WAIT_S):
            while True:
                got.events.append(await conn.recv())
    except ConnectionClosed as exc:
        if exc.rcvd is not None:
            got.close_code, got.close_reason = exc.rcvd.code, exc.rcvd.reason
    return got


async def collect_until(conn: AsyncRealtimeConnection, kind: str, *, count: int = 1, into: Collected | None = None) -> Collected:
    """Read events until ``count`` events of type ``kind`` arrived (fails on close)."""
    got = into if into is not None else Collected()
    seen = 0
    async with asyncio.timeout(_WAIT_S):
        while seen < count:
            event = await conn.recv()
            got.events.append(event)
            if event.type == kind:
                seen += 1
    return got
