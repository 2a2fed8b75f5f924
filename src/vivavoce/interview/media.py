"""Which transport carries an interview's audio, and the WebRTC rules (issue 17).

The room may offer WebRTC in ``start_interview`` (``"webrtc": {"sdp": …}``,
docs/protocol.md). Then the audio goes straight between the browser and OpenAI and the
server drives the same interview over the call's sideband: :class:`Media` decides

* whether the offer is taken (``VIVAVOCE_TRANSPORT=relay`` refuses it: ``disabled``);
* what opens the Realtime side: ``CreateCall`` (then the sideband) or ``ConnectUpstream``;
* when the interview may go live: the sideband configured *and* the browser's
  ``webrtc_state connected`` (the AI must not speak into a call nobody hears yet);
* the fallback to the relay on the same socket: no ``connected`` within the connect
  timeout (``media_timeout``), ``failed`` before it (``media_failed``), or a refused call
  with a non-fatal cause (``call_refused``; a fatal one is the usual error);
* the media lost once connected (``media_lost``): ``failed``, ``disconnected`` for longer
  than the connect timeout, or the call ended under the interview (its sideband closed
  normally: the peer went away). The call is hung up and the core continues the
  interview over the relay, seeded with the conversation as after an upstream drop;
* who controls the call's session: :class:`~vivavoce.interview.call_guard.CallGuard`
  (what the browser sends on the data channel is undone);
* whether the interviewer is still heard: on a call OpenAI plays the audio itself, so the
  browser's playback is read from ``output_audio_buffer.started/stopped/cleared`` (the
  spoken wrap-up ends once the goodbye has stopped playing). There are no audio deltas
  on a call: OpenAI cuts a reply itself at a barge-in and says where
  (``conversation.item.truncated``), which amends the stored turn (conversation.py).

No I/O: inputs take ``now`` and return :class:`Step` values the core turns into phases
and actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from vivavoce.interview import browser_input, browser_messages
from vivavoce.interview.actions import (
    Action,
    ConnectUpstream,
    CreateCall,
    HangUpCall,
    Log,
    SendJson,
)
from vivavoce.interview.call_guard import CallGuard
from vivavoce.interview.failure_policy import TRANSIENT_CAUSES
from vivavoce.interview.time_limits import TimeLimits

__all__ = ["FallbackReason", "Media", "Step", "Transport"]

Transport = Literal["relay", "webrtc", "auto"]
FallbackReason = Literal["media_timeout", "media_failed", "call_refused", "disabled",
                         "media_lost"]

_BUFFER_EVENTS = ("output_audio_buffer.started", "output_audio_buffer.stopped",
                  "output_audio_buffer.cleared")


@dataclass
class Step:
    """What an input means for the core: actions, and whether to go live now or to go
    back to connecting (the relay takes over)."""

    actions: list[Action] = field(default_factory=list)
    live: bool = False
    relay: bool = False
    reason: str | None = None

    def without_connect(self) -> list[Action]:
        """The actions when the core reconnects itself (a fallback once live)."""
        return [a for a in self.actions if not isinstance(a, ConnectUpstream)]


class Media:
    """One interview's transport. ``transport``: the server's setting; ``timeout_s``:
    how long the browser's media has to connect once it has the answer."""

    def __init__(self, transport: Transport = "relay", timeout_s: float = 5.0,
                 time: TimeLimits | None = None, max_tampering: int = 3) -> None:
        self.transport = transport
        self.timeout_s = timeout_s
        self._time = time
        self._offer: str | None = None
        self.answered_at: float | None = None
        self.connected = False
        self.configured = False  # the sideband's session.updated, held until connected
        self.fallback: FallbackReason | None = None
        self.playing = False  # OpenAI is playing the interviewer to the browser
        self._goodbye_heard = False
        self.disconnected_at: float | None = None  # the browser's media, once connected
        self.guard = CallGuard(lambda: self.on_webrtc, max_tampering)

    def bind(self, time: TimeLimits) -> Media:
        self._time = time
        return self

    @property
    def on_webrtc(self) -> bool:
        """The offer was taken and the relay has not taken over."""
        return self._offer is not None and self.fallback is None

    @property
    def name(self) -> str:
        """``interview_started``'s ``transport``."""
        return "webrtc" if self.on_webrtc else "relay"

    # ------------------------------------------------------------------ the start
    def offered(self, webrtc: Any) -> list[Action]:
        """``start_interview``'s ``webrtc`` field (None: the original protocol, relayed)."""
        if webrtc is None:
            return []
        sdp = webrtc.get("sdp") if isinstance(webrtc, dict) else None
        if not isinstance(sdp, str) or not sdp.strip():
            return [SendJson(browser_input.bad_message(
                '"webrtc" needs "sdp": the offer as a string; the interview is relayed.',
                "invalid_webrtc_offer").error)]
        if self.transport == "relay":
            self.fallback = "disabled"
            return [SendJson(browser_messages.webrtc_fallback("disabled")),
                    Log("info", "WebRTC offer ignored: VIVAVOCE_TRANSPORT=relay")]
        self._offer = sdp
        return []

    def connect(self, session_update: Mapping[str, object] | None) -> list[Action]:
        """The interview is prepared: place the call, or open the relay's session."""
        session = session_update.get("session") if session_update is not None else None
        self.guard.configure(session_update)
        if self.on_webrtc and self._offer is not None and isinstance(session, dict):
            return [CreateCall(self._offer, dict(session))]
        return [ConnectUpstream()]

    def call_created(self, answer_sdp: str, now: float) -> list[Action]:
        """OpenAI answered: the browser gets the answer, the server joins the sideband."""
        if not self.on_webrtc:  # not expected: the adapter hangs any call up at the end
            return [Log("debug", "WebRTC answer ignored: not on WebRTC")]
        self.answered_at = now
        return [SendJson(browser_messages.webrtc_answer(answer_sdp)), ConnectUpstream(),
                Log("info", "WebRTC call placed; joining its sideband")]

    @staticmethod
    def fatal_refusal(cause: str | None) -> bool:
        """A refused call whose cause would stop the relay too (a bad key, no Realtime
        access, no credit…) fails the start as the relay does; an unknown or passing one
        (an offer OpenAI did not take, an outage) leaves the interview to the relay."""
        return cause is not None and cause not in TRANSIENT_CAUSES

    def call_refused(self, detail: str | None) -> Step:
        """``calls.create`` failed with a cause that is not fatal: relay instead."""
        return self._fall_back("call_refused", hang_up=False, detail=detail)

    # ------------------------------------------------------------------ the media
    def browser_state(self, state: Any, now: float) -> Step:
        """The room's ``webrtc_state``."""
        if state not in ("connected", "failed", "disconnected"):
            return Step([SendJson(browser_input.bad_message(
                '"webrtc_state" needs "state": "connected", "failed" or "disconnected".').error)])
        if not self.on_webrtc or self.answered_at is None:
            return Step([Log("debug", "webrtc_state ignored: not on WebRTC",
                             {"state": state})])
        if state == "connected" and not self.connected:
            self.connected = True
            return Step([Log("info", "WebRTC media connected")], live=self.configured)
        if state == "failed":
            return self._fall_back("media_lost" if self.connected else "media_failed")
        # Disconnected may come back by itself (ICE restarts): it has the connect timeout.
        if state == "disconnected" and self.disconnected_at is None:
            self.disconnected_at = now
        elif state == "connected":
            self.disconnected_at = None
        return Step([Log("info" if state != "connected" else "debug",
                         "WebRTC media state", {"state": state})])

    def call_ended(self, code: int | None) -> Step | None:
        """The sideband closed normally (1000) once the media had connected: OpenAI ended
        the call under the interview (the peer went away), the relay takes over."""
        if self.on_webrtc and self.connected and code == 1000:
            return self._fall_back("media_lost", detail="the call ended")
        return None

    def session_configured(self) -> bool:
        """The sideband's session is configured; True when going live must wait for the
        browser's media."""
        if self.on_webrtc and not self.connected:
            self.configured = True
            return True
        return False

    def due(self, now: float) -> Step | None:
        """The media did not connect in time, or stayed disconnected: the relay takes over."""
        if (self.on_webrtc and not self.connected and self.answered_at is not None
                and now - self.answered_at >= self.timeout_s):
            return self._fall_back("media_timeout")
        if (self.on_webrtc and self.disconnected_at is not None
                and now - self.disconnected_at >= self.timeout_s):
            return self._fall_back("media_lost", detail="disconnected")
        return None

    def _fall_back(self, reason: FallbackReason, *, hang_up: bool = True,
                   detail: str | None = None) -> Step:
        self.fallback = reason
        self.configured = self.playing = False
        self.disconnected_at = None
        actions: list[Action] = [HangUpCall()] if hang_up else []
        actions += [SendJson(browser_messages.webrtc_fallback(reason)), ConnectUpstream(),
                    Log("warning", "WebRTC not used; the interview goes on over the relay",
                        {"reason": reason, "detail": detail})]
        return Step(actions, relay=True, reason=reason)

    # ------------------------------------------------------------------ playing
    def handlers(self) -> dict[str, Any]:
        """The WebRTC-only events: what the browser is hearing."""
        return dict.fromkeys(_BUFFER_EVENTS, self._buffer)

    def _buffer(self, event: dict[str, Any], now: float) -> list[Action]:
        self.playing = event.get("type") == "output_audio_buffer.started"
        if self._time is not None:
            self._time.activity(now)
            response_id = event.get("response_id")
            if not self.playing and self._time.is_goodbye(response_id):
                self._goodbye_heard = True
                self._time.played_out(now)  # the goodbye has been heard: the end is due
        return []

    def unplayed_ms(self, relayed_ms: float) -> float:
        """Audio the browser has yet to hear of the goodbye just generated. On a call it
        is not known: the end waits for the goodbye's ``output_audio_buffer.stopped``
        (or the wrap-up's grace)."""
        if not self.on_webrtc:
            return relayed_ms
        grace = self._time.limits.wrap_up_grace_s if self._time is not None else 0.0
        return 0.0 if self._goodbye_heard else grace * 1000

    def relayed_audio(self) -> list[Action] | None:
        """Candidate PCM on /voice: None on the relay (it goes on), else ignored."""
        if not self.on_webrtc:
            return None
        return [Log("debug", "candidate audio on /voice ignored: on WebRTC")]
