"""Takeover across instances for /voice: the interview a relay drives is leased to this
process (store/leases.py), and the relay stops when another process takes it.

The process holds one :class:`~vivavoce.store.heartbeat.HeartbeatService` (one write per
beat however many interviews it relays, started and stopped with the app). A relay that
is about to drive an interview takes its lease as an explicit takeover (a browser opening
its link wins over an older connection anywhere) and is watched: when a beat finds the
lease taken (within one beat, 3 s), the relay tells its browser ``replaced`` and stops as
on a same-instance takeover. When the relay ends, the lease is released; a crashed
process's leases expire with its heartbeat.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

from vivavoce.realtime.relay import VoiceRelay
from vivavoce.redact import redact
from vivavoce.runtime import Runtime
from vivavoce.store.heartbeat import HeartbeatService
from vivavoce.store.interviews import InterviewNotFound
from vivavoce.store.leases import release_lease, take_lease

__all__ = ["Release", "lease_for", "no_lease", "start_heartbeat", "stop_heartbeat"]

log = logging.getLogger("vivavoce.voice")

Release = Callable[[], Awaitable[None]]


async def no_lease() -> None:
    """The release of a relay that holds no lease."""


async def start_heartbeat(runtime: Runtime) -> None:
    heartbeat = HeartbeatService(runtime.db, kind="server")
    await heartbeat.start()
    runtime.heartbeat = heartbeat


async def stop_heartbeat(runtime: Runtime) -> None:
    heartbeat, runtime.heartbeat = runtime.heartbeat, None
    if heartbeat is not None:
        await heartbeat.stop()  # deletes this process's row: its interviews are free


async def lease_for(runtime: Runtime, relay: VoiceRelay, interview_id: str) -> Release:
    """Take the interview's lease for this process and watch it; returns what releases
    it when the relay ends. Without a heartbeat (not started), or if the lease cannot be
    taken, the relay runs unleased: the database being slow must not stop an interview."""
    heartbeat = runtime.heartbeat
    if heartbeat is None:
        return no_lease
    try:
        lease = await take_lease(runtime.db, interview_id, heartbeat.instance_id,
                                 takeover=True)
    except InterviewNotFound:
        return no_lease
    except Exception as exc:
        log.error("could not take the lease of interview %s: %s", interview_id,
                  redact(repr(exc)))
        return no_lease
    if lease is None:
        return no_lease

    def lost(_lease: object) -> None:
        log.info("interview %s was taken over by another instance; stopping here",
                 interview_id, extra={"interview_id": interview_id})
        if not relay.done.is_set():
            relay.replace()

    unwatch = heartbeat.watch(lease, lost)

    async def release() -> None:
        unwatch()
        with contextlib.suppress(Exception):  # the TTL frees it if the database is down
            await release_lease(runtime.db, lease)

    return release
