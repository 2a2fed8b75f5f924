"""Turns in conversation order, whatever order their text arrives in.

In real sessions the candidate's transcript usually completes *after* the interviewer's
reply has started, so storing turns as their text arrives would put answers before
questions. Instead each conversation item takes its place when it is added (after its
``previous_item_id``), and turns are released strictly in that order: an item whose text
is not final yet holds back the ones after it. Sequence numbers are given at release, so
they are gap-free and never need renumbering. :meth:`Transcript.release_all` (end of the
interview) releases everything, unfinished items as ``partial``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vivavoce.interview.actions import TurnRecord

__all__ = ["Item", "Transcript"]

Speaker = Literal["interviewer", "candidate"]
TurnState = Literal["complete", "interrupted", "partial"]


@dataclass(slots=True)
class Item:
    """What we know of one conversation item (a candidate or interviewer message)."""

    item_id: str
    speaker: Speaker
    text: str = ""
    # True once the final text is known (or the item is known to carry no turn).
    resolved: bool = False
    state: TurnState = "complete"
    skip: bool = False
    started_at: float | None = None
    ended_at: float | None = None
    audio_ms: int | None = None
    sequence: int | None = None  # given at release
    full_text: str | None = None  # an interrupted turn's whole text


class Transcript:
    """Ordered conversation items; releases finished turns in order."""

    def __init__(self, first_sequence: int = 0) -> None:
        """``first_sequence``: where numbering starts (a resumed interview continues
        after the turns it already has)."""
        self._order: list[str] = []
        self._items: dict[str, Item] = {}
        self._released = 0  # items of _order already released
        self._next_sequence = first_sequence

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def get(self, item_id: str) -> Item | None:
        return self._items.get(item_id)

    def unresolved(self) -> list[Item]:
        """Items whose final text is not known yet, in order."""
        return [self._items[i] for i in self._order if not self._items[i].resolved]

    @property
    def turn_count(self) -> int:
        return self._next_sequence

    def add(self, item_id: str, speaker: Speaker, previous_item_id: str | None = None) -> Item:
        """Place an item after ``previous_item_id`` (or last). Adding a known id returns
        the existing item unchanged: the added/done echoes repeat it."""
        existing = self._items.get(item_id)
        if existing is not None:
            return existing
        item = Item(item_id, speaker)
        self._items[item_id] = item
        position = len(self._order)
        if previous_item_id and previous_item_id in self._items:
            try:
                position = self._order.index(previous_item_id) + 1
            except ValueError:
                position = len(self._order)
        # Never slip in before turns already released: their sequence numbers are given.
        self._order.insert(max(position, self._released), item_id)
        return item

    def resolve(
        self,
        item_id: str,
        *,
        text: str,
        state: TurnState = "complete",
        ended_at: float | None = None,
        audio_ms: int | None = None,
        full_text: str | None = None,
    ) -> None:
        """The item's final text is known. Blank text means "no turn" (the server's idle
        nudge commits an empty user item; it is not something the candidate said).
        ``full_text``: what an interrupted turn was going to say."""
        item = self._items.get(item_id)
        if item is None or item.resolved:
            return
        item.resolved = True
        item.text = text.strip()
        item.skip = not item.text
        item.state = state
        item.full_text = full_text.strip() if full_text else None
        if ended_at is not None:
            item.ended_at = ended_at
        if audio_ms is not None:
            item.audio_ms = audio_ms

    def skip(self, item_id: str) -> None:
        """The item carries no turn (e.g. transcription failed with nothing heard)."""
        item = self._items.get(item_id)
        if item is not None and not item.resolved:
            item.resolved = True
            item.skip = True

    def amend(
        self, item_id: str, *, text: str, state: TurnState, audio_ms: int | None,
        full_text: str | None = None,
    ) -> TurnRecord | None:
        """Change a resolved item (an interviewer turn cut short after its response had
        finished). Returns the new record when the turn was already released (store it
        again: ``add_turn`` updates by item id), else None."""
        item = self._items.get(item_id)
        if item is None:
            return None
        item.text = text.strip()
        item.state = state
        item.audio_ms = audio_ms
        item.full_text = full_text.strip() if full_text else item.full_text
        if item.sequence is None or item.skip:
            return None
        return self._as_record(item, item.sequence)

    def release(self) -> list[TurnRecord]:
        """Turns now final and in order, each with its sequence number."""
        out: list[TurnRecord] = []
        while self._released < len(self._order):
            item = self._items[self._order[self._released]]
            if not item.resolved:
                break
            self._released += 1
            record = self._record(item)
            if record is not None:
                out.append(record)
        return out

    def release_all(self) -> list[TurnRecord]:
        """Everything left, unfinished items as ``partial`` with the text so far."""
        for item_id in self._order[self._released :]:
            item = self._items[item_id]
            if not item.resolved:
                item.resolved = True
                item.text = item.text.strip()
                item.skip = not item.text
                item.state = "partial"
        return self.release()

    def records(self) -> list[TurnRecord]:
        """Every turn released so far, in order, as last amended."""
        items = (self._items[i] for i in self._order[: self._released])
        return [self._as_record(item, item.sequence) for item in items
                if item.sequence is not None]

    def _record(self, item: Item) -> TurnRecord | None:
        if item.skip:
            return None
        item.sequence = self._next_sequence
        self._next_sequence += 1
        return self._as_record(item, item.sequence)

    @staticmethod
    def _as_record(item: Item, sequence: int) -> TurnRecord:
        return TurnRecord(
            sequence=sequence,
            speaker=item.speaker,
            text=item.text,
            started_at=item.started_at,
            ended_at=item.ended_at,
            audio_ms=item.audio_ms,
            item_id=item.item_id,
            state=item.state,
            full_text=item.full_text if item.full_text != item.text else None,
        )
