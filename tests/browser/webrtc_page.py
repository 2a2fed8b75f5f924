"""What the WebRTC room tests read from Chromium: the page's peer connections and their
statistics (the remote audio's energy, the selected ICE candidate pair).

The room keeps its RTCPeerConnection to itself; :data:`CAPTURE_PEERS` (a Playwright init
script, run by the DevTools protocol before the page's own scripts, so the page's CSP
does not apply) records every one the page makes in ``window.__peers``.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

__all__ = [
    "CAPTURE_PEERS",
    "assert_loopback_pair",
    "peer_stats",
    "serve_transport",
    "wait_for",
]

CAPTURE_PEERS = """
(() => {
  const Native = window.RTCPeerConnection;
  if (typeof Native !== "function") return;
  window.__peers = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__peers.push(this);
    }
  };
})();
"""

# The newest peer connection: its state, the remote audio's energy (Chromium counts it
# only for audio actually played, here by the room's unmuted <audio> element), packets,
# and the addresses of the selected candidate pair.
PEER_STATS = """
async () => {
  const peers = window.__peers || [];
  const pc = peers[peers.length - 1];
  if (!pc) return { count: 0 };
  const out = { count: peers.length, state: pc.connectionState, signaling: pc.signalingState,
                energy: 0, packets: 0, local: null, remote: null, localType: null,
                senderEnabled: null };
  const sender = pc.getSenders().find((s) => s.track && s.track.kind === "audio");
  if (sender) out.senderEnabled = sender.track.enabled;
  if (pc.signalingState === "closed") return out;
  const stats = await pc.getStats();
  const byId = new Map();
  stats.forEach((s) => byId.set(s.id, s));
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      out.energy = s.totalAudioEnergy || 0;
      out.packets = s.packetsReceived || 0;
    }
    if (s.type === "transport" && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
  });
  if (pair) {
    const local = byId.get(pair.localCandidateId);
    const remote = byId.get(pair.remoteCandidateId);
    out.local = local ? local.address || local.ip : null;
    out.remote = remote ? remote.address || remote.ip : null;
    out.localType = local ? local.candidateType : null;
  }
  return out;
}
"""


def peer_stats(page: Any) -> dict[str, Any]:
    stats: dict[str, Any] = page.evaluate(PEER_STATS)
    return stats


def wait_for(page: Any, script: str, timeout: float = 20_000) -> None:
    # Arrow functions: the page's CSP forbids eval, which a bare expression would need.
    page.wait_for_function(f"() => {script}", timeout=timeout)


def assert_loopback_pair(stats: dict[str, Any]) -> None:
    """Both ends of the browser's selected candidate pair are 127/8."""
    for end in ("local", "remote"):
        address = stats.get(end)
        assert address, f"no selected candidate pair: {stats}"
        assert ipaddress.ip_address(address).is_loopback, f"{end} end {address} is not loopback"


def serve_transport(page: Any, transport: str | None) -> None:
    """Give the room page ``data-transport="<transport>"`` (None: no attribute, as a server
    before issue 17 renders it), whatever the server rendered: an init script sets it once
    the document is parsed, before the page's module scripts run."""
    script = """
        document.addEventListener("readystatechange", () => {
          const main = document.querySelector("main");
          if (document.readyState !== "interactive" || !main) return;
          const value = VALUE;
          if (value === null) delete main.dataset.transport;
          else main.dataset.transport = value;
        });
    """
    page.add_init_script(script.replace("VALUE", json.dumps(transport)))
