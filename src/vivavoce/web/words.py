"""Interview states and end reasons in words, for the operator's list and export.

The codes stay the API's contract (``status``, ``end_reason``); these are the words shown
next to them. An end reason that names a diagnosis cause (``quota_exhausted``…) takes the
cause's title from the catalogue, so the operator reads the same words as the doctor's.
"""

from __future__ import annotations

from vivavoce.diagnosis.catalogue import CAUSES

__all__ = ["end_reason_words", "state_words"]

_STATES = {
    "created": "Not taken yet",
    "live": "In progress",
    "ended": "Finished",
    "failed": "Failed",
}

_REASONS = {
    "candidate_ended": "The candidate ended it",
    "time_limit": "Time limit reached",
    "idle_timeout": "Nobody spoke for too long",
    "upstream_session_limit": "OpenAI's 60-minute session limit",
    "upstream_closed": "OpenAI closed the session",
    "upstream_timeout": "OpenAI did not answer in time",
    "upstream_error": "An error at OpenAI",
    "client_too_slow": "The candidate's connection was too slow",
    "too_many_messages": "The browser sent too many messages",
    "internal_error": "An internal error",
    "server_error": "A server error",
    "removed_by_operator": "Deleted by the operator while it ran",
    "server_shutdown": "The server restarted while it ran",
    "browser_disconnected": "The candidate's browser went away",
    "browser_disconnected_before_start": "The candidate left before it started",
    "replaced": "Opened again in another window",
    "call_tampering": "The candidate's browser tampered with the WebRTC call",
    # A live row with this reason is paused (its link continues it once the budget allows).
    "budget_exhausted": "The spending limit was reached",
}


def state_words(status: str | None) -> str:
    return _STATES.get(status or "", status or "")


def end_reason_words(reason: str | None) -> str | None:
    """Words for an end reason (None for none). Unknown codes become plain words."""
    if not reason:
        return None
    if reason in _REASONS:
        return _REASONS[reason]
    cause = CAUSES.get(reason)
    if cause is not None:
        return cause.title
    if reason.replace("_", "").isalnum():
        return reason.replace("_", " ").capitalize()
    return reason  # free text already
