"""Where the browser's playback of the interviewer is, and the barge-in cut.

The interviewer's audio reaches the browser faster than real time. To cut an item
exactly where the candidate interrupted it, this tracks, per interviewer item
(:class:`Reply`), the audio received from OpenAI, the audio forwarded to the browser and
where that item starts in the browser's stream; and for the whole stream, a play head:
the browser's own ``playback_position`` when it sends one, else an estimate (a player
that plays in real time whenever it has audio).

At barge-in (:meth:`Playback.barge_in`) the cut is at ``min(heard, sent, item audio)``:
never past the audio we sent, nor past what OpenAI generated, nor past what was heard —
what the browser had not received yet (``backlog_bytes``, still queued in the adapter,
passed in as a value) is dropped, so it does not count as heard. Pure: no I/O, no clock.

A browser too slow to take the audio in real time has the oldest of its backlog dropped
by the adapter (:meth:`Playback.dropped`): the browser's stream then has gaps the item's
own timeline does not. Positions in the stream (``offset_ms``, the play head, the
browser's ``playback_position``) are the browser's; ``sent_ms``, ``received_ms`` and the
cut are the item's, and each reply keeps where its gaps are to map one to the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openai.types.realtime import ConversationItemTruncateEventParam

__all__ = ["BYTES_PER_MS", "Playback", "Reply", "spoken_part", "truncate_event"]

# PCM16 mono at 24 kHz: 24 samples of 2 bytes per millisecond.
BYTES_PER_MS = 48


def spoken_part(text: str, played_ms: float, total_ms: float) -> str:
    """The words of ``text`` heard in ``played_ms`` of ``total_ms`` of speech.

    We only know the transcript of the whole item, so this approximates by proportion of
    audio played and ends at the end of a word. Never raises.
    """
    if total_ms <= 0 or played_ms >= total_ms:
        return text.strip()
    if played_ms <= 0:
        return ""
    cut = round(len(text) * played_ms / total_ms)
    # A word that had begun is counted as heard; one that starts at the cut is not.
    while 0 < cut < len(text) and not text[cut].isspace() and not text[cut - 1].isspace():
        cut += 1
    return text[:cut].strip()


@dataclass(slots=True)
class Reply:
    """Audio bookkeeping for one interviewer item (barge-in needs every number here)."""

    item_id: str
    response_id: str | None = None
    offset_ms: float = 0.0  # where its audio starts in the stream sent to the browser
    sent_ms: float = 0.0  # audio forwarded to the browser
    received_ms: float = 0.0  # audio received from upstream (after a cut, not forwarded)
    first_at: float | None = None
    final_text: str | None = None
    partial_text: str = ""
    cut_at_ms: int | None = None  # set when the candidate barged in
    done: bool = False
    # Audio of this item dropped for a slow browser: (position in the browser's copy of
    # the item, ms dropped there), in order.
    gaps: list[tuple[float, float]] = field(default_factory=list)
    dropped_ms: float = 0.0

    @property
    def delivered_ms(self) -> float:
        """The item's length in the browser's stream (sent, less what was dropped)."""
        return self.sent_ms - self.dropped_ms

    def item_ms(self, in_browser_ms: float) -> float:
        """A position in the browser's copy of the item as a position in the item."""
        return in_browser_ms + sum(ms for at, ms in self.gaps if at <= in_browser_ms)

    @property
    def text(self) -> str:
        return self.final_text if self.final_text is not None else self.partial_text

    def heard_text(self, text: str | None = None) -> str:
        """``text`` (default: all of it) as far as the candidate heard it."""
        text = self.text if text is None else text
        if self.cut_at_ms is None:
            return text
        return spoken_part(text, self.cut_at_ms, self.received_ms)

    @property
    def heard_ms(self) -> int:
        return self.cut_at_ms if self.cut_at_ms is not None else round(self.sent_ms)


