"""What the interview does when something fails: verdict → browser error, log line,
and whether a link's interview is kept for the same link to try again.

A link's interview (``resumable``) outlives its connection: a browser drop leaves it as
it is in the store, and so does a failure with a cause in :data:`RETRYABLE_CAUSES` —
one the operator fixes in the configuration (the key, its account, the model…) or one
that passes by itself (OpenAI's outage, the network to it, a session not started in
time). The browser is then told to come back later with the same link, and the store
only records why (``AttemptFailed``). Open interviews end either way.

Also here: the problems the core names itself (an upstream close, the start deadline,
a refused ``session.update``), so every failure the core reports is decided in this one
module. Pure: plain values in, plain values out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from vivavoce.diagnosis.catalogue import CAUSES, split_close_reason
from vivavoce.interview import browser_messages
from vivavoce.interview.actions import Action, Log, SendJson, UpstreamError
from vivavoce.interview.errors import (
    CANDIDATE_MESSAGES,
    ErrorDescriber,
    ErrorVerdict,
    ProblemPhase,
    UpstreamProblem,
)
from vivavoce.interview.opening import SESSION_UPDATE_EVENT_ID
from vivavoce.interview.phase import Phase

__all__ = [
    "CONFIGURATION_CAUSES",
    "RETRYABLE_CAUSES",
    "TRANSIENT_CAUSES",
    "Failure",
    "FailurePolicy",
    "OrderlyEnd",
    "Reported",
    "close_outcome",
    "closed_verdict",
    "error_event",
    "failed_response",
    "recoverable",
    "refused_configuration",
    "start_timeout",
    "upstream_error",
]

# Causes (the doctor's ids) that the operator fixes in the service's configuration: the
# key, its account, project or permissions, the model, the region. Nothing the candidate
# does causes them and waiting does not cure them, but once the operator has fixed them
# (a key reload: ``POST /api/admin/reload`` or SIGHUP) the same interview works. Listed,
# not derived: a new fatal cause in the catalogue must be sorted deliberately (a test
# checks the list against the catalogue's fatal entries).
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

# Causes that pass by themselves (OpenAI's own trouble, the network to it, its rate
# limits): exactly the catalogue's not-fatal entries.
TRANSIENT_CAUSES = frozenset(c for c, cause in CAUSES.items() if not cause.fatal)

# The one list of causes that do not use a link up. Failures without a catalogue cause
# (a session configuration OpenAI refused, an error it does not explain, our own limits)
# stay final, as does anything that ends an open interview (no link to come back with).
RETRYABLE_CAUSES = CONFIGURATION_CAUSES | TRANSIENT_CAUSES

_IN_PROGRESS = (Phase.CONNECTING, Phase.CONFIGURING, Phase.LIVE, Phase.RECOVERING)


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failure does: tell the browser ``error``, log ``log``, then end with
    ``reason``/``message``; ``retryable``: the store keeps the interview for the link."""

    error: dict[str, Any]
    log: Log
    reason: str
    message: str
    retryable: bool


class FailurePolicy:
    """Whether this connection's interview survives a failure or a drop.

    ``resumable``: a link's interview (an open interview has nothing to come back with).
    ``resumed``: this connection continues an interview that had been live."""

    def __init__(self, *, resumable: bool) -> None:
        self.resumable = resumable
        self.resumed = False

    def may_retry(self, verdict: ErrorVerdict, phase: Phase) -> bool:
        """A link's failure for a retryable cause before the goodbye. A real end (the
        goodbye at the time limit included) and causes outside the catalogue are final."""
        return (self.resumable and verdict.cause in RETRYABLE_CAUSES
                and phase in _IN_PROGRESS)

    def keeps_on_drop(self, phase: Phase) -> bool:
        """A link's interview is not ended by a browser drop (unless it was saying
        goodbye): it stays as it is in the store so the same link starts or resumes it."""
        return self.resumable and phase is not Phase.ENDING

    def fail(self, verdict: ErrorVerdict, problem: UpstreamProblem, phase: Phase) -> Failure:
        retry = self.may_retry(verdict, phase)
        # A retry continues the interview when there is something to go on from (it was
        # live, or this attempt was a resumption); otherwise it starts it.
        went_live = phase in (Phase.LIVE, Phase.RECOVERING) or self.resumed
        configuration = verdict.cause in CONFIGURATION_CAUSES
        link: str | None = None
        if retry:
            link = "kept, " + ("resumable" if went_live else "can start") + (
                " once the configuration is fixed" if configuration else " on a later try")
        log = Log("error", "the interview cannot go on", {
            "code": verdict.code, "cause": verdict.cause, "phase": problem.phase,
            "status": problem.status, "close_code": problem.close_code,
            "close_reason": problem.close_reason, "upstream_event_id": problem.event_id,
            "request_id": problem.request_id, "detail": problem.message, "link": link,
            # The operator's hint goes here: the browser's error no longer carries it.
            "hint": verdict.hint,
        })
        reason = verdict.cause or verdict.code
        if not retry:
            return Failure(browser_messages.verdict_error(verdict), log, reason,
                           "The interview has ended because of a problem on our side.",
                           retryable=False)
        if configuration:
            words = CANDIDATE_MESSAGES["retry_resume" if went_live else "retry_later"]
        else:
            words = CANDIDATE_MESSAGES["retry_soon_resume" if went_live else "retry_soon"]
        return Failure(
            browser_messages.verdict_error(replace(verdict, message=words), retryable=True),
            log, reason, "The interview has stopped because of a problem on our side. Your "
            "link stays valid: try it again later.", retryable=True)


