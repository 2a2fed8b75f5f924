"""The media-free mode never loads aiortc or PyAV (they take seconds to import).

Run in a fresh interpreter: the test process itself has long imported aiortc.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A browser-like offer written by hand: building one with aiortc would import it.
_OFFER = "\\r\\n".join([
    "v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
    "a=group:BUNDLE 0 1", "a=msid-semantic: WMS",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx",
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32), "a=setup:actpass", "a=mid:0",
    "a=sendrecv", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
    "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuvwx",
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32), "a=setup:actpass", "a=mid:1",
    "a=sctp-port:5000", "",
])

_SCRIPT = textwrap.dedent(f"""
    import json, sys
    import httpx
    from vivavoce.testing import FakeConfig, FakeOpenAI, serve_in_background
    from vivavoce.testing.scenarios import scenario_key

    fake = FakeOpenAI(FakeConfig(media_free_calls=True))
    with serve_in_background(fake.app) as server:
        key = scenario_key("ok")
        response = httpx.post(
            server.http_url + "/v1/realtime/calls",
            headers={{"Authorization": "Bearer " + key}},
            files={{"sdp": (None, "{_OFFER}".encode(), "application/sdp"),
                    "session": (None, json.dumps({{"type": "realtime"}}).encode(), "application/json")}},
            timeout=10)
        assert response.status_code == 201, response.text
        assert response.text.startswith("v=0"), response.text
        call_id = response.headers["location"].rsplit("/", 1)[-1]
        hangup = httpx.post(server.http_url + f"/v1/realtime/calls/{{call_id}}/hangup",
                            headers={{"Authorization": "Bearer " + key}}, timeout=10)
        assert hangup.status_code == 200, hangup.text
        assert fake.calls[0].media is False and fake.calls[0].ended
    loaded = sorted(m for m in ("aiortc", "av", "aioice") if m in sys.modules)
    print(json.dumps(loaded))
""")


def test_a_media_free_call_does_not_import_aiortc() -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
