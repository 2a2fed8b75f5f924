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
from typing import Any, Literal

__all__ = [
    "CANDIDATE_MESSAGES",
    "CONFIGURATION_CAUSES",
    "RETRYABLE_CAUSES",
    "TRANSIENT_CAUSES",
    "ErrorDescriber",
    "ErrorVerdict",
    "ProblemPhase",
    "UpstreamProblem",
    "browser_error",
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

# Causes (the doctor's ids) that the operator fixes in the service's configuration: the
# key, its account, project or permissions, the model, the region. Nothing the candidate
# does causes them and waiting does not cure them, but once the operator has fixed them
# (a key reload: ``POST /api/admin/reload`` or SIGHUP) the same interview works.
CONFIGURATION_CAUSES = frozenset({
    "key_missing",
    "key_malformed",
    "key_invalid",
    "key_wrong_type",
    "no_realtime_access",
    "insufficient_permissions",
    "org_project_mismatch",
    "account_deactivated",
    "quota_exhausted",
    "model_unavailable",
    "region_unsupported",
})

# Causes that pass by themselves: OpenAI's own trouble (an outage, a server error, a
# session it opened but did not configure in time), the network between this server and
# OpenAI (unreachable, or lost mid-session), its rate limits. The catalogue marks them
# not fatal; nothing needs fixing, a later try works.
TRANSIENT_CAUSES = frozenset({
    "openai_unavailable",
    "network_unreachable",
    "rate_limited",
})

# The one list of causes that do not use a link up. A link's interview that fails for
# one of these is not over: it stays unstarted, or resumable if it was live, and the same
# link tries again later. Failures without a catalogue cause (a session configuration
# OpenAI refused, an error it does not explain, our own limits) stay final, as does
# anything that ends an open interview (it has no link to come back with).
RETRYABLE_CAUSES = CONFIGURATION_CAUSES | TRANSIENT_CAUSES

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


def browser_error(verdict: ErrorVerdict, *, retryable: bool = False) -> dict[str, Any]:
    """The browser ``error`` message for a verdict (original fields plus extensions).
    ``retryable``: a link's interview stopped for a cause in :data:`RETRYABLE_CAUSES`;
    the same link works again later (``interview_ended`` says so too)."""
    message: dict[str, Any] = {
        "type": "error",
        "code": verdict.code,
        "message": verdict.message,
        "hint": verdict.hint,
        "fatal": verdict.fatal,
        # The cause id at the top level too: `code` stays OpenAI's (the original clients
        # key off it), while e.g. a 403 at the upgrade (code model_not_available) is the
        # cause no_realtime_access. ``details.cause`` is kept for the first clients.
        "cause": verdict.cause,
        "details": {"cause": verdict.cause} if verdict.cause else None,
    }
    if retryable:
        message["retryable"] = True
    return message
