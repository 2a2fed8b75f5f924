"""Upstream problems and what the interview does about them.

The state machine describes a problem with the Realtime API as an
:class:`UpstreamProblem` (plain values: HTTP status, error type/code/message, close
code/reason) and asks an :data:`ErrorDescriber` for an :class:`ErrorVerdict`: the code
the browser sees, the catalogue's cause id, whether the interview can go on, the words
for the candidate and the hint for the operator. The describer backed by the doctor's
cause catalogue lives in :mod:`vivavoce.realtime.errors`; the machine only needs the
callable, so its tests can run on plain values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CANDIDATE_MESSAGES",
    "ErrorDescriber",
    "ErrorVerdict",
    "ProblemPhase",
    "UpstreamProblem",
]

ProblemPhase = Literal["connect", "configure", "session"]


@dataclass(frozen=True, slots=True)
class UpstreamProblem:
    """One thing that went wrong with the Realtime API, as plain values."""

    phase: ProblemPhase
    status: int | None = None  # HTTP status at the upgrade
    error_type: str | None = None
    code: str | None = None
    message: str | None = None
    close_code: int | None = None
    close_reason: str | None = None
    event_id: str | None = None  # the server's event id of an `error` event
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorVerdict:
    """What to tell the browser and whether the interview ends."""

    code: str  # stable: the OpenAI code when there is one, else ours
    cause: str | None  # the doctor's cause id (None: not a known cause)
    fatal: bool
    message: str  # for the candidate: plain words, no key, no jargon
    hint: str | None  # for the operator: what to fix, from the cause catalogue


ErrorDescriber = Callable[[UpstreamProblem], ErrorVerdict]

# Words for the candidate. They never blame the candidate, never show the key, and say
# whether to wait or stop.
CANDIDATE_MESSAGES = {
    "service_unavailable": (
        "The interview service is not available right now, so the interview cannot go on. "
        "Nothing you did caused this; please let the organiser know."
    ),
    "busy": "The interviewer is busy for a moment. Please pause briefly, then carry on.",
    "hiccup": "The interviewer had a brief technical hiccup. Please carry on.",
    "connection_lost": (
        "The connection to the interviewer was lost, so the interview has ended. "
        "What you said so far has been saved."
    ),
    "timeout": (
        "The interviewer could not be reached just now, so the interview cannot go on. "
        "Please try again in a few minutes."
    ),
    # A link's interview stopped by a configuration problem (CONFIGURATION_CAUSES): the
    # link stays valid, and the organiser has something to fix.
    "retry_later": (
        "The interview service is not available right now, so the interview cannot start. "
        "Nothing you did caused this; please let the organiser know and try again later "
        "with the same link."
    ),
    "retry_resume": (
        "The interview service is not available right now, so the interview cannot go on. "
        "Nothing you did caused this, and what you said so far has been saved; please let "
        "the organiser know and open the same link again later to continue."
    ),
    # ... stopped by OpenAI's passing trouble (TRANSIENT_CAUSES): the link stays valid,
    # and waiting is all it takes.
    "retry_soon": (
        "The AI interviewer cannot be reached right now, so the interview cannot start. "
        "This is not your internet connection or anything you did; please try again in a "
        "few minutes with the same link."
    ),
    "retry_soon_resume": (
        "The AI interviewer cannot be reached right now, so the interview cannot go on. "
        "This is not your internet connection or anything you did, and what you said so far "
        "has been saved; please open the same link again in a few minutes to continue."
    ),
}

