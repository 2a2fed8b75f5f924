"""The sweeper of ``/voice``: ends interviews left ``live`` that no browser will come back
to (a link whose candidate never returned, an instance that died), every minute, by
:func:`~vivavoce.interview.resume_policy.abandoned`'s rule."""

from __future__ import annotations

import asyncio
import logging
import time

from vivavoce.interview import resume_policy
from vivavoce.realtime.relay import wall_clock
from vivavoce.redact import redact
from vivavoce.runtime import Runtime
from vivavoce.store import interviews as store
from vivavoce.web.voice_adapters import stored_interview

__all__ = ["SWEEP_EVERY_S", "end_abandoned_interviews", "sweep_forever"]

log = logging.getLogger("vivavoce.voice")

SWEEP_EVERY_S = 60.0


async def end_abandoned_interviews(runtime: Runtime, *, now: float | None = None) -> int:
    """End interviews left ``live`` by a browser that never came back (resumable drops,
    or an instance that died), by :func:`resume_policy.abandoned`'s rule. Returns how
    many."""
    current = time.time() if now is None else now
    ended = 0
    async with runtime.db.session() as s:
        live, _ = await store.list_interviews(s, status="live", limit=1000)
        for interview in live:
            end = resume_policy.abandoned(stored_interview(interview), current)
            if end is not None and await store.mark_ended(
                s,
                interview.id,
                status=end.status,
                reason=end.reason,
                error_code=end.error_code,
                at=wall_clock(current),
            ):
                ended += 1
    if ended:
        log.info("ended %d interview(s) whose browser never came back", ended)
    return ended


async def sweep_forever(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY_S)
        try:
            await end_abandoned_interviews(runtime)
        except Exception as exc:  # the next sweep may well work; never stop sweeping
            log.warning("sweeping abandoned interviews failed: %s", redact(repr(exc)))
