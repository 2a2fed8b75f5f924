"""Between the browser's ``start_interview`` and going live: what the interview holds and
the actions of going live.

Held meanwhile: the ``session.update`` to send once the Realtime socket opens, the
candidate audio sent before the session is configured (bounded, oldest dropped first)
and which turns a room coming back by itself has already shown. ``went_live`` is the
one place the order of going live is decided: the AI speaks first, the audio the
candidate sent meanwhile follows it, then the browser is told (and, on a resume, shown
what it missed). No I/O.
"""

from __future__ import annotations

from openai.types.realtime import SessionUpdateEventParam

from vivavoce.interview import browser_messages
from vivavoce.interview.actions import Action, AppendAudio, Log, MarkLive, SendJson, SendUpstream
from vivavoce.interview.browser_input import StartBuffer
from vivavoce.interview.conversation import Conversation
from vivavoce.interview.missed_turns import missed_since

SESSION_UPDATE_EVENT_ID = "vivavoce_session_update"


class Opening:
    """One interview's start: the session.update, the start buffer, the seen turns."""

    def __init__(self, start_buffer_bytes: int) -> None:
        self.buffer = StartBuffer(start_buffer_bytes)
        self.session_update: SessionUpdateEventParam | None = None
        self.seen_item_ids: frozenset[str] | None = None

    def configure(self, session_update: SessionUpdateEventParam) -> None:
        """The interview is prepared: this is the event that configures its session (its
        id marks an error the API reports about it)."""
        self.session_update = {**session_update, "type": "session.update",
                               "event_id": SESSION_UPDATE_EVENT_ID}

    def withdrawn(self) -> None:
        """The start was refused but the client may try again: nothing is kept."""
        self.buffer.clear()

    def went_live(self, conversation: Conversation, now: float, *, interview_id: str | None,
                  simulator: bool, resumed: bool, model: str,
                  transport: str = "relay") -> list[Action]:
        """The session is configured: the AI's opening, the kept audio, the browser told."""
        actions: list[Action] = [SendUpstream(e) for e in
                                 conversation.opening_events(resumed=resumed)]
        actions.extend(AppendAudio(chunk) for chunk in self.buffer.take())
        actions += [
            MarkLive(now),
            SendJson(browser_messages.interview_started(
                interview_id=interview_id, simulator=simulator, resumed=resumed,
                transport=transport)),
        ]
        if resumed and (missed := missed_since(conversation.history, self.seen_item_ids)):
            actions.append(SendJson(browser_messages.missed_turns(missed)))
        actions.append(Log("info", "interview live", {"model": model}))
        return actions
