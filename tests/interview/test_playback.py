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
