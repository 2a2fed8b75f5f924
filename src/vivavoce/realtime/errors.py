"""Realtime problems → browser errors, through the doctor's cause catalogue.

:func:`make_error_describer` returns the :data:`~vivavoce.interview.errors.ErrorDescriber`
the state machine uses in production: the catalogue recognises the cause (same ids as
``vivavoce doctor``), says whether it is fatal, and writes the operator's hint for the
platform the service runs on.
"""

from __future__ import annotations

from vivavoce.config import Platform
from vivavoce.diagnosis.catalogue import (
    CAUSES,
    CallChannel,
    classify_openai_error,
    hint_for,
    is_fatal_cause,
)
from vivavoce.interview.errors import (
    CANDIDATE_MESSAGES,
    ErrorDescriber,
    ErrorVerdict,
    UpstreamProblem,
)

__all__ = ["describe_upstream_problem", "make_error_describer"]

_PHASES: dict[str, CallChannel] = {
    "connect": "realtime_upgrade",
    "configure": "realtime",
    "session": "realtime",
}

# Causes the candidate just waits out (the interview goes on).
_BUSY = {"rate_limited"}


def describe_upstream_problem(problem: UpstreamProblem, platform: Platform) -> ErrorVerdict:
    """The verdict for one problem. Never raises."""
    # Our own codes that are catalogue ids (key_missing, network_unreachable) name the
    # cause directly.
    cause = problem.code if problem.code in CAUSES else classify_openai_error(
        status=problem.status,
        error_type=problem.error_type,
        code=problem.code,
        message=problem.message,
        close_code=problem.close_code,
        close_reason=problem.close_reason,
        phase=_PHASES[problem.phase],
    )
    if problem.code == "upstream_timeout" and problem.phase == "connect":
        cause = "network_unreachable"  # nothing answered: the network path, not the key
    code = problem.code or cause or "upstream_error"
    transient = cause is not None and not is_fatal_cause(cause)
    if cause is not None:
        try:
            hint: str | None = hint_for(cause, platform)
        except KeyError:
            hint = None
    else:
        hint = (
            "OpenAI reported an error vivavoce does not recognise; the log line has its "
            "type, code and message."
        )
    # Without a connection the interview cannot go on, whatever the cause; on an open
    # session only the catalogue's fatal causes end it (an unknown error event is usually
    # about one of our client events, e.g. a truncation OpenAI did not accept).
    fatal = (
        problem.phase == "connect"
        or problem.close_code is not None
        or (cause is not None and not transient)
    )
    if not fatal:
        message = CANDIDATE_MESSAGES["busy" if cause in _BUSY else "hiccup"]
    elif transient:
        message = CANDIDATE_MESSAGES["timeout"]
    else:
        message = CANDIDATE_MESSAGES["service_unavailable"]
    return ErrorVerdict(code=code, cause=cause, fatal=fatal, message=message, hint=hint)


def make_error_describer(platform: Platform) -> ErrorDescriber:
    """The describer for a service running on ``platform``."""

    def describe(problem: UpstreamProblem) -> ErrorVerdict:
        return describe_upstream_problem(problem, platform)

    return describe
