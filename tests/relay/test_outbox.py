"""The two-lane outbox: control outranks audio, audio is bounded in bytes."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import pytest

from vivavoce.realtime.outbox import Outbox


async def test_control_goes_before_queued_audio() -> None:
    sent: list[object] = []
    gate = asyncio.Event()

    async def control(text: str) -> None:
        sent.append(text)

    async def audio(chunk: bytes) -> None:
        await gate.wait()
        sent.append(chunk)

    box: Outbox[bytes] = Outbox(control, audio, audio_high_bytes=1000)
    writer = asyncio.create_task(box.run())
    box.put_audio(b"a1")
    box.put_audio(b"a2")
    await asyncio.sleep(0)  # the writer takes a1 and waits on the gate
    box.put_control("stop")
    gate.set()
    box.put_control("end")
    await box.wait_idle()
    assert sent == [b"a1", "stop", "end", b"a2"]
    box.close()
    await writer


async def test_audio_high_water_mark_and_clear() -> None:
    async def nothing(_: object) -> None:
        return None

    box: Outbox[bytes] = Outbox(nothing, nothing, audio_high_bytes=10, audio_low_bytes=4)
    assert box.put_audio(b"12345")
    assert not box.put_audio(b"67890")  # at the mark: reported, still queued
    assert box.audio_bytes == 10
    assert box.clear_audio() == 10 and box.audio_bytes == 0
    await asyncio.wait_for(box.wait_for_room(), 1)
    box.close()
    assert not box.put_control("x") and not box.put_audio(b"y")


async def test_control_lane_limit() -> None:
    async def nothing(_: object) -> None:
        return None

    box: Outbox[bytes] = Outbox(nothing, nothing, audio_high_bytes=10, control_limit=2)
    assert box.put_control("1") and box.put_control("2")
    assert not box.put_control("3")


async def test_a_failing_sender_closes_the_outbox() -> None:
    async def broken(_: object) -> None:
        raise ConnectionError("gone")

    box: Outbox[bytes] = Outbox(broken, broken, audio_high_bytes=10)
    writer = asyncio.create_task(box.run())
    box.put_control("x")
    with pytest.raises(ConnectionError):
        await writer
    assert box.closed


async def test_shedding_drops_the_oldest_audio_and_never_control() -> None:
    sent: list[object] = []

    async def send(item: object) -> None:
        sent.append(item)

    box: Outbox[bytes] = Outbox(send, send, audio_high_bytes=6)
    box.put_control("c1")
    assert box.put_audio(b"111")
    assert not box.put_audio(b"222")  # at the mark: the relay sheds
    assert box.shed_audio(3) == 3
    assert box.audio_bytes == 3
    # One chunk bigger than the bound stays: the newest is never dropped.
    box.put_audio(b"3333333")
    assert box.shed_audio(3) == 3 and box.audio_bytes == 7
    writer = asyncio.create_task(box.run())
    await box.wait_idle()
    assert sent == ["c1", b"3333333"]
    box.close()
    await writer


async def test_the_writer_sleeps_on_empty_lanes_and_each_put_wakes_it() -> None:
    sent: list[object] = []

    async def send(item: object) -> None:
        sent.append(item)

    box: Outbox[bytes] = Outbox(send, send, audio_high_bytes=100)
    writer = asyncio.create_task(box.run())
    for round_ in range(3):  # empty, woken, emptied again: each time by one message
        await box.wait_idle()
        await asyncio.sleep(0)  # the writer is waiting on the empty lanes now
        if round_ % 2:
            assert box.put_control(f"c{round_}")
        else:
            assert box.put_audio(b"a%d" % round_)
    await box.wait_idle()
    assert sent == [b"a0", "c1", b"a2"]
    # Closing wakes a writer that waits on empty lanes, and it ends.
    await asyncio.sleep(0)
    box.close()
    await asyncio.wait_for(writer, 5)


async def test_shedding_several_chunks_keeps_the_newest_in_order() -> None:
    sent: list[object] = []

    async def send(item: object) -> None:
        sent.append(item)

    box: Outbox[bytes] = Outbox(send, send, audio_high_bytes=8, audio_low_bytes=4)
    for chunk in (b"aa", b"bb", b"cc", b"dd", b"ee"):
        box.put_audio(chunk)
    waiting = asyncio.create_task(box.wait_for_room())
    await asyncio.sleep(0)
    assert not waiting.done()  # above the high-water mark
    assert box.shed_audio(4) == 6  # the three oldest, in one cut
    assert box.audio_bytes == 4
    await asyncio.wait_for(waiting, 5)  # at the low-water mark: room again
    writer = asyncio.create_task(box.run())
    await box.wait_idle()
    assert sent == [b"dd", b"ee"]
    assert box.shed_audio(0) == 0  # nothing queued: nothing to drop
    box.close()
    await writer


async def test_an_idle_outbox_and_its_writer_stay_small() -> None:
    """What each interview holds four lanes of (docs/performance.md, "Memory at 200
    (session 7)"): an outbox whose lanes carried traffic and are empty again, with its
    writer task waiting, holds ~1.4 KB on Python 3.11; with deques for lanes it was
    ~2.9 KB (each empty deque keeps a 64-slot block)."""

    async def send(item: object) -> None:
        pass

    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        boxes: list[Outbox[bytes]] = [Outbox(send, send, audio_high_bytes=1000)
                                      for _ in range(100)]
        writers = [asyncio.create_task(box.run()) for box in boxes]
        for box in boxes:
            for _ in range(3):
                box.put_audio(b"x" * 10)
                box.put_control("c")
        for box in boxes:
            await box.wait_idle()
        await asyncio.sleep(0)
        gc.collect()
        per_outbox = (tracemalloc.get_traced_memory()[0] - before) / len(boxes)
    finally:
        tracemalloc.stop()
    for box in boxes:
        box.close()
    await asyncio.gather(*writers)
    assert per_outbox < 2000, per_outbox


async def test_audio_is_written_at_once_only_when_nothing_is_ahead_of_it() -> None:
    """``write_audio_now``: taken while the writer waits on two empty lanes; never while
    anything is queued or being sent (the order stays), nor when it declines or fails
    (then queued, and the writer's send has it)."""
    sent: list[object] = []
    now: list[bytes] = []
    gate = asyncio.Event()
    gate.set()
    declining = False

    async def control(text: str) -> None:
        await gate.wait()
        sent.append(text)

    async def audio(chunk: bytes) -> None:
        sent.append(chunk)

    def write_now(chunk: bytes) -> bool:
        if declining:
            return False
        if chunk == b"boom":
            raise ConnectionResetError("gone")
        now.append(chunk)
        return True

    box: Outbox[bytes] = Outbox(control, audio, audio_high_bytes=1000,
                                write_audio_now=write_now)
    box.put_audio(b"early")  # no writer yet: queued
    writer = asyncio.create_task(box.run())
    await box.wait_idle()
    await asyncio.sleep(0)  # the writer waits on empty lanes
    assert box.put_audio(b"a1") and box.put_audio(b"a2")
    assert now == [b"a1", b"a2"] and sent == [b"early"] and box.audio_bytes == 0
    gate.clear()
    box.put_control("ctl")  # the writer wakes for it and waits in its send
    await asyncio.sleep(0)
    box.put_audio(b"a3")  # behind the control being sent: queued, not written now
    assert now == [b"a1", b"a2"]
    gate.set()
    await box.wait_idle()
    assert sent == [b"early", "ctl", b"a3"]
    await asyncio.sleep(0)
    declining = True
    box.put_audio(b"a4")
    box.put_audio(b"boom")  # declined too; then a failing write is queued, not raised
    declining = False
    await box.wait_idle()
    await asyncio.sleep(0)
    box.put_audio(b"boom")
    await box.wait_idle()
    assert sent == [b"early", "ctl", b"a3", b"a4", b"boom", b"boom"]
    assert now == [b"a1", b"a2"]
    box.close()
    await writer
    assert not box.put_audio(b"late") and now == [b"a1", b"a2"]  # closed: dropped
