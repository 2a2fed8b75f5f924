"""Turn ordering by conversation item, independent of when text arrives."""

from __future__ import annotations

from vivavoce.interview.transcript import Transcript


def test_release_waits_for_earlier_items_and_numbers_without_gaps() -> None:
    t = Transcript()
    t.add("a1", "interviewer")
    t.add("u1", "candidate", "a1")
    t.add("a2", "interviewer", "u1")
    t.resolve("a2", text="Second question")
    t.resolve("a1", text="First question")
    assert [(r.sequence, r.item_id) for r in t.release()] == [(0, "a1")]
    t.resolve("u1", text="")  # an idle nudge: no turn, no gap
    assert [(r.sequence, r.item_id) for r in t.release()] == [(1, "a2")]
    assert t.turn_count == 2


def test_previous_item_id_places_an_item_even_when_added_late() -> None:
    t = Transcript()
    t.add("a1", "interviewer")
    t.add("a2", "interviewer", "u1")  # u1 not known yet: goes last
    t.add("u1", "candidate", "a1")  # slots in after a1, before a2
    for item, text in (("a1", "Q1"), ("u1", "A1"), ("a2", "Q2")):
        t.resolve(item, text=text)
    assert [r.item_id for r in t.release()] == ["a1", "u1", "a2"]


def test_nothing_slips_before_released_turns() -> None:
    t = Transcript()
    t.add("a1", "interviewer")
    t.resolve("a1", text="Q1")
    assert len(t.release()) == 1
    t.add("x", "candidate", None)
    t.add("late", "candidate", "missing-item")
    t.resolve("late", text="late text")
    t.resolve("x", text="x text")
    assert [r.sequence for r in t.release()] == [1, 2]


def test_release_all_marks_unfinished_as_partial_and_drops_empty() -> None:
    t = Transcript()
    item = t.add("a1", "interviewer")
    item.text = "half a sent"
    t.add("u1", "candidate")
    [record] = t.release_all()
    assert (record.state, record.text) == ("partial", "half a sent")


def test_amend_returns_a_record_only_once_released() -> None:
    t = Transcript()
    t.add("a1", "interviewer")
    t.add("u0", "candidate")
    t.resolve("u0", text="earlier")  # not blocking: a1 comes first
    t.resolve("a1", text="long answer")
    t.release()
    record = t.amend("a1", text="long", state="interrupted", audio_ms=100)
    assert record is not None and (record.sequence, record.state) == (0, "interrupted")
    t.add("a2", "interviewer")
    t.resolve("a2", text="x")
    assert t.amend("unknown", text="", state="complete", audio_ms=None) is None
