"""The play head and the barge-in cut, event by event (plain values, no session): the
cut is at min(heard, sent, item audio), and audio still queued for the browser (the
backlog, passed in as a value) is never counted as heard."""

from __future__ import annotations

from vivavoce.interview.playback import BYTES_PER_MS, Playback, spoken_part, truncate_event

T0 = 1_000_000.0


def test_audio_is_forwarded_and_placed_in_the_browser_s_stream() -> None:
    p = Playback()
    a, new = p.reply("a1")
    assert new and p.reply("a1") == (a, False)
    assert p.audio(a, 1000, T0)
    b, _ = p.reply("a2")
    assert p.audio(b, 500, T0)
    assert (a.offset_ms, a.sent_ms, b.offset_ms, b.sent_ms) == (0, 1000, 1000, 500)
    assert a.first_at == T0 and b.first_at == T0


def test_cut_at_the_browser_s_own_position() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 3000, T0)
    p.position(1234.9)
    cut = p.barge_in(T0, backlog_bytes=0)
    assert cut is a and a.cut_at_ms == 1234
    assert truncate_event(a) == {"type": "conversation.item.truncate", "item_id": "a1",
                                 "content_index": 0, "audio_end_ms": 1234}
    # Later audio of the cut item is received but not forwarded.
    assert not p.audio(a, 500, T0 + 1)
    assert (a.received_ms, a.sent_ms) == (3500, 3000)


def test_the_browser_position_cannot_pass_what_was_sent() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 400, T0)
    p.position(99_999)
    p.barge_in(T0, backlog_bytes=0)
    assert a.cut_at_ms == 400 and a.heard_ms == 400


def test_audio_still_queued_for_the_browser_was_not_heard() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 3000, T0)
    p.position(2900)
    # 2 s of it never left the adapter: the browser had only 1 s.
    p.barge_in(T0, backlog_bytes=2000 * BYTES_PER_MS)
    assert a.cut_at_ms == 1000


def test_without_a_position_the_play_head_is_real_time_from_the_first_frame() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 5000, T0)
    assert p.unplayed_ms(T0 + 1.5) == 3500
    p.barge_in(T0 + 1.5, backlog_bytes=0)
    assert a.cut_at_ms == 1500


def test_the_cut_is_inside_the_item_that_was_playing() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 1000, T0)
    a.done = True
    b, _ = p.reply("a2")
    p.audio(b, 2000, T0)
    p.position(1600)
    assert p.barge_in(T0, backlog_bytes=0) is b
    assert b.cut_at_ms == 600 and a.cut_at_ms is None


def test_a_reply_heard_to_its_end_is_not_cut() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 1000, T0)
    a.done = True
    p.position(1000)
    assert p.barge_in(T0 + 5, backlog_bytes=0) is None
    assert a.cut_at_ms is None


def test_after_a_barge_in_the_stream_ends_at_what_was_delivered() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 3000, T0)
    p.barge_in(T0, backlog_bytes=2000 * BYTES_PER_MS)
    # The next item starts where the browser's stream ended (1 s), played at once.
    b, _ = p.reply("a2")
    p.audio(b, 1000, T0)
    assert b.offset_ms == 1000
    assert p.ai_playing(T0 + 0.5)  # half of it still to play
    assert not p.ai_playing(T0 + 1.0)  # played, and nothing is being generated
    p.responding = "r2"
    assert p.ai_playing(T0 + 5)


def test_heard_text_follows_the_cut() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    a.partial_text = "one two three four"
    p.audio(a, 1000, T0)
    assert a.heard_text() == "one two three four"
    p.position(500)
    p.barge_in(T0, backlog_bytes=0)
    assert a.heard_text() == spoken_part("one two three four", 500, 1000) == "one two three"


def test_spoken_part_bounds() -> None:
    assert spoken_part("hello there", 0, 1000) == ""
    assert spoken_part("hello there", 2000, 1000) == "hello there"
    assert spoken_part("hello there", 500, 0) == "hello there"
    assert spoken_part("hello there", 300, 1000) == "hello"


# --- audio dropped for a browser too slow to take it (the adapter sheds its backlog) ---

def test_a_gap_in_the_browser_s_stream_maps_back_into_the_item() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 5000, T0)
    # The browser had taken 1 s when the adapter dropped the oldest 2 s of the 4 s it
    # held: the browser's copy of the item is 3 s long, with a gap at 1 s.
    p.dropped(2000, backlog_ms=2000)
    assert (a.sent_ms, a.delivered_ms, a.gaps) == (5000, 3000, [(1000, 2000)])
    assert p.unplayed_ms(T0) == 3000
    # Heard 2.5 s of its copy: past the gap, so 4.5 s into the item.
    p.position(2500)
    assert p.barge_in(T0, backlog_bytes=0) is a and a.cut_at_ms == 4500


def test_a_position_before_the_gap_is_not_moved() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 5000, T0)
    p.dropped(2000, backlog_ms=2000)
    p.position(800)
    p.barge_in(T0, backlog_bytes=0)
    assert a.cut_at_ms == 800


def test_drops_spanning_two_items_shift_the_later_one() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 2000, T0)
    a.done = True
    b, _ = p.reply("a2")
    p.audio(b, 3000, T0)
    # Delivered 1.5 s; then 1 s dropped: the last 0.5 s of a1 and the first 0.5 s of a2.
    p.dropped(1000, backlog_ms=2500)
    assert (a.dropped_ms, a.gaps) == (500, [(1500, 500)])
    assert (b.dropped_ms, b.gaps, b.offset_ms) == (500, [(0, 500)], 1500)
    # Consecutive drops at the same place make one gap.
    p.dropped(500, backlog_ms=2000)
    assert (b.dropped_ms, b.gaps) == (1000, [(0, 1000)])
    # 1 s into the browser's copy of a2 is 2 s into a2.
    p.position(2500)
    assert p.barge_in(T0, backlog_bytes=0) is b and b.cut_at_ms == 2000


def test_a_reply_heard_to_the_end_of_what_reached_the_browser_is_not_cut() -> None:
    p = Playback()
    a, _ = p.reply("a1")
    p.audio(a, 3000, T0)
    a.done = True
    p.dropped(1000, backlog_ms=0)
    p.position(2000)
    assert p.barge_in(T0 + 9, backlog_bytes=0) is None
