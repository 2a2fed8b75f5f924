"""The heartbeat of one running process, and the watch over the leases it holds.

:class:`HeartbeatService` registers the process in ``instances``, renews its row every
``interval`` (one write per process, whatever it relays) and, in the same beat, checks
every watched lease in one query (``store/leases.py``). A lease found lost — another
instance took the interview over, or it was deleted — is reported once to its
``on_lost`` callback, which stops that relay and tells its browser ``replaced``.

Fencing: when the database cannot be reached, the heartbeat cannot be renewed either,
and after ``ttl`` another instance may take this one's interviews. So once no beat has
succeeded for ``ttl``, every watched lease is reported lost: an instance that cannot
prove its lease stops driving, rather than two relays driving one interview.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from vivavoce.redact import redact
from vivavoce.store.database import Database
from vivavoce.store.leases import (
    DEFAULT_TTL,
    Lease,
    instance_label,
    lost_leases,
    new_instance_id,
    prune_instances,
    register_instance,
    renew_heartbeat,
    retire_instance,
)

__all__ = ["DEFAULT_INTERVAL", "HeartbeatService", "OnLost"]

log = logging.getLogger("vivavoce.store.heartbeat")

DEFAULT_INTERVAL = timedelta(seconds=3)
# Rows of processes silent this long are deleted (every _PRUNE_EVERY beats, not each).
_PRUNE_AFTER = timedelta(days=1)
_PRUNE_EVERY = 100

OnLost = Callable[[Lease], None]


class HeartbeatService:
    """One process's row in ``instances``, renewed until :meth:`stop`."""

    def __init__(
        self, db: Database, *, kind: str = "server", instance_id: str | None = None,
        interval: timedelta = DEFAULT_INTERVAL, ttl: timedelta = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= interval * 2:
            raise ValueError("the lease TTL must be more than two heartbeat intervals")
        self.db = db
        self.kind = kind
        self.instance_id = instance_id or new_instance_id()
        self.label = instance_label()
        self.interval = interval
        self.ttl = ttl
        self._clock = clock
        self._watched: dict[Lease, OnLost] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_ok: float | None = None
        self._beats = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Register this process (raises if the database cannot be written), then beat."""
        if self.running:
            return
        await register_instance(self.db, self.instance_id, kind=self.kind, label=self.label)
        self._last_ok = self._clock()
        self._task = asyncio.create_task(self._run(), name="vivavoce-heartbeat")

    async def stop(self) -> None:
        """Stop beating and delete this process's row, which frees its interviews."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        try:
            await retire_instance(self.db, self.instance_id)
        except Exception as exc:  # the database is down: the TTL frees them instead
            log.warning("heartbeat: could not retire this instance: %s", redact(repr(exc)))

    def watch(self, lease: Lease, on_lost: OnLost) -> Callable[[], None]:
        """Report ``lease`` to ``on_lost`` (once) when a beat finds it lost; returns the
        function that stops watching it (call it when the relay ends)."""
        self._watched[lease] = on_lost
        return lambda: self.unwatch(lease)

    def unwatch(self, lease: Lease) -> None:
        self._watched.pop(lease, None)

    @property
    def watched(self) -> list[Lease]:
        return list(self._watched)

    async def beat(self) -> None:
        """Renew the heartbeat and check the watched leases (what the loop does each
        ``interval``; public so tests and shutdown can run one at once)."""
        try:
            await renew_heartbeat(self.db, self.instance_id, kind=self.kind, label=self.label)
            lost = await lost_leases(self.db, list(self._watched))
        except Exception as exc:
            log.error("heartbeat: %s", redact(repr(exc)))
            if self._last_ok is None or self._clock() - self._last_ok >= self.ttl.total_seconds():
                self._report(list(self._watched))  # fenced: we can no longer prove them
            return
        self._last_ok = self._clock()
        self._report(lost)
        self._beats += 1
        if self._beats % _PRUNE_EVERY == 0:
            try:
                await prune_instances(self.db, older_than=_PRUNE_AFTER)
            except Exception as exc:
                log.warning("heartbeat: pruning old instances failed: %s", redact(repr(exc)))

    def _report(self, leases: list[Lease]) -> None:
        for lease in leases:
            on_lost = self._watched.pop(lease, None)
            if on_lost is None:
                continue
            try:
                on_lost(lease)
            except Exception:  # one relay's bug must not stop the heartbeat
                log.exception("heartbeat: on_lost for interview %s failed", lease.interview_id)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval.total_seconds())
            await self.beat()
