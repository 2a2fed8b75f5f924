"""Takeover across instances for /voice: the interview a relay drives is leased to this
process (store/leases.py), and the relay stops when another process asks for it.

The process holds one :class:`~vivavoce.store.heartbeat.HeartbeatService` (one write per
beat however many interviews it relays, started and stopped with the app).

A link opened here while another instance drives its interview (:func:`link_decision`,
by :func:`~vivavoce.interview.resume_policy.decide`): this instance asks the holder to
hand it over (:func:`~vivavoce.store.leases.ask_handover`), and waits — the holder's next
beat (within 3 s) finds its lease lost, its relay tells its browser ``replaced``, stores
its last turns and releases the row — until the row is free or the holder's lease
expired (a crashed holder never answers), at most the lease's remaining time plus a beat.
Only then is the lease taken (:func:`lease_for`) and the turns read, so the new session
is seeded with everything the old one said. When the relay ends, the lease is released;
a crashed process's leases expire with its heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from vivavoce.interview import resume_policy
from vivavoce.realtime.relay import VoiceRelay
from vivavoce.redact import redact
from vivavoce.runtime import Runtime
from vivavoce.store.heartbeat import HeartbeatService
from vivavoce.store.interviews import InterviewNotFound
from vivavoce.store.leases import (
    Holder,
    Lease,
    ask_handover,
    interview_and_holder,
    lease_holder,
    release_lease,
    take_lease,
)
from vivavoce.store.models import Interview, utcnow
from vivavoce.web.voice_adapters import stored_interview

__all__ = [
    "Release",
    "instance_id",
    "lease_for",
    "link_decision",
    "no_lease",
    "start_heartbeat",
    "stop_heartbeat",
]

# How often a waiting handover reads the row again.
HANDOVER_POLL_S = 0.25

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


def _view(runtime: Runtime, holder: Holder) -> resume_policy.LeaseView:
    heartbeat = runtime.heartbeat
    if heartbeat is None or holder.owner_id is None:
        return resume_policy.FREE
    if holder.owner_id == heartbeat.instance_id:
        return resume_policy.LeaseView("this_instance")
    expires = holder.expires_in(utcnow(), heartbeat.ttl).total_seconds()
    return resume_policy.LeaseView("another_instance", expires)


async def link_decision(
    runtime: Runtime, interview_id: str, now: Callable[[], float],
) -> tuple[Interview | None, resume_policy.ResumeDecision]:
    """Read the link's interview and its lease, and decide (resume_policy.decide); when
    another live instance drives it, have it hand over first (see the module's doc).
    Never returns :class:`~resume_policy.HandOver`."""
    asked = False
    while True:
        found = await interview_and_holder(runtime.db, interview_id)
        if found is None:
            return None, resume_policy.decide(None, now(), handover_asked=asked)
        interview, holder = found
        row = stored_interview(interview, _view(runtime, holder))
        decision = resume_policy.decide(row, now(), handover_asked=asked)
        if not isinstance(decision, resume_policy.HandOver):
            return interview, decision
        asked = True
        await _hand_over(runtime, interview_id, holder, decision.wait_s)


async def _hand_over(runtime: Runtime, interview_id: str, holder: Holder,
                     wait_s: float) -> None:
    """Ask ``holder`` to hand the interview over, then wait until the row is free, names
    another owner, or the holder's lease expired; at most ``wait_s``."""
    log.info("interview %s is live on another instance; asking it to hand over",
             interview_id, extra={"interview_id": interview_id})
    await ask_handover(runtime.db, interview_id, holder)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        await asyncio.sleep(HANDOVER_POLL_S)
        try:
            current = await lease_holder(runtime.db, interview_id)
        except InterviewNotFound:
            return
        if not _view(runtime, current).held_elsewhere or current.owner_id != holder.owner_id:
            return


def instance_id(runtime: Runtime) -> str | None:
    """The id this process's leases name (None: no heartbeat, the relay runs unleased):
    a new interview is created with it as its owner, its lease taken in the insert."""
    return runtime.heartbeat.instance_id if runtime.heartbeat is not None else None


async def lease_for(runtime: Runtime, relay: VoiceRelay, interview_id: str,
                    created: Interview | None = None) -> Release | None:
    """Take the interview's lease for this process and watch it; returns what releases
    it when the relay ends, or None when another live instance holds it (it took the
    interview meanwhile). ``created``: the row this process just inserted; when it names
    this process as its owner its lease is already held, and only watched. Without a
    heartbeat (not started), or if the database fails here, the relay runs unleased: the
    database being slow must not stop an interview."""
    heartbeat = runtime.heartbeat
    if heartbeat is None:
        return no_lease
    lease: Lease | None = None
    if created is not None and created.owner_id == heartbeat.instance_id:
        lease = Lease(created.id, heartbeat.instance_id, created.lease_generation)
    else:
        try:
            lease = await take_lease(runtime.db, interview_id, heartbeat.instance_id,
                                     ttl=heartbeat.ttl)
        except InterviewNotFound:
            return no_lease
        except Exception as exc:
            log.error("could not take the lease of interview %s: %s", interview_id,
                      redact(repr(exc)))
            return no_lease
    if lease is None:
        return None
    held: Lease = lease

    def lost(_lease: object) -> None:
        log.info("interview %s was taken over by another instance; stopping here",
                 interview_id, extra={"interview_id": interview_id})
        if not relay.done.is_set():
            relay.replace()

    unwatch = heartbeat.watch(held, lost)

    async def release() -> None:
        unwatch()
        # A newer relay of this process may hold a later generation: never free that.
        here = {w.generation for w in heartbeat.watched if w.interview_id == interview_id}
        with contextlib.suppress(Exception):  # the TTL frees it if the database is down
            await release_lease(runtime.db, held, held_here=here)

    return release
