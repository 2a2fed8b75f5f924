"""Flag and Mailbox behave as the asyncio Event and Queue they replace in the relay."""

from __future__ import annotations

import asyncio

import pytest

from vivavoce.realtime.lightsync import Flag, Mailbox


async def test_set_wakes_every_waiter_and_clear_after_set_takes_nothing_back() -> None:
    flag = Flag()
    waiters = [asyncio.ensure_future(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()
    flag.clear()  # as with asyncio.Event: the wake-up already given stands
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert not flag.is_set()


async def test_wait_returns_at_once_when_set_and_a_cancelled_waiter_leaves_nothing() -> None:
    flag = Flag()
    flag.set()
    assert await flag.wait() is True
    flag.clear()
    cancelled = asyncio.ensure_future(flag.wait())
    kept = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert flag._waiters is not None and len(flag._waiters) == 1
    flag.set()
    assert await kept is True
    assert flag._waiters is None  # nothing left over between waits


async def test_mailbox_is_first_in_first_out_and_get_waits_for_a_put() -> None:
    box: Mailbox[int | None] = Mailbox()
    getter = asyncio.ensure_future(box.get())
    await asyncio.sleep(0)
    assert not getter.done()
    box.put_nowait(1)
    box.put_nowait(2)
    assert await getter == 1
    box.put_nowait(None)
    assert not box.empty()
    assert box.get_nowait() == 2
    assert await box.get() is None
    assert box.empty()
    with pytest.raises(IndexError):
        box.get_nowait()
    later = asyncio.ensure_future(box.get())
    await asyncio.sleep(0)
    box.put_nowait(3)
    assert await later == 3
