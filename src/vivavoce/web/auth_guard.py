"""Limits on guessing: failed credentials counted per client address, in the database.

Two kinds are counted apart, so a classroom mistyping links behind one address never
blocks the operator's login from the same address:

- ``admin``: a wrong admin token at ``/admin/login`` or as ``Authorization: Bearer``;
- ``link``: an interview token that is not one we signed (``/i/{token}``, ``?token=``, a
  Bearer with a token's shape). An expired or another interview's token is not a guess.

Past ``VIVAVOCE_AUTH_FREE_FAILURES`` failures in the window an address must wait: 429 with
``Retry-After``, a wait that doubles with every further failure (up to
``VIVAVOCE_AUTH_BACKOFF_MAX_SECONDS``), a metric and a log line. While it waits, its
attempts of that kind are refused *before* the credential is looked at, so waiting cannot
be skipped by guessing right. Per target (all addresses together) failures past
``VIVAVOCE_AUTH_TARGET_SLOWDOWN_AFTER`` are only answered slowly: nothing ever refuses the
right credential from another address, so the operator cannot be locked out.

The counters are rows of ``rate_counters``, shared by every worker and instance.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
import math
from datetime import timedelta
from typing import Literal

from starlette.requests import HTTPConnection

from vivavoce import metrics
from vivavoce.runtime import Runtime
from vivavoce.store import security as store
from vivavoce.store.models import utcnow

__all__ = [
    "Kind",
    "backoff_seconds",
    "client_subject",
    "record_failure",
    "retry_after",
]

log = logging.getLogger("vivavoce.security")

Kind = Literal["admin", "link"]

# The first wait; long enough to take the steam out of a script, short for a human.
_FIRST_WAIT_S = 15
# The slowest answer a failure against an over-tried target gets, in seconds.
_TARGET_DELAY_MAX_S = 2.0
_TARGET = {"admin": "admin-token", "link": "interview-links"}
# Stale counters and sessions are pruned every this many recorded failures per process.
_PRUNE_EVERY = 200
_prune_counter = itertools.count(1)


def client_subject(connection: HTTPConnection) -> str:
    """The client's address as a counting subject. uvicorn has already applied
    X-Forwarded-For from trusted proxies. IPv6 clients count per /64: one host usually
    holds a whole /64 and could otherwise hop addresses for free."""
    host = connection.client.host if connection.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"
    if address.version == 6 and not address.is_loopback:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def backoff_seconds(failures: int, free: int, maximum: int) -> int:
    """The wait after ``failures`` failures: 0 up to ``free``, then 15, 30, 60 … s, at
    most ``maximum``."""
    over = failures - free
    if over <= 0:
        return 0
    return int(min(maximum, _FIRST_WAIT_S * 2 ** min(over - 1, 30)))


async def retry_after(runtime: Runtime, kind: Kind, subject: str) -> int | None:
    """Seconds ``subject`` must still wait before trying ``kind`` again (None: it may try
    now). Counts the refusal (metric)."""
    now = utcnow()
    async with runtime.db.session() as db:
        until = await store.blocked_until(db, kind, subject, now)
    if until is None:
        return None
    metrics.rate_limited(kind)
    return max(1, math.ceil((until - now).total_seconds()))


async def record_failure(runtime: Runtime, kind: Kind, subject: str) -> None:
    """Count one failed credential of ``kind`` from ``subject``; block the address when it
    is past its free failures; slow the answer down when the target is over-tried."""
    settings = runtime.settings
    now = utcnow()
    metrics.auth_failed(kind)
    window = settings.auth_window_seconds
    async with runtime.db.session() as db:
        failures, _ = await store.bump(db, kind, subject, now, window)
        wait = backoff_seconds(
            failures, settings.auth_free_failures, settings.auth_backoff_max_seconds
        )
        if wait:
            await store.block(db, kind, subject, now + timedelta(seconds=wait))
        on_target, _ = await store.bump(db, f"target:{kind}", _TARGET[kind], now, window)
        if next(_prune_counter) % _PRUNE_EVERY == 0:
            # Long enough that a blocked address's count is never forgotten while it waits.
            await store.prune(db, now, window + settings.auth_backoff_max_seconds)
    if wait:
        log.warning(
            "too many failed %s credentials from %s (%d in the window): refused for %d s",
            kind, subject, failures, wait,
        )
    over = on_target - settings.auth_target_slowdown_after
    if over > 0:
        # Slower failures for everyone guessing this target; the right credential is
        # never delayed (this runs only after a failure).
        await asyncio.sleep(min(_TARGET_DELAY_MAX_S, 0.05 * over))
