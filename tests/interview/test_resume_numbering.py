"""A resumed interview numbers its turns after every stored turn, the empty ones too (a
reply cut before a word was heard is stored with no text): the fault soak found the next
turn taking an empty turn's number, so the store refused it (TurnConflict) and it was
lost. Empty turns are not seeded into the new session."""

from __future__ import annotations

from vivavoce.interview.actions import TurnRecord
from vivavoce.interview.conversation import Conversation
from vivavoce.interview.playback import Playback


def _turn(sequence: int, speaker: str, text: str) -> TurnRecord:
    return TurnRecord(
        sequence=sequence,
        speaker=speaker,
        text=text,  # type: ignore[arg-type]
        started_at=None,
        ended_at=None,
        audio_ms=None,
        item_id=f"item_{sequence}",
        state="complete",
    )


def test_numbering_goes_on_after_an_empty_last_turn() -> None:
    conversation = Conversation(Playback(), lambda now: None)
    conversation.resume(
        [
            _turn(0, "interviewer", "Hello, tell me about you."),
            _turn(1, "candidate", "I build robots."),
            _turn(2, "interviewer", ""),
        ]
    )
    assert conversation.transcript.turn_count == 3
    seeded = [
        e
        for e in conversation.opening_events(resumed=True)
        if e["type"] == "conversation.item.create"
    ]
    assert len(seeded) == 2  # the empty turn says nothing to the new session
