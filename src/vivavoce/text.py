"""Shortening text for people to read: whole words, whole sentences where they fit, and an
ellipsis when something was left out.

Used where a text must fit a limit: the evaluation's texts and quotes
(``evaluation/output.py``, ``evaluation/evidence.py``) and the fake's evaluations
(``testing/fake_responses.py``).
"""

from __future__ import annotations

import re

__all__ = ["ELLIPSIS", "shorten"]

ELLIPSIS = "\u2026"

# A sentence ends at . ! or ? (and any closing quotes or brackets) when the next one
# begins with a capital or a digit after whitespace: "e.g. the" is no end.
_SENTENCE_END = re.compile(
    r"[.!?][\"'\u201d\u2019\u00bb)\]]*(?=\s+[\"'\u201c\u2018\u00ab(\[]?[A-Z0-9])"
)
_LAST_SPACE = re.compile(r"\s+\S*\Z")
# Dropped at the end of what is kept: a comma, colon or dash before the ellipsis reads
# as a slip, an opening bracket or quote as a broken one.
_DANGLING = re.compile(r"[\s,;:\-\u2013\u2014(\[{\u201c\u2018\u00ab]+\Z")


def shorten(text: str, limit: int) -> str:
    """``text`` without its outer whitespace, in at most ``limit`` characters, never cut
    inside a word.

    A text that fits is returned as it is (its inner spacing and line breaks kept). A
    longer one ends after the last whole sentence that fits, followed by `` …``, when that
    keeps at least half of ``limit``; otherwise after the last whole word that fits,
    followed by ``…`` (a trailing comma, colon, dash or opening bracket is dropped
    first). Only a first word longer than ``limit`` is cut inside. What is kept is
    always the start of ``text`` word for word, so a shortened quote is still found in
    the transcript it came from.

    Raises ValueError when ``limit`` is below 1 (no room even for the ellipsis).
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    text = text.strip()
    if len(text) <= limit:
        return text
    # " …" after a sentence must fit too.
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= limit - 2]
    if ends and ends[-1] >= limit // 2:
        return text[: ends[-1]] + " " + ELLIPSIS
    room = text[: limit - 1]  # one character is kept for the ellipsis
    if text[len(room)].isspace():
        cut = len(room)
    else:
        space = _LAST_SPACE.search(room)
        cut = space.start() if space else 0
    kept = _DANGLING.sub("", room[:cut])
    if not kept:
        # One word longer than the room: nothing whole fits, so cut inside it.
        return room.rstrip() + ELLIPSIS
    return kept + ELLIPSIS
