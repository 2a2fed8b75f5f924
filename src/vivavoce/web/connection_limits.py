"""Admission for ``/voice``: a deadline to start and caps on connections (issue 14).

Pure bookkeeping, no I/O: ``/voice`` asks :meth:`ConnectionGate.admit` before accepting a
socket, holds the returned :class:`Ticket` for the connection's life, calls
:meth:`Ticket.mark_started` when the server accepts ``start_interview`` and
:meth:`Ticket.release` when the socket ends. "Started" means exactly that acceptance.

- **A deadline to start** (``VIVAVOCE_VOICE_START_DEADLINE_SECONDS``, 30 s): a connection
  that has not started by then is closed (:meth:`Ticket.seconds_to_start`,
  :meth:`Ticket.deadline_refusal`). 1,000 idle sockets cost ~90 MiB and 1,000 file
  descriptors; nothing else bounds them.
- **Not-yet-started connections per client address**
  (``VIVAVOCE_VOICE_MAX_UNSTARTED_PER_ADDRESS``, 300): high enough for a classroom behind
  one NAT address all pressing Start together, low enough that one address cannot hold
  the whole server.
- **All connections** (``VIVAVOCE_VOICE_MAX_CONNECTIONS``, 2000).
- **Takeover is never refused**: the newest connection to a link replaces the old one
  (which the relay then closes), so ``admit(…, takeover=True)`` passes the caps — the
  total does not grow once the old socket goes. Only the newest such connection per link
  waits to start: an older one still waiting is superseded (:meth:`Ticket.wait_superseded`,
  and /voice closes it as replaced), so one link cannot hold sockets past the caps.

Every refusal has one shape (the performance issue's): an ``error`` message with
``fatal: true``, ``retryable: true`` and ``retry_after_s``, then close code 1013 ("try
again later"). The counts are per process (one event loop, no locks needed): with
several workers or instances each holds its own, which is the right unit for sockets and
file descriptors anyway.

- **Live interviews** (``VIVAVOCE_MAX_LIVE_INTERVIEWS``, 200): a ``start_interview`` past
  that many started connections is refused with ``server_busy`` (:meth:`Ticket.start`),
  so an overloaded process says so instead of degrading every interview (issue 12).

The hook in web/voice.py (sketch; see ``voice`` there)::

    gate: ConnectionGate  # one per app, built from the settings at start-up
    admission = gate.admit(client_address, takeover=link_has_a_live_connection)
    if isinstance(admission, Refusal):
        await websocket.accept()
        await websocket.send_json(admission.message())
        await websocket.close(admission.close_code)
        return
    try:
        first = await asyncio.wait_for(receive_start(), admission.seconds_to_start())
        refusal = admission.start()         # start_interview accepted, or server_busy
        ...
    except TimeoutError:
        refusal = admission.deadline_refusal()
        await websocket.send_json(refusal.message())
        await websocket.close(refusal.close_code)
    finally:
        admission.release()
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from vivavoce import metrics
from vivavoce.config import Settings
from vivavoce.interview import browser_messages
from vivavoce.realtime.lightsync import Flag

__all__ = [
    "CLOSE_TRY_AGAIN_LATER",
    "ConnectionGate",
    "ConnectionLimits",
    "Refusal",
    "RefusalReason",
    "Ticket",
]

CLOSE_TRY_AGAIN_LATER = 1013

RefusalReason = Literal[
    "too_many_unstarted", "too_many_connections", "start_deadline", "server_busy"
]

# How long a refused client should wait before trying again. A crowd behind one address
# clears in seconds (each connection either starts or hits the deadline); a full server
# needs interviews to end.
_RETRY_AFTER_S: dict[RefusalReason, int] = {
    "too_many_unstarted": 5,
    "too_many_connections": 30,
    "start_deadline": 1,
    "server_busy": 30,
}
# Words for the candidate (never blaming them, no operator detail).
_MESSAGES: dict[RefusalReason, str] = {
    "too_many_unstarted": "Many interviews are being started from your network right now. "
    "Please try again in a few seconds.",
    "too_many_connections": "The interview service is very busy right now. Please try "
    "again in a little while.",
    "start_deadline": "The interview was not started in time. Please press Start again.",
    "server_busy": "The interview service is busy right now. Please try again in a "
    "little while.",
}


@dataclass(frozen=True)
class ConnectionLimits:
    start_deadline_s: float = 30.0
    max_unstarted_per_address: int = 300
    max_connections: int = 2000
    # Interviews started at once on this process (issue 12): past it a new start gets
    # ``server_busy`` rather than every live interview getting worse.
    max_live_interviews: int = 200

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            start_deadline_s=settings.voice_start_deadline_seconds,
            max_unstarted_per_address=settings.voice_max_unstarted_per_address,
            max_connections=settings.voice_max_connections,
            max_live_interviews=settings.max_live_interviews,
        )


@dataclass(frozen=True)
class Refusal:
    """Why a connection is refused or closed, in the one shape the browser understands."""

    reason: RefusalReason
    retry_after_s: int
    close_code: int = CLOSE_TRY_AGAIN_LATER

    def message(self) -> dict[str, Any]:
        """The ``error`` message to send before closing."""
        return browser_messages.error(self.reason, _MESSAGES[self.reason], fatal=True,
                                      retry_after_s=self.retry_after_s)


@dataclass
class Ticket:
    """One admitted connection. Release it exactly once when the socket ends (extra calls
    are ignored)."""

    gate: ConnectionGate
    address: str
    opened_at: float
    started: bool = False
    released: bool = False
    # The link this connection takes over (admitted past the caps), or None.
    link: str | None = None
    _superseded: Flag = field(default_factory=Flag)

    @property
    def superseded(self) -> bool:
        """A newer connection to the same link came before this one started."""
        return self._superseded.is_set()

    async def wait_superseded(self, seconds: float) -> bool:
        """Wait at most ``seconds`` for a newer connection to supersede this one; whether
        it did."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._superseded.wait()
        return self.superseded

    def seconds_to_start(self) -> float:
        """Seconds left before the start deadline (0 when passed)."""
        left = self.opened_at + self.gate.limits.start_deadline_s - self.gate.clock()
        return max(0.0, left)

    def deadline_refusal(self) -> Refusal:
        """The refusal to send when the deadline passes without a start."""
        metrics.connection_refused("start_deadline")
        return Refusal("start_deadline", _RETRY_AFTER_S["start_deadline"])

    def start(self, *, takeover: bool = False) -> Refusal | None:
        """``start_interview`` arrived: mark the connection started, or refuse it with
        ``server_busy`` when the process already serves its capacity of interviews.
        ``takeover``: it continues an interview served here already (never refused)."""
        if self.started or self.released:
            return None
        if not takeover and self.gate.started >= self.gate.limits.max_live_interviews:
            metrics.connection_refused("server_busy")
            return Refusal("server_busy", _RETRY_AFTER_S["server_busy"])
        self.mark_started()
        return None

    def mark_started(self) -> None:
        """The server accepted ``start_interview``: no longer counted as unstarted."""
        if self.started or self.released:
            return
        self.started = True
        self._pending_done()
        self.gate._unstarted_done(self.address)
        self.gate._started += 1

    def _pending_done(self) -> None:
        if self.link is not None and self.gate._pending.get(self.link) is self:
            del self.gate._pending[self.link]

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self._pending_done()
        if self.started:
            self.gate._started = max(0, self.gate._started - 1)
        else:
            self.gate._unstarted_done(self.address)
        self.gate._connection_done()


