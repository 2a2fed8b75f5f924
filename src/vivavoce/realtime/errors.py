"""Realtime problems → browser errors, through the doctor's cause catalogue.

:func:`make_error_describer` returns the :data:`~vivavoce.interview.errors.ErrorDescriber`
the state machine uses in production: the catalogue recognises the cause (same ids as
``vivavoce doctor``), says whether it is fatal, and writes the operator's hint for the
platform the service runs on.
"""

from __future__ import annotations

from vivavoce.diagnosis.catalogue import (
    CAUSES,
    Platform,
    classify_openai_error,
    hint_for,
    is_fatal_cause,
)
from vivavoce.diagnosis.catalogue import (
    Phase as CataloguePhase,
)
from vivavoce.interview.errors import (
    CANDIDATE_MESSAGES,
    ErrorDescriber,
    ErrorVerdict,
    UpstreamProblem,
)

__all__ = ["describe_upstream_problem", "make_error_describer"]

_PHASES: dict[str, CataloguePhase] = {
    "connect": "realtime_upgrade",
    "configure": "realtime",
    "session": "realtime",
}

# Causes that leave the interview able to go on (after a pause).
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
    code = problem.code or cause or "upstream_error"
    if cause is not None:
        fatal = is_fatal_cause(cause)
        try:
            hint: str | None = hint_for(cause, platform)
        except KeyError:
            hint = None
    else:
        # Not a known cause: an error event about one of our client events (for example a
        # truncation OpenAI did not accept) leaves the session usable; failing to connect
        # or a close does not.
        fatal = problem.phase == "connect" or problem.close_code is not None
        hint = (
            "OpenAI reported an error vivavoce does not recognise; the log line has its "
            "type, code and message."
        )
    if fatal:
        message = CANDIDATE_MESSAGES["service_unavailable"]
    elif cause in _BUSY:
        message = CANDIDATE_MESSAGES["busy"]
    else:
        message = CANDIDATE_MESSAGES["hiccup"]
    return ErrorVerdict(code=code, cause=cause, fatal=fatal, message=message, hint=hint)


def make_error_describer(platform: Platform) -> ErrorDescriber:
    """The describer for a service running on ``platform``."""

    def describe(problem: UpstreamProblem) -> ErrorVerdict:
        return describe_upstream_problem(problem, platform)

    return describe
