"""Every JSON message the browser receives on ``/voice``, built in one place.

docs/protocol.md describes these messages; this module is where they are made, so the
two can be read side by side. Callers (the interview core, the relay, the ``/voice``
route's refusals) never write a message dict by hand. Plain dicts are returned: the
relay serialises them once, and the browser's protocol is JSON, not a Python type.
"""

from __future__ import annotations

from typing import Any

from vivavoce.interview.actions import TurnRecord
from vivavoce.interview.errors import ErrorVerdict
from vivavoce.pricing import TokenUsage

__all__ = [
    "ai_audio_clear",
    "ai_transcription",
    "connected",
    "error",
    "interview_ended",
    "interview_resumed",
    "interview_started",
    "interview_starting",
    "missed_turns",
    "pong",
    "student_speech_started",
    "student_transcription",
    "student_transcription_delta",
    "usage",
    "verdict_error",
    "webrtc_answer",
    "webrtc_fallback",
]

Message = dict[str, Any]


def connected(*, simulator: bool) -> Message:
    text = "Connected to vivavoce."
    if simulator:
        text += " This server runs the built-in simulator: the interviewer is not an AI."
    return {"type": "connected", "message": text, "simulator": simulator}


def error(
    code: str,
    message: str,
    *,
    fatal: bool,
    hint: str | None = None,
    cause: str | None = None,
    retryable: bool = False,
    retry_after_s: int | None = None,
) -> Message:
    """The one ``error`` shape (original fields plus extensions). ``retryable``: a
    link's interview stopped for a retryable cause; the same link works again later
    (``interview_ended`` says so too). ``retry_after_s``: a refusal by the connection
    limits or the capacity (close 1013 follows): start again after that many seconds.

    ``hint`` is the operator's and never reaches the browser (candidates see only the
    candidate's words): the caller logs it, the setup page and the API show causes'
    hints. It is accepted here so callers hand over the whole verdict in one place."""
    del hint  # deliberately not sent: see above
    built: Message = {
        "type": "error",
        "code": code,
        "message": message,
        "fatal": fatal,
        # The cause id at the top level too: `code` stays OpenAI's (the original clients
        # key off it), while e.g. a 403 at the upgrade (code model_not_available) is the
        # cause no_realtime_access. ``details.cause`` is kept for the first clients.
        "cause": cause,
        "details": {"cause": cause} if cause else None,
    }
    if retryable or retry_after_s is not None:
        built["retryable"] = True
    if retry_after_s is not None:
        built["retry_after_s"] = retry_after_s
    return built


def verdict_error(verdict: ErrorVerdict, *, retryable: bool = False) -> Message:
    """The ``error`` message for an upstream problem's verdict."""
    return error(verdict.code, verdict.message, fatal=verdict.fatal, hint=verdict.hint,
                 cause=verdict.cause, retryable=retryable)


def interview_starting() -> Message:
    return {"type": "interview_starting",
            "message": "Starting the interview: connecting to the interviewer…"}


def interview_started(*, interview_id: str | None, simulator: bool, resumed: bool,
                      transport: str = "relay") -> Message:
    message = "The interview has started."
    if simulator:
        message += " (Simulator: the interviewer is not an AI.)"
    return {"type": "interview_started", "message": message, "interview_id": interview_id,
            "simulator": simulator, "resumed": resumed, "transport": transport}


def webrtc_answer(sdp: str) -> Message:
    """OpenAI's SDP answer to the room's offer (never the call id, never a secret)."""
    return {"type": "webrtc_answer", "sdp": sdp}


def webrtc_fallback(reason: str) -> Message:
    """The interview goes on over the relay (media_timeout, media_failed, call_refused,
    disabled, media_lost)."""
    return {"type": "webrtc_fallback", "reason": reason}


def interview_resumed(*, interview_id: str | None, attempt: int) -> Message:
    """An extension: the connection to OpenAI was lost and a new one took over, with the
    conversation so far; the browser's socket stayed open (``attempt``: recoveries in the
    last minute). Original clients ignore unknown types."""
    return {"type": "interview_resumed", "message": "The connection to the interviewer "
            "dropped for a moment; the interview goes on.", "interview_id": interview_id,
            "attempt": attempt}


def interview_ended(
    message: str, *, reason: str, interview_id: str | None, retryable: bool = False
) -> Message:
    ended: Message = {"type": "interview_ended", "message": message, "reason": reason,
                      "interview_id": interview_id}
    if retryable:
        ended["retryable"] = True
    return ended


def missed_turns(turns: list[TurnRecord]) -> Message:
    """The turns a reconnecting browser missed (interview/missed_turns.py), in order,
    sent right after ``interview_started`` with ``resumed: true``."""
    return {"type": "missed_turns",
            "turns": [{"sequence": t.sequence, "speaker": t.speaker, "text": t.text,
                       "item_id": t.item_id} for t in turns]}


def pong() -> Message:
    return {"type": "pong"}


def ai_audio_clear() -> Message:
    return {"type": "ai_audio_clear"}


def ai_transcription(text: str, *, is_final: bool, item_id: str) -> Message:
    return {"type": "ai_transcription", "text": text, "is_final": is_final,
            "item_id": item_id}


def student_speech_started() -> Message:
    return {"type": "student_speech_started"}


def student_transcription_delta(text: str, *, item_id: str) -> Message:
    return {"type": "student_transcription_delta", "item_id": item_id, "text": text}


def student_transcription(text: str, *, item_id: str) -> Message:
    return {"type": "student_transcription", "text": text, "is_final": True,
            "item_id": item_id}


def usage(total: TokenUsage, cost_usd: float | None) -> Message:
    """The interview's running token totals and cost (None: the model has no price)."""
    return {
        "type": "usage",
        "input_text_tokens": total.input_text,
        "input_audio_tokens": total.input_audio,
        "input_cached_tokens": total.input_cached,
        "output_text_tokens": total.output_text,
        "output_audio_tokens": total.output_audio,
        "total_tokens": total.total,
        "cost_usd": None if cost_usd is None else round(cost_usd, 6),
    }
