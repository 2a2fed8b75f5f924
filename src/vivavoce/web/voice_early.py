"""The upstream socket of a start, opened while the interview is being prepared.

The core asks for the upstream connection (``ConnectUpstream``) once the interview is
prepared: its row stored, its questions picked, its ``session.update`` built. Opening
the Realtime socket (the SDK's connect, websockets' handshake, OpenAI's answer) does not
depend on any of that but the model, so ``/voice`` starts it as soon as the start is
accepted and the model is known, and the relay's connect takes the socket already open
(or still opening): the start waits for the slower of the two instead of their sum. The
core's order is unchanged: ``session.update`` still goes only after ``prepared``.

A failure to connect is kept and raised where the relay's connect would have met it
(:class:`~vivavoce.realtime.upstream.UpstreamConnectError`, after the record exists), so
the interview's record and its error are the same as with a late connect. A socket the
start never used (a refused or failed preparation, a browser gone) is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from vivavoce.realtime.upstream import Upstream

__all__ = ["EarlyUpstream"]


class EarlyUpstream:
    """One upstream socket being opened ahead of the core's ``ConnectUpstream``, for
    ``model``. Used at most once (:meth:`take`); :meth:`discard` closes it unused."""

    def __init__(self, model: str, opener: Callable[[], Awaitable[Upstream]]) -> None:
        self.model = model
        self._task: asyncio.Task[Upstream] | None = asyncio.ensure_future(opener())
        # Its failure is read by take(); one never taken must not warn when collected.
        self._task.add_done_callback(_consume)

    @property
    def taken(self) -> bool:
        return self._task is None

    async def take(self) -> Upstream:
        """The socket, once open. Raises what opening it raised (UpstreamConnectError)."""
        task, self._task = self._task, None
        if task is None:
            raise RuntimeError("EarlyUpstream.take() called twice")
        return await task

    async def discard(self) -> None:
        """Not used after all: stop opening it, or close it."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()  # nothing when it is already open (or failed)
        await asyncio.wait([task])
        if not task.cancelled() and task.exception() is None:
            await task.result().close()


def _consume(task: asyncio.Future[Upstream]) -> None:
    if not task.cancelled():
        task.exception()
