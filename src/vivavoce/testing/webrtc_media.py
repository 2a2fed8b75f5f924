"""The fake's WebRTC peer for one call (aiortc), or the media-free mode's bare answer.

:func:`answer_with_media` applies the offer (non-loopback candidates removed), adds the
reply track (:class:`~vivavoce.testing.webrtc_playout.ReplyTrack`), takes the
``oai-events`` data channel the client opened, reads the candidate's track — resampled
from Opus's 48 kHz stereo to PCM16 24 kHz mono with PyAV's ``AudioResampler`` — into the
call, and returns the answer SDP. Every peer is loopback-confined
(:mod:`vivavoce.testing.webrtc_loopback`).

The offer is checked, and the media-free mode answered, by :mod:`webrtc_sdp`, which
imports no media library.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
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

__all__ = ["PacedPcmTrack", "ReplyTrack", "answer_with_media"]

_CHANNEL_LABEL = "oai-events"
_FRAME_SAMPLES = SAMPLE_RATE // 50  # 20 ms, WebRTC's usual packet time
_FRAME_BYTES = _FRAME_SAMPLES * 2
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
# A sender that fell this far behind (a stalled loop) restarts its clock rather than
# bursting the backlog.
_MAX_LAG_S = 0.2


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
