"""The reply-audio account of a WebRTC call, with no media: what played, when it stopped."""

from __future__ import annotations

import asyncio

from vivavoce.testing.fake_audio import BYTES_PER_MS
from vivavoce.testing.webrtc_playout import Cut, Playout, VirtualPlayout


def _recorder() -> tuple[list[str], Playout]:
    seen: list[str] = []
    playout = Playout(lambda r: seen.append(f"started {r}"), lambda r: seen.append(f"stopped {r}"))
    return seen, playout


def test_started_on_first_audio_stopped_once_played_and_finished() -> None:
    seen, playout = _recorder()
    playout.push("resp_1", "item_1", b"\x01" * (100 * BYTES_PER_MS))
    assert seen == ["started resp_1"] and playout.playing
    assert playout.take(60 * BYTES_PER_MS) == b"\x01" * (60 * BYTES_PER_MS)
    playout.take(40 * BYTES_PER_MS)
    assert seen == ["started resp_1"]  # drained, but more audio may still come
    assert playout.take(10) == b""  # underrun: the track plays silence
    playout.finish("resp_1")
    assert seen == ["started resp_1", "stopped resp_1"] and not playout.playing
    assert playout.played_ms("item_1") == 100


def test_finish_before_the_audio_played_stops_when_it_has() -> None:
    seen, playout = _recorder()
    playout.push("resp_1", "item_1", bytes(50 * BYTES_PER_MS))
    playout.finish("resp_1")
    assert seen == ["started resp_1"]
    playout.take(50 * BYTES_PER_MS)
    assert seen == ["started resp_1", "stopped resp_1"]


def test_clear_reports_what_was_heard_and_fires_no_stop() -> None:
    seen, playout = _recorder()
    playout.push("resp_1", "item_1", bytes(300 * BYTES_PER_MS))
    playout.take(120 * BYTES_PER_MS)
    assert playout.clear() == Cut("resp_1", "item_1", 120)
    assert seen == ["started resp_1"] and not playout.playing and playout.buffered_bytes == 0
    assert playout.clear() is None
    assert playout.take(BYTES_PER_MS) == b""


def test_a_next_response_queued_behind_starts_when_reached() -> None:
    seen, playout = _recorder()
    playout.push("resp_1", "item_1", bytes(10 * BYTES_PER_MS))
    playout.push("resp_2", "item_2", bytes(10 * BYTES_PER_MS))
    playout.take(15 * BYTES_PER_MS)
    assert seen == ["started resp_1", "stopped resp_1", "started resp_2"]
    assert (playout.played_ms("item_1"), playout.played_ms("item_2")) == (10, 5)


async def test_virtual_playout_plays_by_the_clock() -> None:
    now = [100.0]
    seen: list[str] = []
    playout = VirtualPlayout(
        lambda r: seen.append(f"started {r}"), lambda r: seen.append(f"stopped {r}"), clock=lambda: now[0]
    )
    playout.push("resp_1", "item_1", bytes(500 * BYTES_PER_MS))
    playout.finish("resp_1")
    now[0] += 0.2
    assert playout.clear() == Cut("resp_1", "item_1", 200)
    playout.push("resp_2", "item_2", bytes(20 * BYTES_PER_MS))
    now[0] += 0.05
    playout.advance()
    assert seen == ["started resp_1", "started resp_2"]  # played, but not finished yet
    playout.finish("resp_2")
    assert seen == ["started resp_1", "started resp_2", "stopped resp_2"]
    playout.close()


async def test_virtual_playout_stops_on_its_own_timer() -> None:
    stopped = asyncio.Event()
    playout = VirtualPlayout(lambda r: None, lambda r: stopped.set())
    playout.push("resp_1", "item_1", bytes(30 * BYTES_PER_MS))
    playout.finish("resp_1")
    assert not stopped.is_set()
    async with asyncio.timeout(5):
        await stopped.wait()  # nobody advanced it: the one timer did, when the audio had played
    assert playout.played_ms("item_1") == 30