class Playback:
    """The interviewer's items and the browser's play head of one interview."""

    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        # The response OpenAI is generating (None: none), read for "is the AI busy".
        self.responding: str | None = None
        # The stream of AI audio sent to the browser, in ms, and the play head in it.
        self._stream_ms = 0.0
        self._play_ms = 0.0
        self._play_at = 0.0
        self._browser_cursor_ms: float | None = None
        self._playing: Reply | None = None

    def reply(self, item_id: str) -> tuple[Reply, bool]:
        """The item's reply, and whether it is new."""
        reply = self.replies.get(item_id)
        if reply is not None:
            return reply, False
        reply = self.replies[item_id] = Reply(item_id)
        return reply, True

    def audio(self, reply: Reply, ms: float, now: float) -> bool:
        """``ms`` of the item's audio arrived from OpenAI; True when it goes to the
        browser (not after a cut: the rest was never to be heard)."""
        reply.received_ms += ms
        if reply.cut_at_ms is not None:
            return False
        if reply.first_at is None:
            reply.first_at = now
            reply.offset_ms = self._stream_ms
        self._advance(now)
        reply.sent_ms += ms
        self._stream_ms += ms
        self._playing = reply
        return True

    def position(self, ms: float) -> None:
        """The browser's own play head (it cannot be past what was sent)."""
        self._browser_cursor_ms = min(ms, self._stream_ms)

    def ai_playing(self, now: float) -> bool:
        """OpenAI is generating, or the browser has audio left to play."""
        self._advance(now)
        return self.responding is not None or self._play_ms < self._stream_ms

    def unplayed_ms(self, now: float) -> float:
        """Audio sent to the browser and not played yet (estimated)."""
        self._advance(now)
        return max(0.0, self._stream_ms - self._play_ms)

    def dropped(self, ms: float, backlog_ms: float) -> None:
        """The adapter dropped the oldest ``ms`` of the browser's backlog (``backlog_ms``
        is what it still holds after that): the stream closes up over the gap."""
        if ms <= 0:
            return
        start = self._stream_ms - backlog_ms - ms
        end = start + ms
        for reply in reversed(self.replies.values()):
            if reply.first_at is None:
                continue
            r_start, r_end = reply.offset_ms, reply.offset_ms + reply.delivered_ms
            if r_end <= start:
                break  # this and every older item were delivered before the gap
            if r_start >= end:
                reply.offset_ms -= ms
                continue
            overlap = min(end, r_end) - max(start, r_start)
            at = max(0.0, start - r_start)
            if reply.gaps and reply.gaps[-1][0] == at:
                reply.gaps[-1] = (at, reply.gaps[-1][1] + overlap)
            else:
                reply.gaps.append((at, overlap))
            reply.dropped_ms += overlap
            reply.offset_ms = min(r_start, start)
        self._stream_ms = max(0.0, self._stream_ms - ms)
        if self._play_ms > start:
            self._play_ms = max(start, self._play_ms - ms)
        if self._browser_cursor_ms is not None and self._browser_cursor_ms > start:
            self._browser_cursor_ms = max(start, self._browser_cursor_ms - ms)

    def barge_in(self, now: float, backlog_bytes: int) -> Reply | None:
        """The candidate started speaking: the browser's audio is dropped, the play head
        jumps to the end of what it received. Returns the reply that is cut now (its
        ``cut_at_ms`` set), or None when nothing unheard was playing."""
        self._advance(now)
        backlog_ms = max(0, backlog_bytes) / BYTES_PER_MS
        delivered_ms = max(0.0, self._stream_ms - backlog_ms)
        heard_ms = self._play_ms if self._browser_cursor_ms is None else self._browser_cursor_ms
        heard_ms = min(heard_ms, delivered_ms)
        cut: Reply | None = None
        reply = self._playing
        if reply is not None and reply.cut_at_ms is None and reply.first_at is not None:
            in_item = heard_ms - reply.offset_ms
            # Never past the audio we sent (or the item's length): the bug that makes the
            # model believe it said words the candidate never heard.
            at = int(max(0.0, min(reply.item_ms(in_item), reply.sent_ms, reply.received_ms)))
            fully_heard = reply.done and in_item >= reply.delivered_ms
            if not fully_heard:
                reply.cut_at_ms = at
                cut = reply
        self._stream_ms = delivered_ms
        self._play_ms = delivered_ms
        self._browser_cursor_ms = None
        return cut

    def _advance(self, now: float) -> None:
        if self._play_at:
            self._play_ms = min(self._stream_ms, self._play_ms + (now - self._play_at) * 1000)
        self._play_at = now


def truncate_event(reply: Reply) -> ConversationItemTruncateEventParam:
    """Tell OpenAI where ``reply`` was cut, so the model knows what was heard."""
    return {"type": "conversation.item.truncate", "item_id": reply.item_id,
            "content_index": 0, "audio_end_ms": reply.heard_ms}
