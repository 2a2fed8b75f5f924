"""Going live, event by event: the AI speaks first, the kept audio follows, then the
browser is told (and, coming back, shown what it missed)."""

from __future__ import annotations

from vivavoce.interview.actions import AppendAudio, MarkLive, SendJson, SendUpstream, TurnRecord
from vivavoce.interview.conversation import Conversation
from vivavoce.interview.opening import SESSION_UPDATE_EVENT_ID, Opening
from vivavoce.interview.playback import Playback


def turn(sequence: int, speaker: str, text: str, item_id: str) -> TurnRecord:
    return TurnRecord(sequence, speaker, text, None, None, None, item_id,  # type: ignore[arg-type]
                      "complete")


def test_the_session_update_is_marked_as_ours() -> None:
    opening = Opening(1000)
    opening.configure({"type": "session.update", "session": {"type": "realtime"}})
    assert opening.session_update is not None
    assert opening.session_update["event_id"] == SESSION_UPDATE_EVENT_ID


def test_going_live_speaks_first_then_sends_the_kept_audio_then_tells_the_browser() -> None:
    opening = Opening(1000)
    opening.buffer.add(("QUFB", 3))
    actions = opening.went_live(Conversation(Playback(), lambda _now: None), 5.0,
                                interview_id="i1", simulator=False, resumed=False, model="m")
    kinds = [type(a) for a in actions]
    assert kinds.index(SendUpstream) < kinds.index(AppendAudio) < kinds.index(MarkLive)
    started = [a.message for a in actions if isinstance(a, SendJson)]
    assert started[0]["type"] == "interview_started" and started[0]["interview_id"] == "i1"
    assert [a for a in actions if isinstance(a, AppendAudio)] == [AppendAudio("QUFB")]
    assert opening.buffer.take() == []  # sent once, not again


def test_a_room_coming_back_is_shown_only_the_turns_it_missed() -> None:
    conversation = Conversation(Playback(), lambda _now: None)
    conversation.resume([turn(0, "interviewer", "Hello", "a"), turn(1, "candidate", "Hi", "b"),
                         turn(2, "interviewer", "Tell me more", "c")])
    opening = Opening(1000)
    opening.seen_item_ids = frozenset({"a"})
    actions = opening.went_live(conversation, 5.0, interview_id="i1", simulator=False,
                                resumed=True, model="m")
    missed = [a.message for a in actions
              if isinstance(a, SendJson) and a.message["type"] == "missed_turns"]
    assert [t["item_id"] for t in missed[0]["turns"]] == ["b", "c"]
    # Not resumed: nothing is "missed", whatever the room says it saw.
    fresh = opening.went_live(conversation, 6.0, interview_id="i1", simulator=False,
                              resumed=False, model="m")
    assert not [a for a in fresh if isinstance(a, SendJson) and a.message["type"] == "missed_turns"]