def upstream_error(problem: UpstreamProblem, verdict: ErrorVerdict) -> UpstreamError:
    """The metrics action: OpenAI's own code when it gave one, else the verdict's."""
    return UpstreamError(problem.code or verdict.code, verdict.cause, verdict.fatal)


@dataclass(frozen=True, slots=True)
class OrderlyEnd:
    """An upstream close that is an ordinary end, not a failure."""

    reason: str
    message: str


def close_outcome(
    code: int | None, reason: str | None, phase: ProblemPhase
) -> OrderlyEnd | UpstreamProblem:
    """What an upstream close (not during the goodbye) means."""
    if code == 1000:
        return OrderlyEnd("upstream_closed", "The interviewer ended the session. Thank you!")
    if code == 1001 and reason and "maximum duration" in reason:
        return OrderlyEnd("upstream_session_limit",
                          "The interview reached its maximum length. Thank you!")
    error_type = error_code = None
    if code == 3000:
        # In-band failures close with "<type>.<code>": the catalogue's parser reads it.
        error_type, error_code = split_close_reason(reason)
    return UpstreamProblem(phase=phase, close_code=code, close_reason=reason,
                           error_type=error_type, code=error_code)


def closed_verdict(verdict: ErrorVerdict) -> ErrorVerdict:
    """A close is the end whatever the cause: keep the cause's words and code."""
    if verdict.fatal:
        return verdict
    return replace(verdict, fatal=True, message=CANDIDATE_MESSAGES["connection_lost"])


def refused_configuration(verdict: ErrorVerdict) -> ErrorVerdict:
    """OpenAI refused our ``session.update``: the interview cannot start right."""
    if verdict.fatal:
        return verdict
    return replace(verdict, fatal=True, message=CANDIDATE_MESSAGES["service_unavailable"],
                   hint=verdict.hint or "OpenAI refused the session configuration "
                   "(model, voice or transcription model); see the log line.")


def start_timeout(connecting: bool, limit_s: float) -> tuple[UpstreamProblem, ErrorVerdict]:
    """No ``session.updated`` within the start deadline. Named by the catalogue's cause
    (what the doctor calls it, and what a link's retry keys on): a Realtime socket that
    never opened is the network path to OpenAI, as a connect that times out; a socket
    OpenAI opened but did not configure is OpenAI's own trouble."""
    limit = f"{limit_s:.0f} s"
    if connecting:
        problem = UpstreamProblem(phase="connect", code="timeout")
        cause = "network_unreachable"
        hint = (f"The Realtime API did not answer within {limit}; check the network "
                "path to OpenAI (vivavoce doctor).")
    else:
        problem = UpstreamProblem(phase="configure", code="timeout")
        cause = "openai_unavailable"
        hint = (f"OpenAI opened the Realtime session but did not configure it within "
                f"{limit}; OpenAI may be having trouble (https://status.openai.com/).")
    return problem, ErrorVerdict("upstream_timeout", cause, True,
                                 CANDIDATE_MESSAGES["timeout"], hint)


@dataclass(frozen=True, slots=True)
class Reported:
    """A problem OpenAI reported on an open socket (an ``error`` event or a failed
    response); ``client_event_id``: our event it is about, when it says."""

    problem: UpstreamProblem
    client_event_id: str | None
    what: str  # the log line's words when the interview goes on


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def error_event(event: dict[str, Any], phase: ProblemPhase) -> Reported:
    error = event.get("error")
    error = error if isinstance(error, dict) else {}
    problem = UpstreamProblem(
        phase=phase, error_type=_text(error.get("type")), code=_text(error.get("code")),
        message=_text(error.get("message")), event_id=_text(event.get("event_id")))
    return Reported(problem, _text(error.get("event_id")), "recoverable Realtime error")


def failed_response(response: dict[str, Any]) -> Reported | None:
    """Quota and similar problems arrive as a failed response, not an error event."""
    details = response.get("status_details")
    error = details.get("error") if isinstance(details, dict) else None
    if not isinstance(error, dict):
        return None
    problem = UpstreamProblem(phase="session", error_type=_text(error.get("type")),
                              code=_text(error.get("code")), message=_text(error.get("message")))
    return Reported(problem, None, "a Realtime response failed")


def recoverable(reported: Reported, verdict: ErrorVerdict) -> list[Action]:
    """A problem the interview goes on after: the browser is told, the operator too."""
    problem = reported.problem
    return [upstream_error(problem, verdict), SendJson(browser_messages.verdict_error(verdict)),
            Log("warning", reported.what, {
                "code": verdict.code, "cause": verdict.cause, "upstream_event_id":
                problem.event_id, "client_event_id": reported.client_event_id,
                "detail": problem.message, "hint": verdict.hint})]


def judge(reported: Reported, describe: ErrorDescriber) -> ErrorVerdict:
    """The verdict on an error the API reported: the describer's, except that one about
    our own ``session.update`` is a refused configuration."""
    verdict = describe(reported.problem)
    if reported.client_event_id == SESSION_UPDATE_EVENT_ID:
        return refused_configuration(verdict)
    return verdict
