"""Keep every WebRTC packet of this process on loopback (127.0.0.0/8).

Tests, benchmarks and the simulator run real WebRTC peers (aiortc/aioice) and may send
traffic only to this machine's loopback. aiortc picks its own addresses, so the
confinement is explicit and process-wide (see shared BROWSER-TESTS.md "WebRTC on
loopback only"):

- aioice gathers only 127.0.0.1 (by default it skips exactly that address);
- every ICE socket's ``sendto`` drops, and counts, any datagram to another address:
  checks that arrive from elsewhere become peer-reflexive candidates aioice would
  answer;
- remote candidates that are not 127/8 — ``.local`` mDNS names included, whose
  resolution would multicast — are ignored;
- aiortc's default ICE server (a public STUN server) is replaced by none;
- :func:`loopback_only_sdp` removes non-loopback ``a=candidate`` lines from remote SDP
  before it is applied, and :func:`loopback_configuration` is the only
  ``RTCConfiguration`` to use.

:func:`install_loopback_only` patches aioice/aiortc once (idempotent, thread-safe) and
returns the process's :class:`LoopbackGuard`, whose ``dropped`` count tests assert is 0.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcicetransport import RTCIceGatherer

__all__ = [
    "LoopbackGuard",
    "install_loopback_only",
    "is_loopback",
    "loopback_configuration",
    "loopback_only_sdp",
    "selected_pair",
]

_MAX_REMEMBERED = 20


def is_loopback(host: str) -> bool:
    """True for a literal 127/8 (or ::1) address; False for names (``x.local``) and others."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@dataclass
class LoopbackGuard:
    """What the confinement refused, for tests to assert on (all counts start at 0)."""

    dropped: int = 0
    """Datagrams an ICE socket would have sent to a non-loopback address."""
    dropped_to: list[str] = field(default_factory=list)
    """The first few such destinations (``host:port``)."""
    ignored_candidates: int = 0
    """Remote candidates ignored because they were not 127/8 (mDNS names included)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_drop(self, addr: Any) -> None:
        with self._lock:
            self.dropped += 1
            if len(self.dropped_to) < _MAX_REMEMBERED:
                self.dropped_to.append(":".join(str(part) for part in tuple(addr)[:2]))

    def count_ignored(self) -> None:
        with self._lock:
            self.ignored_candidates += 1


_GUARD = LoopbackGuard()
_INSTALL_LOCK = threading.Lock()
_installed = False


class _LoopbackTransport:
    """A datagram transport whose ``sendto`` only reaches loopback; all else delegates."""

    def __init__(self, inner: asyncio.DatagramTransport) -> None:
        self._inner = inner

    def sendto(self, data: Any, addr: Any = None) -> None:
        if addr is not None and not is_loopback(str(addr[0])):
            _GUARD.count_drop(addr)
            return
        self._inner.sendto(data, addr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _loopback_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    # Only the IPv4 loopback: aioice's own version lists every interface but it.
    return ["127.0.0.1"] if use_ipv4 else []


def install_loopback_only() -> LoopbackGuard:
    """Confine aioice/aiortc in this process to loopback; safe to call any number of times."""
    global _installed
    with _INSTALL_LOCK:
        if _installed:
            return _GUARD
        aioice.ice.get_host_addresses = _loopback_host_addresses

        original_made: Callable[[aioice.ice.StunProtocol, asyncio.BaseTransport], None] = (
            aioice.ice.StunProtocol.connection_made
        )

        @functools.wraps(original_made)
        def connection_made(self: aioice.ice.StunProtocol, transport: asyncio.BaseTransport) -> None:
            original_made(self, transport)
            self.transport = _LoopbackTransport(self.transport)  # type: ignore[assignment]

        aioice.ice.StunProtocol.connection_made = connection_made  # type: ignore[method-assign]

        original_add = aioice.ice.Connection.add_remote_candidate

        @functools.wraps(original_add)
        async def add_remote_candidate(
            self: aioice.ice.Connection, remote_candidate: aioice.Candidate | None
        ) -> None:
            # Checked before aioice sees it: an mDNS name would be resolved by multicast.
            if remote_candidate is not None and not is_loopback(remote_candidate.host):
                _GUARD.count_ignored()
                return
            await original_add(self, remote_candidate)

        aioice.ice.Connection.add_remote_candidate = add_remote_candidate  # type: ignore[method-assign]
        # aiortc's default is Google's public STUN server; there is no default here.
        RTCIceGatherer.getDefaultIceServers = classmethod(lambda cls: [])  # type: ignore[method-assign,assignment]
        _installed = True
        return _GUARD


def loopback_configuration() -> RTCConfiguration:
    """The RTCConfiguration of every peer: no ICE servers at all."""
    install_loopback_only()
    return RTCConfiguration(iceServers=[])


def loopback_only_sdp(sdp: str) -> str:
    """``sdp`` without the ``a=candidate`` lines whose address is not 127/8.

    Line endings are kept as they were (CRLF in real SDP).
    """
    kept: list[str] = []
    for line in sdp.splitlines(keepends=True):
        if line.startswith("a=candidate:"):
            bits = line.split()
            if len(bits) < 8 or not is_loopback(bits[4]):
                continue
        kept.append(line)
    return "".join(kept)


def selected_pair(pc: RTCPeerConnection) -> list[tuple[tuple[str, int], tuple[str, int]]]:
    """The nominated ICE pair of each of ``pc``'s ICE transports: ``((local), (remote))``.

    Reads aioice's nominated pairs (aiortc has no public API for them); empty before
    ICE has completed.
    """
    dtls = [t.receiver.transport for t in pc.getTransceivers()]
    if pc.sctp is not None:
        dtls.append(pc.sctp.transport)
    pairs: list[tuple[tuple[str, int], tuple[str, int]]] = []
    seen: set[int] = set()
    for transport in dtls:
        if transport is None:
            continue
        connection: aioice.ice.Connection = transport.transport.iceGatherer._connection
        if id(connection) in seen:
            continue
        seen.add(id(connection))
        for pair in connection._nominated.values():
            local, remote = pair.local_candidate, pair.remote_candidate
            pairs.append(((local.host, local.port), (remote.host, remote.port)))
    return pairs
