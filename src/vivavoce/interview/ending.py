"""How one connection's interview ends: the turns still open are stored, the store is
told (ended; or, for a link's retryable ending, only why this attempt stopped; or
nothing, when the store keeps it as it is), the browser is told, and both sockets
close. No I/O.
"""

from __future__ import annotations

from typing import Literal

from vivavoce.interview import browser_messages
from vivavoce.interview.actions import (
    Action,
    AttemptFailed,
    CloseBrowser,
    CloseUpstream,
    EndInterview,
    SendJson,
)
from vivavoce.interview.conversation import Conversation

__all__ = ["ending"]


def ending(conversation: Conversation, interview_id: str | None,
           status: Literal["ended", "failed"], reason: str, error_code: str | None,
           now: float, *, message: str, notify: bool, store_end: bool,
           retryable: bool) -> list[Action]:
    """``store_end`` False: the store keeps the interview as it is (a link's drop);
    ``retryable``: the store records why this attempt failed but does not end it, and
    the browser is told the same link works again later; ``notify`` False: the browser
    is gone, nothing is sent to it."""
    actions = conversation.finish(now)
    if interview_id is not None and retryable:
        actions.append(AttemptFailed(reason, error_code, now))
    elif interview_id is not None and store_end:
        actions.append(EndInterview(status, reason, error_code, now))
    if notify:
        actions.append(SendJson(browser_messages.interview_ended(
            message, reason=reason, interview_id=interview_id, retryable=retryable)))
    actions += [CloseUpstream(), CloseBrowser(1000, reason[:100])]
    return actions
