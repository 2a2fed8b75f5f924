"""What a server restart (SIGTERM, a new deployment) does to the interview on a
connection: the rule :meth:`InterviewSession.server_shutdown` follows.

* A link's interview (``resumable``) outlives the process: the browser gets a fatal,
  retryable ``error`` ``server_restarting`` saying the server is restarting and the same
  link continues it, then ``interview_ended`` with ``retryable: true``. The store keeps
  the interview as it is (``live``, or unstarted) and records ``server_shutdown`` as the
  reason this attempt stopped, exactly as for a retryable failure.
* An open interview (no link) cannot come back: it ends ``server_shutdown``.
* During the goodbye at the time limit there is nothing left to resume: it ends too.

Every turn said so far is stored either way (the core's end releases them, and the
relay's database writer finishes its queue before the socket closes). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from vivavoce.interview import browser_messages
from vivavoce.interview.actions import Action, Log, SendJson

__all__ = ["RESTARTING_CODE", "SHUTDOWN_REASON", "ShutdownEnd", "shutdown_end"]

# The end reason (stored, and sent in ``interview_ended``).
SHUTDOWN_REASON = "server_shutdown"
# The ``error`` code a link's browser gets.
RESTARTING_CODE = "server_restarting"

_LINK_WORDS = (
    "The server is restarting, so the interview is paused. What you said so far "
    "has been saved: continue with the same link in a moment."
)
_OPEN_WORDS = (
    "The server is restarting, so the interview has ended. What you said so far has been saved."
)


@dataclass(frozen=True, slots=True)
class ShutdownEnd:
    """``before``: what precedes the end (the link's error, the log line); ``message``:
    the words of ``interview_ended``; ``retryable``: the link keeps the interview."""

    before: list[Action]
    message: str
    retryable: bool


def shutdown_end(*, keeps_interview: bool) -> ShutdownEnd:
    """``keeps_interview``: the failure policy keeps this interview for its link (a link,
    not saying goodbye)."""
    if keeps_interview:
        error = browser_messages.error(RESTARTING_CODE, _LINK_WORDS, fatal=True, retryable=True)
        return ShutdownEnd(
            [
                SendJson(error),
                Log(
                    "info",
                    "server stopping: the interview is kept for its link",
                    {"reason": SHUTDOWN_REASON},
                ),
            ],
            _LINK_WORDS,
            retryable=True,
        )
    return ShutdownEnd(
        [Log("info", "server stopping: the interview ends", {"reason": SHUTDOWN_REASON})],
        _OPEN_WORDS,
        retryable=False,
    )
