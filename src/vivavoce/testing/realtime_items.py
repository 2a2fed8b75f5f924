"""The fake Realtime conversation's vocabulary: events, ids, items and what a responder sees.

Shared by the conversation (``realtime_conversation``), its replies
(``realtime_replies``), the fake's configuration (a responder is a function of a
:class:`ConversationView`) and the simulator; it imports none of them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from vivavoce.testing.fake_errors import new_event_id

__all__ = ["ConversationItem", "ConversationView", "Event", "new_event", "new_id"]

Event = dict[str, Any]


def new_id(prefix: str) -> str:
    """A fresh id in OpenAI's style (``item_…``, ``resp_…``)."""
    return f"{prefix}_{secrets.token_hex(11)}"


def new_event(kind: str, **fields: Any) -> Event:
    """A server event of type ``kind`` with a fresh ``event_id``."""
    return {"type": kind, "event_id": new_event_id(), **fields}


@dataclass
class ConversationItem:
    """One item of the conversation, as the fake keeps it."""

    id: str
    type: str
    role: str | None
    content: list[dict[str, Any]]
    previous_item_id: str | None
    transcript: str | None = None
    audio_ms: int = 0
    status: str = "completed"
    created_by_client: bool = False

    def as_json(self) -> dict[str, Any]:
        """The item object as the GA interface shows it."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "realtime.item",
            "type": self.type,
            "status": self.status,
        }
        if self.role is not None:
            body["role"] = self.role
        body["content"] = [dict(part) for part in self.content]
        return body


@dataclass(frozen=True)
class ConversationView:
    """What a responder sees when deciding the assistant's next line."""

    assistant_turns: int
    """Responses already made in this session (0 for the first)."""
    user_turns: int
    """Committed user audio turns so far (idle nudges excluded)."""
    last_user_transcript: str | None
    """Transcript of the most recent user item (``""`` after an idle nudge)."""
    instructions: str
    response_instructions: str | None
    history: tuple[tuple[str, str], ...]
    """``(role, text)`` of every message so far, in order."""
    earlier_turns: tuple[tuple[str, str], ...] = ()
    """``(role, text)`` of the messages the client created before this session's first
    response: a conversation carried over from an earlier session (a resumed interview
    seeds its stored turns this way). Empty in a fresh session."""
