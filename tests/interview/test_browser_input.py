"""What a browser may send, checked message by message (plain values)."""

from __future__ import annotations

import base64

import pytest

from vivavoce.interview.browser_input import (
    Rejected,
    StartBuffer,
    check_audio_chunk,
    check_pcm,
    parse_text,
)


@pytest.mark.parametrize(("text", "code"), [
    ("not json", "bad_message"), ("[1, 2]", "bad_message"), ('{"type": 3}', "bad_message"),
    ("[" * 100_000, "bad_message"),
])
def test_text_that_is_not_a_message(text: str, code: str) -> None:
    rejected = parse_text(text)
    assert isinstance(rejected, Rejected)
    assert (rejected.error["code"], rejected.error["fatal"]) == (code, False)


def test_a_message_comes_back_as_it_was_sent() -> None:
    assert parse_text('{"type": "ping", "x": 1}') == {"type": "ping", "x": 1}


def test_pcm_frames() -> None:
    assert check_pcm(b"\x01\x02" * 4, 1000) == (base64.b64encode(b"\x01\x02" * 4).decode(), 8)
    odd = check_pcm(b"\x00" * 3, 1000)
    assert isinstance(odd, Rejected) and odd.error["code"] == "bad_audio"
    big = check_pcm(b"\x00" * 1002, 1000)
    assert isinstance(big, Rejected) and big.error["code"] == "audio_frame_too_large"


def test_audio_chunks_pass_through_as_sent() -> None:
    b64 = base64.b64encode(bytes(100)).decode()
    assert check_audio_chunk(b64, 1000) == (b64, 100)
    for bad, code in ((None, "bad_audio"), ("", "bad_audio"), ("!!!!", "bad_audio"),
                      (base64.b64encode(bytes(3)).decode(), "bad_audio"),
                      (base64.b64encode(bytes(2000)).decode(), "audio_frame_too_large")):
        rejected = check_audio_chunk(bad, 1000)
        assert isinstance(rejected, Rejected) and rejected.error["code"] == code, bad


def test_the_start_buffer_keeps_the_newest_audio() -> None:
    buffer = StartBuffer(max_bytes=250)
    for i in range(4):
        buffer.add((f"chunk{i}", 100))
    assert buffer.dropped_bytes == 200
    assert buffer.take() == ["chunk2", "chunk3"]
    assert buffer.take() == []


def test_a_start_buffer_emptied_holds_next_to_nothing() -> None:
    """Every interview holds its buffer to the end: once taken it keeps no block (a
    deque would keep ~0.7 KB)."""
    import tracemalloc

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        buffers = [StartBuffer(4) for _ in range(100)]
        for buffer in buffers:
            for n in range(3):
                buffer.add((f"chunk{n}", 2))
            assert buffer.take() == ["chunk1", "chunk2"]
        per_buffer = (tracemalloc.get_traced_memory()[0] - before) / len(buffers)
    finally:
        tracemalloc.stop()
    assert per_buffer < 300, per_buffer
