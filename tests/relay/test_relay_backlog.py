"""The relay gives the interview core the AI audio it still holds for the browser, as a
value with every Realtime event (at a barge-in that audio is dropped, never heard)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vivavoce.interview.actions import Action
from vivavoce.realtime.relay import VoiceRelay


class Browser:
    async def receive(self) -> str | bytes:
        raise AssertionError("not read in this test")

    async def send_text(self, text: str) -> None: ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class Session:
    """Records what the relay feeds it."""

    def __init__(self) -> None:
        self.backlogs: list[int] = []
        self.interview_id = None

    def upstream_event(self, event: dict[str, Any], now: float, *,
                       backlog_bytes: int = 0) -> list[Action]:
        self.backlogs.append(backlog_bytes)
        return []

    def upstream_closed(self, code: int | None, reason: str | None, now: float) -> list[Action]:
        return []


class Upstream:
    close_code = 1000
    close_reason = ""

    async def run(self, on_event: Callable[[dict[str, Any]], None]) -> None:
        on_event({"type": "input_audio_buffer.speech_started", "item_id": "u1"})


async def test_every_event_carries_the_audio_queued_for_the_browser() -> None:
    session = Session()
    relay = VoiceRelay(Browser(), session, hooks=None)  # type: ignore[arg-type]
    # Two frames wait for the browser (its writer is not running in this test).
    relay.to_browser.put_audio(bytes(4800))
    relay.to_browser.put_audio(bytes(960))
    upstream = Upstream()
    relay.upstream = upstream  # type: ignore[assignment]  # the relay reads only its own
    await relay._read_upstream(upstream)  # type: ignore[arg-type]
    assert session.backlogs == [5760]