@dataclass
class ConnectionGate:
    """The counts for one process. ``clock`` is injectable for tests."""

    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    clock: Callable[[], float] = time.monotonic
    _total: int = 0
    _unstarted: dict[str, int] = field(default_factory=dict)
    _started: int = 0
    # Per link, its newest takeover connection not yet started.
    _pending: dict[str, Ticket] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self._total

    @property
    def started(self) -> int:
        """Connections whose ``start_interview`` was accepted (live interviews)."""
        return self._started

    def unstarted(self, address: str) -> int:
        return self._unstarted.get(address, 0)

    def admit(
        self, address: str, *, takeover: bool = False, link: str | None = None
    ) -> Ticket | Refusal:
        """A ticket for a new connection from ``address``, or why it is refused.
        ``takeover``: it replaces a live connection to ``link`` (never refused; an older
        connection to that link still waiting to start is superseded)."""
        if not takeover:
            reason: RefusalReason | None = None
            if self._total >= self.limits.max_connections:
                reason = "too_many_connections"
            elif self.unstarted(address) >= self.limits.max_unstarted_per_address:
                reason = "too_many_unstarted"
            if reason is not None:
                metrics.connection_refused(reason)
                return Refusal(reason, _RETRY_AFTER_S[reason])
        self._total += 1
        self._unstarted[address] = self.unstarted(address) + 1
        ticket = Ticket(self, address, self.clock())
        if takeover and link is not None:
            ticket.link = link
            previous = self._pending.get(link)
            self._pending[link] = ticket
            if previous is not None:  # still waiting to start (it leaves _pending then)
                previous._superseded.set()
        return ticket

    # --- bookkeeping for Ticket ---
    def _unstarted_done(self, address: str) -> None:
        left = self.unstarted(address) - 1
        if left > 0:
            self._unstarted[address] = left
        else:
            self._unstarted.pop(address, None)

    def _connection_done(self) -> None:
        self._total = max(0, self._total - 1)
