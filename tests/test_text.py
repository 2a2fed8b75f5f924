"""Shortening text to a limit: whole words, whole sentences where they fill most of the
room, an ellipsis when something was left out, and what is kept always the text's start."""

from __future__ import annotations

import re

import pytest

from vivavoce.text import ELLIPSIS, shorten

LONG = (
    "I built a weather station with my sister for our school's science fair. It logs the "
    "temperature, the humidity and the air pressure every minute, e.g. during storms, and "
    "sends them to a small web page.\nThe hardest part was the battery — it died in the "
    "cold (below zero), so we added a solar panel and a bigger battery pack."
)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        # Texts that fit are only stripped: inner spacing and line breaks stay.
        ("I built it.", 11, "I built it."),
        ("  Line one.\nLine two.  ", 40, "Line one.\nLine two."),
        ("", 5, ""),
        # Cut between words, never inside one.
        ("one two three four", 10, "one two…"),
        ("one two three", 8, "one two…"),  # the cut falls on the space itself
        ("alpha\nbeta gamma", 9, "alpha…"),  # any whitespace separates words
        # A comma, colon, dash or opening bracket is not left before the ellipsis.
        ("alpha, beta gamma", 10, "alpha…"),
        ("alpha: beta gamma", 10, "alpha…"),
        ("alpha — beta gamma", 12, "alpha…"),
        ("Use a list ( or a set ) here", 13, "Use a list…"),
        # Whole sentences when they keep at least half of the room (" …" after them).
        ("First sentence here. Second one is longer than that.", 30, "First sentence here. …"),
        ("Hi. This is a much longer second sentence", 30, "Hi. This is a much longer…"),
        ('He said "Stop." Then he left the room quietly.', 30, 'He said "Stop." …'),
        ("He said \u201cStop.\u201d Then he left the room quietly.", 30,
         "He said \u201cStop.\u201d …"),
        ("One two three.\nFour five six seven.", 20, "One two three. …"),
        ("Is it done? 42 tests say so, and more.", 22, "Is it done? …"),
        ("Is it done? 42 tests say so, and more.", 24, "Is it done? 42 tests…"),
        # Not sentence ends: an abbreviation before a small letter.
        ("We used e.g. the sensors and the panel today", 20, "We used e.g. the…"),
        # Only a word longer than the room is cut inside.
        ("x" * 50, 10, "x" * 9 + "…"),
        ("supercalifragilistic word", 8, "superca…"),
        ("anything", 1, "…"),
    ],
)
def test_shorten(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected
    assert len(shorten(text, limit)) <= limit


@pytest.mark.parametrize("limit", range(2, len(LONG) + 8, 3))
def test_every_limit_keeps_the_start_of_the_text_up_to_a_word_boundary(limit: int) -> None:
    short = shorten(LONG, limit)
    assert len(short) <= limit
    if len(LONG) <= limit:
        assert short == LONG
        return
    assert short.endswith(ELLIPSIS)
    kept = short.removesuffix(ELLIPSIS).rstrip()
    assert LONG.startswith(kept)
    rest = LONG[len(kept):]
    first_word = LONG.split()[0]
    if len(kept) < len(first_word):  # no whole word fits: cut inside the first one
        assert limit <= len(first_word)
    else:
        # What follows the kept text is whitespace, perhaps after punctuation dropped.
        assert re.match(r"[,;:\-\u2013\u2014(]*\s", rest), (kept[-20:], rest[:20])
        assert kept[-1] not in ",;:-\u2013\u2014("


def test_a_limit_below_one_is_refused() -> None:
    for limit in (0, -3):
        with pytest.raises(ValueError, match="at least 1"):
            shorten("text", limit)
