"""The conversation's turns: which Realtime events make a candidate or interviewer turn,
and what of it the browser and the store get.

:class:`Conversation` keeps the :class:`~vivavoce.interview.transcript.Transcript`
(turns in conversation order) fed from the item and transcription events, forwards the
interviewer's audio and words to the browser as far as they were heard (the cut is
:class:`~vivavoce.interview.playback.Playback`'s), and gives a resumed interview's
stored turns to the new Realtime session. Handlers take the event dict and ``now`` and
return actions; pure, no I/O.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from typing import Any

from openai.types.realtime import ConversationItemCreateEventParam, RealtimeClientEventParam

from vivavoce.interview import browser_input, browser_messages
from vivavoce.interview.actions import (
    Action,
    ClearBrowserAudio,
    Log,
    PersistTurn,
    SendAudio,
    SendJson,
    SendUpstream,
    TurnRecord,
)
from vivavoce.interview.browser_input import Rejected
from vivavoce.interview.playback import BYTES_PER_MS, Playback, Reply, truncate_event
from vivavoce.interview.recovery import Cut
from vivavoce.interview.transcript import Transcript

__all__ = ["RESUME_INSTRUCTIONS", "Conversation", "as_str"]

RESUME_INSTRUCTIONS = (
    "The connection dropped for a moment and the candidate has just reconnected. In one "
    "short sentence, welcome them back, then continue the interview where it stopped: "
    "repeat the last question if it was not answered, otherwise ask the next one."
)


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class Conversation:
    """The turns of one interview. ``activity``: called when the candidate said something
    (the idle limit's business)."""

    def __init__(self, playback: Playback, activity: Callable[[float], None]) -> None:
        self._play = playback
        self._activity = activity
        self.transcript = Transcript()
        self.history: list[TurnRecord] = []
        self._client_items: set[str] = set()
        self._speech_started: dict[str, float] = {}

    def handlers(self) -> dict[str, Callable[[dict[str, Any], float], list[Action]]]:
        """The Realtime events this module handles, by type."""
        return {
            "input_audio_buffer.committed": self.committed,
            "input_audio_buffer.speech_stopped": self.speech_stopped,
            "conversation.item.added": self.item_added,
            "conversation.item.created": self.item_added,
            "conversation.item.input_audio_transcription.delta": self.input_delta,
            "conversation.item.input_audio_transcription.completed": self.input_done,
            "conversation.item.input_audio_transcription.failed": self.input_failed,
            "response.output_item.added": self.output_item_added,
            "response.output_audio.delta": self.audio_delta,
            "response.output_audio_transcript.delta": self.transcript_delta,
            "response.output_audio_transcript.done": self.transcript_done,
            "conversation.item.truncated": self.truncated,
        }

    def play_head(self, ms: Any) -> list[Action]:
        """The browser's ``playback_position`` (where a barge-in cuts, playback.py)."""
        checked = browser_input.play_head_ms(ms)
        if isinstance(checked, Rejected):
            return [SendJson(checked.error)]
        self._play.position(checked)
        return []

    def created_here(self, item_id: str) -> bool:
        """An item the server itself created (resumed history)."""
        return item_id in self._client_items

    def resume(self, history: list[TurnRecord]) -> None:
        """The interview's stored turns: seeded into the new session, numbering goes on."""
        ordered = sorted(history, key=lambda t: t.sequence)
        # A reply cut before a word of it was heard is stored empty: it keeps its number
        # (what follows comes after it) but has nothing to seed the new session with.
        self.history = [t for t in ordered if t.text.strip()]
        first = ordered[-1].sequence + 1 if ordered else self.transcript.turn_count
        self.transcript = Transcript(first_sequence=first)

    @property
    def answer_pending(self) -> bool:
        """The candidate started an answer whose transcript has not arrived yet."""
        return bool(self._speech_started) or any(
            item.speaker == "candidate" for item in self.transcript.unresolved())

    def speech_started(self, item_id: str | None, now: float) -> None:
        if item_id is not None:
            self._speech_started[item_id] = now

    def barge_in(self, event: dict[str, Any], now: float, backlog_bytes: int) -> list[Action]:
        """The candidate started to speak: the browser drops the AI's audio, and a reply
        it was hearing is cut where it was heard (the API told, the stored turn amended).
        ``backlog_bytes``: AI audio the adapter still holds (dropped, never heard)."""
        self._activity(now)
        self.speech_started(as_str(event.get("item_id")), now)
        actions: list[Action] = [SendJson(browser_messages.student_speech_started()),
                                 ClearBrowserAudio(), SendJson(browser_messages.ai_audio_clear())]
        reply = self._play.barge_in(now, backlog_bytes)
        if reply is not None and reply.cut_at_ms is not None:
            actions += [SendUpstream(truncate_event(reply)), *self.cut(reply)]
        return actions

    def speech_stopped(self, event: dict[str, Any], now: float) -> list[Action]:
        self._activity(now)
        return []

    def cut(self, reply: Reply) -> list[Action]:
        """The candidate cut ``reply`` short: a stored turn is amended to what was heard."""
        if not reply.done or reply.cut_at_ms is None:
            return []
        record = self.transcript.amend(reply.item_id, text=reply.heard_text(),
                                       state="interrupted", audio_ms=reply.cut_at_ms,
                                       full_text=reply.text)
        return [] if record is None else [PersistTurn(record)]

    def truncated(self, event: dict[str, Any], now: float) -> list[Action]:
        """On a WebRTC call OpenAI plays the reply and, at a barge-in, cuts it itself at
        what was heard (``audio_end_ms``): the stored turn is amended as on the relay. On
        the relay the cut was ours (already made): its echo changes nothing."""
        item_id, end_ms = as_str(event.get("item_id")), event.get("audio_end_ms")
        reply = self._play.replies.get(item_id) if item_id is not None else None
        if (reply is None or reply.cut_at_ms is not None or reply.sent_ms > 0
                or isinstance(end_ms, bool) or not isinstance(end_ms, int) or end_ms < 0):
            return []
        reply.cut_at_ms = end_ms
        return self.cut(reply)

    def response_done(self, response: dict[str, Any], response_id: str | None,
                      now: float) -> list[Action]:
        """A response finished: its items become turns (in conversation order)."""
        # Per-item finals come from the transcript events; response.done repeats them,
        # so its copy is used only for an item that never got its own final.
        output = response.get("output")
        for out_item in output if isinstance(output, list) else []:
            if not isinstance(out_item, dict) or out_item.get("type", "message") != "message":
                continue
            item_id = as_str(out_item.get("id"))
            if item_id is None or out_item.get("role", "assistant") != "assistant":
                continue
            reply = self._reply(item_id)
            reply.response_id = reply.response_id or response_id
            if reply.final_text is None:
                reply.final_text = _transcript_of(out_item)
        _call_audio(self._play.replies.values(), response_id, response.get("usage"))
        for reply in self._play.replies.values():
            if not reply.done and (reply.response_id == response_id or response_id is None
                                   or reply.response_id is None):
                reply.done = True
                self.transcript.resolve(
                    reply.item_id, text=reply.heard_text(), ended_at=now,
                    state="complete" if reply.cut_at_ms is None else "interrupted",
                    audio_ms=reply.heard_ms,
                    full_text=None if reply.cut_at_ms is None else reply.text)
        return [PersistTurn(t) for t in self.transcript.release()]

    def finish(self, now: float) -> list[Action]:
        """The end: replies still streaming keep what was said so far; every turn goes."""
        for reply in self._play.replies.values():
            if not reply.done:
                reply.done = True
                item = self.transcript.get(reply.item_id)
                if item is not None and not item.resolved:
                    self.transcript.resolve(reply.item_id, text=reply.heard_text(),
                                            state="partial", ended_at=now,
                                            audio_ms=reply.heard_ms)
        return [PersistTurn(t) for t in self.transcript.release_all()]

    def interrupt(self, now: float) -> tuple[list[Action], Cut]:
        """The Realtime connection was lost mid-interview: a reply still streaming is
        stored as interrupted with what was delivered, an answer not yet transcribed with
        what was; every turn goes, and the conversation so far becomes the history the
        new session is seeded with. Also says what the drop cut short."""
        cut: Cut = None
        for reply in self._play.replies.values():
            if reply.done:
                continue
            reply.done = True
            item = self.transcript.get(reply.item_id)
            if item is not None and not item.resolved:
                cut = "reply"
                heard = reply.heard_text()
                self.transcript.resolve(reply.item_id, text=heard, state="interrupted",
                                        ended_at=now, audio_ms=reply.heard_ms,
                                        full_text=reply.text if reply.text != heard else None)
        self._play.responding = None
        # The new session's items are new ids; the finished replies are no longer needed.
        self._play.replies.clear()
        answering = bool(self._speech_started)
        self._speech_started.clear()
        for item in self.transcript.unresolved():
            if item.speaker == "candidate":
                answering = True
                self.transcript.resolve(item.item_id, text=item.text, state="partial",
                                        ended_at=now)
        if answering:
            cut = "answer"
        actions: list[Action] = [PersistTurn(t) for t in self.transcript.release_all()]
        self.resume(self.history + self.transcript.records())
        return actions, cut

    def opening_events(self, *, resumed: bool,
                       instructions: str | None = None) -> list[RealtimeClientEventParam]:
        """The session is configured: a resumed interview's stored turns as conversation
        items, in order, with ids of our own (their echoes, ``conversation.item.added``,
        are then recognised and not taken for new turns), then the AI speaks first."""
        events: list[RealtimeClientEventParam] = []
        previous = "root"
        for turn in self.history:
            item_id = f"vvhist_{turn.sequence}"  # unique within the new Realtime session
            self._client_items.add(item_id)
            event: ConversationItemCreateEventParam = {
                "type": "conversation.item.create", "previous_item_id": previous,
                "item": {"id": item_id, "type": "message", "role": "user",
                         "content": [{"type": "input_text", "text": turn.text}]}
                if turn.speaker == "candidate" else
                {"id": item_id, "type": "message", "role": "assistant",
                 "content": [{"type": "output_text", "text": turn.text}]},
            }
            events.append(event)
            previous = item_id
        if instructions is not None or resumed:
            events.append({"type": "response.create",
                           "response": {"instructions": instructions or RESUME_INSTRUCTIONS}})
        else:
            events.append({"type": "response.create"})
        return events

    def committed(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = as_str(event.get("item_id"))
        if item_id is None:
            return []
        item = self.transcript.add(item_id, "candidate", as_str(event.get("previous_item_id")))
        item.started_at = self._speech_started.pop(item_id, item.started_at or now)
        item.ended_at = now
        return []

    def item_added(self, event: dict[str, Any], now: float) -> list[Action]:
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            return []
        item_id = as_str(item.get("id"))
        if item_id is None or item_id in self._client_items:
            return []  # the echo of an item we created (resumed history) is no new turn
        role = item.get("role")
        previous = as_str(event.get("previous_item_id"))
        if role == "user":
            self.transcript.add(item_id, "candidate", previous)
        elif role == "assistant":
            self.transcript.add(item_id, "interviewer", previous)
            self._reply(item_id)
        return []

    def input_delta(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = as_str(event.get("item_id"))
        delta = event.get("delta")
        if item_id is None or not isinstance(delta, str) or not delta:
            return []
        self.transcript.add(item_id, "candidate").text += delta
        return [SendJson(browser_messages.student_transcription_delta(delta, item_id=item_id))]

    def input_done(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = as_str(event.get("item_id"))
        if item_id is None:
            return []
        text = event.get("transcript")
        text = text.strip() if isinstance(text, str) else ""
        self.transcript.add(item_id, "candidate")
        self.transcript.resolve(item_id, text=text, ended_at=None)
        actions: list[Action] = []
        if text:  # an empty transcript is the server's idle nudge, not the candidate
            self._activity(now)
            actions.append(SendJson(browser_messages.student_transcription(text, item_id=item_id)))
        actions.extend(PersistTurn(t) for t in self.transcript.release())
        return actions

    def input_failed(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = as_str(event.get("item_id"))
        if item_id is None:
            return []
        item = self.transcript.add(item_id, "candidate")
        if item.text.strip():
            self.transcript.resolve(item_id, text=item.text, state="partial")
        else:
            self.transcript.skip(item_id)
        error = event.get("error")
        detail = error.get("message") if isinstance(error, dict) else None
        actions: list[Action] = [Log("warning", "candidate transcription failed",
                                     {"item_id": item_id, "detail": detail})]
        actions.extend(PersistTurn(t) for t in self.transcript.release())
        return actions

    def output_item_added(self, event: dict[str, Any], now: float) -> list[Action]:
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            return []
        item_id = as_str(item.get("id"))
        if item_id is None or item.get("role", "assistant") != "assistant":
            return []
        self.transcript.add(item_id, "interviewer")
        reply = self._reply(item_id)
        reply.response_id = as_str(event.get("response_id")) or reply.response_id
        return []

    def _reply(self, item_id: str) -> Reply:
        reply, new = self._play.reply(item_id)
        if new:
            self.transcript.add(item_id, "interviewer")
        return reply

    def audio_delta(self, event: dict[str, Any], now: float) -> list[Action]:
        # The hot path: one call per audio chunk. No logging, no copies beyond the decode.
        item_id = event.get("item_id")
        delta = event.get("delta")
        if not isinstance(item_id, str) or not isinstance(delta, str):
            return []
        reply = self._play.replies.get(item_id) or self._reply(item_id)
        try:
            pcm = binascii.a2b_base64(delta)
        except binascii.Error:
            return []
        first = reply.first_at is None
        if not self._play.audio(reply, len(pcm) / BYTES_PER_MS, now):
            return []  # cut short by the candidate: the rest was never to be heard
        if first:
            item = self.transcript.get(item_id)
            if item is not None and item.started_at is None:
                item.started_at = now
        return [SendAudio(pcm)]

    def transcript_delta(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = as_str(event.get("item_id"))
        delta = event.get("delta")
        if item_id is None or not isinstance(delta, str) or not delta:
            return []
        reply = self._reply(item_id)
        reply.partial_text += delta
        item = self.transcript.get(item_id)
        if item is not None and not item.resolved:
            item.text = reply.partial_text
        if reply.cut_at_ms is not None:
            return []  # words after the cut were not spoken
        return [SendJson(browser_messages.ai_transcription(delta, is_final=False,
                                                           item_id=item_id))]

    def transcript_done(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = as_str(event.get("item_id"))
        transcript = event.get("transcript")
        if item_id is None or not isinstance(transcript, str):
            return []
        reply = self._reply(item_id)
        reply.final_text = transcript
        return [SendJson(browser_messages.ai_transcription(
            reply.heard_text(transcript), is_final=True, item_id=item_id))]


def _call_audio(replies: Any, response_id: str | None, usage: Any) -> None:
    """On a call no audio passes here: a reply's length (what a cut is a part of) is its
    response's output audio tokens, 1 per 50 ms (OPENAI-FACTS.md)."""
    ours = [r for r in replies if r.response_id == response_id and r.received_ms == 0
            and r.sent_ms == 0] if response_id is not None else []
    details = usage.get("output_token_details") if isinstance(usage, dict) else None
    tokens = details.get("audio_tokens") if isinstance(details, dict) else None
    if ours and isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0:
        for reply in ours:
            reply.received_ms = tokens * 50 / len(ours)


def _transcript_of(item: dict[str, Any]) -> str | None:
    content = item.get("content")
    if not isinstance(content, list):
        return None
    parts = [c.get("transcript") for c in content if isinstance(c, dict)]
    texts = [p for p in parts if isinstance(p, str)]
    return "".join(texts) if texts else None
