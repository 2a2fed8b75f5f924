"""The fake's WebRTC peer for one call (aiortc), or the media-free mode's bare answer.

:func:`answer_with_media` applies the offer (non-loopback candidates removed), adds the
reply track (:class:`~vivavoce.testing.webrtc_playout.ReplyTrack`), takes the
``oai-events`` data channel the client opened, reads the candidate's track — resampled
from Opus's 48 kHz stereo to PCM16 24 kHz mono with PyAV's ``AudioResampler`` — into the
call, and returns the answer SDP. Every peer is loopback-confined
(:mod:`vivavoce.testing.webrtc_loopback`).

:func:`media_free_answer` answers an offer without any peer (no sockets, no ICE): a
valid SDP answer for a benchmark whose "browser" never connects media.
"""

from __future__ import annotations

import asyncio
import fractions
import secrets
import time
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription
from av import AudioFrame, AudioResampler

from vivavoce.testing.fake_audio import SAMPLE_RATE
from vivavoce.testing.webrtc_call import Call
from vivavoce.testing.webrtc_loopback import (
    install_loopback_only,
    loopback_configuration,
    loopback_only_sdp,
    selected_pair,
)
from vivavoce.testing.webrtc_playout import Playout

__all__ = ["OfferError", "PacedPcmTrack", "ReplyTrack", "answer_with_media", "media_free_answer", "parse_offer"]

_CHANNEL_LABEL = "oai-events"
_FRAME_SAMPLES = SAMPLE_RATE // 50  # 20 ms, WebRTC's usual packet time
_FRAME_BYTES = _FRAME_SAMPLES * 2
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
# A sender that fell this far behind (a stalled loop) restarts its clock rather than
# bursting the backlog.
_MAX_LAG_S = 0.2


class OfferError(ValueError):
    """The SDP offer cannot be answered (the message says why)."""


def parse_offer(sdp: str) -> SessionDescription:
    """Parse and check an SDP offer: it must offer audio (as OpenAI requires)."""
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises whatever the bad line causes
        raise OfferError(f"could not parse the SDP offer ({type(exc).__name__})") from None
    if not any(m.kind == "audio" for m in parsed.media):
        raise OfferError("the SDP offer has no audio media section")
    for media in parsed.media:
        if media.ice is None or media.ice.usernameFragment is None or media.ice.password is None:
            raise OfferError("the SDP offer has no ICE credentials (a=ice-ufrag, a=ice-pwd)")
        if not media.dtls or not media.dtls.fingerprints:
            raise OfferError("the SDP offer has no DTLS fingerprint (a=fingerprint)")
    return parsed


async def answer_with_media(call: Call, offer_sdp: str) -> str:
    """Answer ``offer_sdp`` with a real peer wired to ``call``; return the answer SDP."""
    install_loopback_only()
    pc = RTCPeerConnection(loopback_configuration())
    record = call.record

    async def close_peer() -> None:
        await pc.close()

    call.closers.append(close_peer)

    @pc.on("datachannel")
    def on_datachannel(channel: Any) -> None:
        if channel.label != _CHANNEL_LABEL:
            return
        call.channel.attach(channel)

        def on_message(message: str | bytes) -> None:
            call.client_event(message, "channel")

        channel.on("message", on_message)

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            call.spawn(_read_candidate(track, call))

    @pc.on("connectionstatechange")
    def on_state() -> None:
        record.connection_state = pc.connectionState
        if pc.connectionState == "connected":
            record.selected_pair = selected_pair(pc)
        elif pc.connectionState in ("failed", "closed") and not record.ended:
            call.spawn_end("connection_failed" if pc.connectionState == "failed" else "peer_closed")

    await pc.setRemoteDescription(RTCSessionDescription(loopback_only_sdp(offer_sdp), "offer"))
    pc.addTrack(ReplyTrack(call.playout))
    await pc.setLocalDescription(await pc.createAnswer())
    return loopback_only_sdp(pc.localDescription.sdp)


async def _read_candidate(track: MediaStreamTrack, call: Call) -> None:
    """Feed the candidate's audio to the call as PCM16 24 kHz mono, frame by frame."""
    resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        for out in resampler.resample(frame):  # type: ignore[arg-type]
            call.audio_in(bytes(out.planes[0])[: out.samples * 2])


def media_free_answer(offer: SessionDescription) -> str:
    """An SDP answer to ``offer`` that needs no peer: no candidates, nothing listening.

    Written by hand because aiortc only produces answers from a running peer (which
    binds sockets and gathers candidates — what this mode exists to avoid).
    """
    ufrag, pwd = secrets.token_hex(4), secrets.token_hex(12)
    fingerprint = ":".join(f"{b:02X}" for b in secrets.token_bytes(32))
    session_id = secrets.randbelow(2**62)
    mids = [m.rtp.muxId for m in offer.media]
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE " + " ".join(mid for mid in mids if mid),
        "a=msid-semantic:WMS *",
    ]
    for media in offer.media:
        if media.kind == "audio":
            lines += [
                "m=audio 9 UDP/TLS/RTP/SAVPF 111",
                "c=IN IP4 0.0.0.0",
                "a=rtcp:9 IN IP4 0.0.0.0",
                "a=rtpmap:111 opus/48000/2",
                "a=fmtp:111 minptime=10;useinbandfec=1",
                "a=sendrecv",
                "a=rtcp-mux",
            ]
        elif media.kind == "application":
            lines += [
                "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
                "c=IN IP4 0.0.0.0",
                "a=sctp-port:5000",
                "a=max-message-size:262144",
            ]
        else:
            # Other sections are rejected with port 0, as any answerer may.
            lines += [f"m={media.kind} 0 {media.profile} {' '.join(map(str, media.fmt))}", "c=IN IP4 0.0.0.0"]
        if media.rtp.muxId:
            lines.append(f"a=mid:{media.rtp.muxId}")
        lines += [
            f"a=ice-ufrag:{ufrag}",
            f"a=ice-pwd:{pwd}",
            f"a=fingerprint:sha-256 {fingerprint}",
            "a=setup:active",
            "a=end-of-candidates",
        ]
    return "\r\n".join(lines) + "\r\n"


class PacedPcmTrack(MediaStreamTrack):
    """An audio track of 20 ms PCM16 24 kHz mono frames at real-time pace: each frame is
    what :meth:`take` gives, padded with silence. aiortc's Opus encoder resamples them to
    48 kHz with PyAV's ``AudioResampler``. (The tests' WebRTC client speaks through one.)"""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._timestamp = 0

    def take(self, size: int) -> bytes:
        """Up to ``size`` bytes of PCM for the next frame."""
        raise NotImplementedError

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += _FRAME_SAMPLES
            wait = self._start + self._timestamp / SAMPLE_RATE - time.time()
            if wait < -_MAX_LAG_S:
                self._start = time.time() - self._timestamp / SAMPLE_RATE
            elif wait > 0:
                await asyncio.sleep(wait)
        data = self.take(_FRAME_BYTES)
        frame = AudioFrame(format="s16", layout="mono", samples=_FRAME_SAMPLES)
        frame.planes[0].update(data + bytes(_FRAME_BYTES - len(data)))
        frame.pts = self._timestamp
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = _TIME_BASE
        return frame


class ReplyTrack(PacedPcmTrack):
    """The outbound audio track: a :class:`Playout` played in real time, else silence."""

    def __init__(self, playout: Playout) -> None:
        super().__init__()
        self.playout = playout

    def take(self, size: int) -> bytes:
        return self.playout.take(size)
