"""The process-wide loopback confinement of aioice/aiortc (no packet leaves 127/8)."""

from __future__ import annotations

import asyncio

import aioice.ice
from aioice import Candidate
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.rtcicetransport import RTCIceGatherer

from vivavoce.testing.webrtc_loopback import (
    install_loopback_only,
    is_loopback,
    loopback_configuration,
    loopback_only_sdp,
    selected_pair,
)

_OFFER = (
    "v=0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=candidate:1 1 udp 2122260223 192.168.1.20 50000 typ host\r\n"
    "a=candidate:2 1 udp 2122260223 127.0.0.1 50001 typ host\r\n"
    "a=candidate:3 1 udp 2122260223 3c1f7d1e-1b9c-4a43-9f55-2b4f0a4e1f11.local 50002 typ host\r\n"
    "a=candidate:4 1 udp 1686052607 203.0.113.7 50003 typ srflx raddr 10.0.0.2 rport 50000\r\n"
    "a=candidate:5 1 udp 2122260223 127.3.4.5 50004 typ host\r\n"
    "a=end-of-candidates\r\n"
)


def test_install_is_idempotent_and_gathers_only_127_0_0_1() -> None:
    guard = install_loopback_only()
    patched = aioice.ice.get_host_addresses
    assert install_loopback_only() is guard
    assert aioice.ice.get_host_addresses is patched
    assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1"]
    assert RTCIceGatherer.getDefaultIceServers() == []
    assert loopback_configuration().iceServers == []


def test_remote_sdp_keeps_only_loopback_candidates() -> None:
    kept = loopback_only_sdp(_OFFER)
    candidates = [line for line in kept.splitlines() if line.startswith("a=candidate:")]
    assert candidates == [
        "a=candidate:2 1 udp 2122260223 127.0.0.1 50001 typ host",
        "a=candidate:5 1 udp 2122260223 127.3.4.5 50004 typ host",
    ]
    assert kept.endswith("a=end-of-candidates\r\n") and "\r\n" in kept
    assert is_loopback("::1") and not is_loopback("x.local") and not is_loopback("10.0.0.1")


async def test_sends_to_other_addresses_are_dropped_and_counted() -> None:
    guard = install_loopback_only()
    connection = aioice.ice.Connection(ice_controlling=True)
    await connection.gather_candidates()
    try:
        assert [c.host for c in connection.local_candidates] == ["127.0.0.1"]
        protocol = connection._protocols[0]
        before, ignored = guard.dropped, guard.ignored_candidates
        protocol.transport.sendto(b"probe", ("192.0.2.1", 9))  # TEST-NET-1
        assert guard.dropped == before + 1
        assert "192.0.2.1:9" in guard.dropped_to
        # Remote candidates outside 127/8 never reach aioice (an mDNS name would multicast).
        for host in ("192.168.1.20", "3c1f7d1e-1b9c-4a43-9f55-2b4f0a4e1f11.local"):
            await connection.add_remote_candidate(
                Candidate(foundation="1", component=1, transport="udp", priority=1, host=host, port=5, type="host")
            )
        assert connection.remote_candidates == []
        assert guard.ignored_candidates == ignored + 2
        await connection.add_remote_candidate(
            Candidate(foundation="1", component=1, transport="udp", priority=1, host="127.0.0.1", port=5, type="host")
        )
        assert [c.host for c in connection.remote_candidates] == ["127.0.0.1"]
    finally:
        await connection.close()


async def test_two_aiortc_peers_connect_over_loopback_only() -> None:
    guard = install_loopback_only()
    before = guard.dropped
    offerer, answerer = RTCPeerConnection(loopback_configuration()), RTCPeerConnection(loopback_configuration())
    try:
        channel = offerer.createDataChannel("oai-events")
        opened = asyncio.Event()
        channel.on("open", opened.set)
        await offerer.setLocalDescription(await offerer.createOffer())
        await answerer.setRemoteDescription(
            RTCSessionDescription(loopback_only_sdp(offerer.localDescription.sdp), "offer")
        )
        await answerer.setLocalDescription(await answerer.createAnswer())
        await offerer.setRemoteDescription(answerer.localDescription)
        async with asyncio.timeout(10):
            await opened.wait()
        for pc in (offerer, answerer):
            pairs = selected_pair(pc)
            assert pairs
            for local, remote in pairs:
                assert is_loopback(local[0]) and is_loopback(remote[0])
        assert guard.dropped == before
    finally:
        await offerer.close()
        await answerer.close()
