"""The conversation's turns, event by event (plain values, no session): a resumed
interview's opening, echoes of our own items, AI words as far as heard."""

from __future__ import annotations

import base64

from vivavoce.interview.actions import PersistTurn, SendAudio, SendJson, TurnRecord
from vivavoce.interview.conversation import RESUME_INSTRUCTIONS, Conversation
from vivavoce.interview.playback import BYTES_PER_MS, Playback

T0 = 1_000_000.0


def turn(sequence: int, speaker: str, text: str) -> TurnRecord:
    return TurnRecord(sequence, speaker, text, T0, T0, None, f"i{sequence}",  # type: ignore[arg-type]
                      "complete")


def conversation() -> tuple[Conversation, Playback, list[float]]:
    activity: list[float] = []
    play = Playback()
    return Conversation(play, activity.append), play, activity


def test_a_fresh_interview_opens_with_the_ai_speaking_first() -> None:
    c, _, _ = conversation()
    assert c.opening_events(resumed=False) == [{"type": "response.create"}]


def test_a_resumed_interview_is_given_its_turns_then_welcomed_back() -> None:
    c, _, _ = conversation()
    c.resume([turn(1, "candidate", "I study finance."), turn(0, "interviewer", "Hello?")])
    events = c.opening_events(resumed=True)
    assert [(e.get("previous_item_id"), e.get("item", {}).get("role")) for e in events] == [
        ("root", "assistant"), ("vvhist_0", "user"), (None, None)]
    assert events[-1] == {"type": "response.create",
                          "response": {"instructions": RESUME_INSTRUCTIONS}}
    # Their echoes are no new turns; numbering goes on after the stored ones.
    for e in events[:2]:
        c.item_added({"type": "conversation.item.added", "item": e["item"]}, T0)
    c.item_added({"item": {"id": "a2", "type": "message", "role": "assistant"},
                  "previous_item_id": "vvhist_1"}, T0)
    c.transcript_done({"item_id": "a2", "transcript": "Welcome back."}, T0)
    out = c.response_done({"id": "r2"}, "r2", T0)
    assert [(a.turn.sequence, a.turn.text) for a in out if isinstance(a, PersistTurn)] == [
        (2, "Welcome back.")]


def test_candidate_words_count_as_activity_and_empty_ones_do_not() -> None:
    c, _, activity = conversation()
    c.committed({"item_id": "u1"}, T0)
    out = c.input_done({"item_id": "u1", "transcript": "  "}, T0 + 1)
    assert activity == [] and not [a for a in out if isinstance(a, SendJson)]
    c.committed({"item_id": "u2", "previous_item_id": "u1"}, T0 + 2)
    out = c.input_done({"item_id": "u2", "transcript": "Yes."}, T0 + 3)
    assert activity == [T0 + 3]
    assert [a.message["type"] for a in out if isinstance(a, SendJson)] == [
        "student_transcription"]


def test_ai_words_after_a_cut_are_not_sent_and_the_final_is_what_was_heard() -> None:
    c, play, _ = conversation()
    delta = base64.b64encode(bytes(1000 * BYTES_PER_MS)).decode()
    assert isinstance(c.audio_delta({"item_id": "a1", "delta": delta}, T0)[0], SendAudio)
    c.transcript_delta({"item_id": "a1", "delta": "one two "}, T0)
    play.position(500)
    cut = play.barge_in(T0, backlog_bytes=0)
    assert cut is not None
    assert c.transcript_delta({"item_id": "a1", "delta": "three four"}, T0) == []
    [final] = c.transcript_done({"item_id": "a1", "transcript": "one two three four"}, T0)
    assert isinstance(final, SendJson) and final.message["text"] == "one two three"
    [stored] = [a.turn for a in c.response_done({"id": "r1"}, "r1", T0)
                if isinstance(a, PersistTurn)]
    assert (stored.state, stored.text, stored.audio_ms) == ("interrupted", "one two three", 500)
