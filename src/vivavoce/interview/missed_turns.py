"""Which stored turns a browser missed while its connection was stalled or down.

A browser that reconnects by itself (the room's own reconnect, issue 13) names the turns
it has shown in ``start_interview``'s ``seen_item_ids`` (the ``item_id`` of each
``ai_transcription``/``student_transcription`` it received). What it missed is every
stored turn after the last one it saw and not seen itself: the interviewer's reply that
was said into a stalled socket, the candidate's answer transcribed meanwhile.

The server cannot tell this from what it *sent*: during a stall the messages leave the
server and are lost with the socket, so only the browser knows what arrived.
"""

from __future__ import annotations

from typing import Any

from vivavoce.interview.actions import TurnRecord

__all__ = ["MAX_SEEN_ITEM_IDS", "missed_since", "read_seen_item_ids"]

# A room sends the ids of its own page's turns; an interview has far fewer. More is not
# a room's message, and is ignored rather than searched.
MAX_SEEN_ITEM_IDS = 500


def read_seen_item_ids(value: Any) -> frozenset[str] | None:
    """``seen_item_ids`` from ``start_interview``, or None when it is absent or not a
    list of strings (an original client, a page load: no missed turns are sent)."""
    if not isinstance(value, list) or len(value) > MAX_SEEN_ITEM_IDS:
        return None
    if not all(isinstance(item, str) for item in value):
        return None
    return frozenset(value)


def missed_since(history: list[TurnRecord], seen: frozenset[str] | None) -> list[TurnRecord]:
    """The stored turns after the last one the browser saw, minus those it saw (a
    candidate's transcript can arrive after the interviewer's next reply).

    None when the browser did not ask. When none of the stored turns is among those it
    saw (it saw nothing on this page, or only turns loaded from the transcript API at
    page load, which carry no item id), nothing is sent: the room then already shows
    what the API had, and repeating it would double it.
    """
    if seen is None:
        return []
    ordered = sorted(history, key=lambda turn: turn.sequence)
    last_seen = max((i for i, turn in enumerate(ordered) if turn.item_id in seen), default=None)
    if last_seen is None:
        return []
    return [turn for turn in ordered[last_seen + 1:] if turn.item_id not in seen]
