"""What the interview state machine asks its adapters to do.

:class:`~vivavoce.interview.session.InterviewSession` never touches a socket or the
database: every input returns a list of these plain values, and the driver in
``realtime/relay.py`` carries them out in order. Tests compare them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from openai.types.realtime import RealtimeClientEventParam

from vivavoce.pricing import TokenUsage

__all__ = [
    "Action",
    "AddUsage",
    "AppendAudio",
    "AttemptFailed",
    "ClearBrowserAudio",
    "CloseBrowser",
    "CloseUpstream",
    "ConnectUpstream",
    "CreateCall",
    "EndInterview",
    "HangUpCall",
    "Log",
    "MarkLive",
    "PersistTurn",
    "PrepareInterview",
    "ReconnectUpstream",
    "SendAudio",
    "SendJson",
    "SendUpstream",
    "TurnRecord",
    "UpstreamError",
]


@dataclass(frozen=True, slots=True)
class SendJson:
    """Send one JSON message to the browser (control traffic: outranks audio)."""

    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SendAudio:
    """Send AI audio (PCM16 24 kHz mono) to the browser as one binary frame."""

    pcm: bytes


@dataclass(frozen=True, slots=True)
class ClearBrowserAudio:
    """Drop AI audio still queued for the browser (the candidate barged in)."""


@dataclass(frozen=True, slots=True)
class PrepareInterview:
    """Find (token) or create (open interview) the interview, build its session.update,
    then call ``InterviewSession.prepared`` or ``prepare_failed``."""

    candidate_context: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ConnectUpstream:
    """Open the Realtime connection, then call ``upstream_opened`` or
    ``upstream_connect_failed``."""


@dataclass(frozen=True, slots=True)
class CreateCall:
    """WebRTC (issue 17): place the browser's call with OpenAI (``calls.create`` with the
    offer and the interview's session config), then call ``call_created`` with the answer
    or ``call_failed``. A ``ConnectUpstream`` after it joins the call's sideband."""

    offer_sdp: str
    session: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HangUpCall:
    """End the WebRTC call (``calls.hangup``) and drop its sideband: the interview goes
    on over the relay (a ``ConnectUpstream`` follows) or ends."""


@dataclass(frozen=True, slots=True)
class ReconnectUpstream:
    """The Realtime connection was lost and the interview recovers: close what is left
    of it, wait ``delay_s`` (backoff), then open a new one as :class:`ConnectUpstream`
    does (``upstream_opened`` or ``upstream_connect_failed`` follows)."""

    delay_s: float


@dataclass(frozen=True, slots=True)
class SendUpstream:
    """Send one client event to the Realtime API (the SDK's TypedDicts: mypy checks each
    event's shape, at run time it is a plain dict)."""

    event: RealtimeClientEventParam


@dataclass(frozen=True, slots=True)
class AppendAudio:
    """Send candidate audio upstream as ``input_audio_buffer.append``; ``audio_b64`` is
    already base64 (encoded once per frame, or passed through from ``audio_chunk``)."""

    audio_b64: str


@dataclass(frozen=True, slots=True)
class MarkLive:
    at: float


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One turn, ready for ``store.interviews.add_turn`` (times are Unix seconds)."""

    sequence: int
    speaker: Literal["interviewer", "candidate"]
    text: str
    started_at: float | None
    ended_at: float | None
    audio_ms: int | None
    item_id: str | None
    state: Literal["complete", "interrupted", "partial"]
    full_text: str | None = None
    """An interrupted interviewer turn's whole text (``text`` is what was heard)."""


@dataclass(frozen=True, slots=True)
class AddUsage:
    """Tokens of one response and their cost (None when the model has no price)."""

    usage: TokenUsage
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class PersistTurn:
    turn: TurnRecord
    usage: AddUsage | None = None
    """The response's usage released in the same step: stored in the turn's write (one
    session instead of two), before the turn itself (interview/spend.py)."""


@dataclass(frozen=True, slots=True)
class EndInterview:
    """Mark the interview ended in the database (first end wins)."""

    status: Literal["ended", "failed"]
    reason: str
    error_code: str | None
    at: float


@dataclass(frozen=True, slots=True)
class AttemptFailed:
    """A link's attempt failed for a cause that does not use the link up (see
    ``interview.failure_policy.RETRYABLE_CAUSES``): the interview is not ended (it stays
    ``created``, or ``live`` and resumable); the store only records why, for the
    operator, until it goes live again. ``pauses``: the interview's clock stops at ``at``
    (a spend limit's pause: the link continues it later with the time it had left)."""

    reason: str
    error_code: str | None
    at: float
    pauses: bool = False


@dataclass(frozen=True, slots=True)
class CloseUpstream:
    pass


@dataclass(frozen=True, slots=True)
class CloseBrowser:
    code: int = 1000
    reason: str = ""


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """OpenAI reported a problem (for metrics; the browser and the log are told apart)."""

    code: str | None
    cause: str | None
    fatal: bool


@dataclass(frozen=True, slots=True)
class Log:
    """An operator log line. ``fields`` go into structured logs. At ``debug``: an input
    the current phase does not take (the relay checks the level before formatting)."""

    level: Literal["debug", "info", "warning", "error"]
    message: str
    fields: dict[str, Any] = field(default_factory=dict)


Action = (
    SendJson
    | SendAudio
    | ClearBrowserAudio
    | PrepareInterview
    | ConnectUpstream
    | CreateCall
    | HangUpCall
    | ReconnectUpstream
    | SendUpstream
    | AppendAudio
    | MarkLive
    | PersistTurn
    | AddUsage
    | EndInterview
    | AttemptFailed
    | CloseUpstream
    | CloseBrowser
    | UpstreamError
    | Log
)
