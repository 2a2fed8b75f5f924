"""Lighter :class:`asyncio.Event` and :class:`asyncio.Queue` for what each live interview
holds many of.

An ``asyncio.Event`` allocates its waiter deque when it is made: 760 bytes on Python
3.11, ~860 with the event, whether anyone ever waits on it; an ``asyncio.Queue`` holds
four (3.3 KB). A relay with its two outboxes held twelve events and a queue, most of them
rarely awaited (docs/performance.md, "Memory per interview (session 6)"). :class:`Flag`
has the event's methods and meaning (``set`` wakes every waiter, ``clear`` does not take
back a wake-up already given) and makes its waiter list only when someone waits while it
is clear: ~60 bytes at rest. :class:`Mailbox` is the one-reader queue the relay's
database writer needs, for the few messages a turn brings.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

__all__ = ["Flag", "Mailbox"]

T = TypeVar("T")


class Flag:
    """``set``/``clear``/``is_set``/``wait``, as :class:`asyncio.Event`."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        """Return (True) once the flag is set; at once when it already is."""
        if self._value:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters
        if waiters is None:
            waiters = self._waiters = []
        waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            # Woken (set() dropped the list) or cancelled: never left behind.
            if self._waiters is waiters and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    self._waiters = None


class Mailbox(Generic[T]):
    """An unbounded FIFO for one reader: ``put_nowait``, ``get``, ``get_nowait``,
    ``empty``, as :class:`asyncio.Queue` (``get_nowait`` raises ``IndexError`` when
    empty). A list, not a deque: it holds a few items at a time."""

    __slots__ = ("_items", "_ready")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._ready = Flag()

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        self._ready.set()

    def get_nowait(self) -> T:
        item = self._items.pop(0)
        if not self._items:
            self._ready.clear()
        return item

    async def get(self) -> T:
        """The oldest item, once there is one."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self.get_nowait()
