"""The interview state machine, event by event, with plain values (no sockets, no clock).

Errors go through the real describer (the doctor's cause catalogue), so these tests also
pin which OpenAI failure becomes which browser error.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from vivavoce.interview.actions import (
    Action,
    AddUsage,
    AppendAudio,
    ClearBrowserAudio,
    CloseBrowser,
    CloseUpstream,
    ConnectUpstream,
    EndInterview,
    Log,
    MarkLive,
    PersistTurn,
    PrepareInterview,
    ReconnectUpstream,
    SendAudio,
    SendJson,
    SendUpstream,
    TurnRecord,
    UpstreamError,
)
from vivavoce.interview.errors import UpstreamProblem
from vivavoce.interview.session import (
    BYTES_PER_MS,
    SESSION_UPDATE_EVENT_ID,
    InterviewSession,
    Limits,
    Phase,
    spoken_part,
)
from vivavoce.pricing import default_price_table
from vivavoce.realtime.errors import make_error_describer

T0 = 1_000_000.0
UPDATE = {"type": "session.update", "session": {"type": "realtime", "instructions": "x"}}


def pcm(ms: int) -> bytes:
    return bytes(ms * BYTES_PER_MS)


def b64(ms: int) -> str:
    return base64.b64encode(pcm(ms)).decode()


def sent_json(actions: list[Action]) -> list[dict[str, Any]]:
    return [a.message for a in actions if isinstance(a, SendJson)]


def upstream(actions: list[Action]) -> list[dict[str, Any]]:
    return [a.event for a in actions if isinstance(a, SendUpstream)]


def turns(actions: list[Action]) -> list[TurnRecord]:
    return [a.turn for a in actions if isinstance(a, PersistTurn)]


def of(actions: list[Action], kind: type) -> list[Any]:
    return [a for a in actions if isinstance(a, kind)]


def ignored(actions: list[Action], name: str) -> bool:
    """The core's explicit no-op: input ``name`` arrived in a phase that does not take
    it, so nothing happens but one debug line naming the input and the phase."""
    return (len(actions) == 1 and isinstance(actions[0], Log) and actions[0].level == "debug"
            and actions[0].fields.get("input") == name)


class Harness:
    """A session plus the events a Realtime server would send, with ids of our choice."""

    def __init__(self, *, limits: Limits | None = None, backlog: int = 0,
                 resumable: bool = False) -> None:
        self.backlog = backlog
        prices = default_price_table()
        self.s = InterviewSession(
            model="gpt-realtime",
            describe_error=make_error_describer("local"),
            limits=limits or Limits(max_duration_s=600, idle_timeout_s=60),
            price=lambda u: prices.cost("gpt-realtime", u),
            resumable=resumable,
        )

    def text(self, message: dict[str, Any], now: float = T0) -> list[Action]:
        return self.s.browser_text(json.dumps(message), now)

    def ev(self, kind: str, now: float = T0, **fields: Any) -> list[Action]:
        # The adapter's AI audio backlog goes in as a value with every event.
        return self.s.upstream_event({"type": kind, **fields}, now, backlog_bytes=self.backlog)

    def go_live(self, now: float = T0) -> list[Action]:
        out = self.s.connected(now)
        out += self.text({"type": "start_interview", "candidateContext": {"name": "A"}}, now)
        out += self.s.prepared("iv-1", UPDATE, now)
        out += self.s.upstream_opened(now)
        out += self.ev("session.updated", now)
        assert self.s.phase is Phase.LIVE
        return out

    def reply(self, item: str, resp: str, text: str, audio_ms: int, now: float,
              *, done: bool = True, previous: str | None = None) -> list[Action]:
        out = self.ev("response.created", now, response={"id": resp})
        out += self.ev("conversation.item.added", now, previous_item_id=previous,
                       item={"id": item, "type": "message", "role": "assistant"})
        out += self.ev("response.output_item.added", now, response_id=resp,
                       item={"id": item, "type": "message", "role": "assistant"})
        out += self.ev("response.output_audio_transcript.delta", now, item_id=item, delta=text)
        out += self.ev("response.output_audio.delta", now, item_id=item, delta=b64(audio_ms))
        if done:
            out += self.finish_reply(item, resp, text, now)
        return out

    def finish_reply(self, item: str, resp: str, text: str, now: float,
                     usage: dict[str, Any] | None = None, status: str = "completed") -> list[Action]:
        out = self.ev("response.output_audio_transcript.done", now, item_id=item, transcript=text)
        out += self.ev("response.done", now, response={
            "id": resp, "status": status, "usage": usage,
            "output": [{"id": item, "type": "message", "role": "assistant",
                        "content": [{"type": "output_audio", "transcript": text}]}]})
        return out

    def user_turn(self, item: str, now: float, previous: str | None = None) -> list[Action]:
        out = self.ev("input_audio_buffer.speech_started", now, item_id=item, audio_start_ms=0)
        out += self.ev("input_audio_buffer.speech_stopped", now + 1, item_id=item)
        out += self.ev("input_audio_buffer.committed", now + 1, item_id=item,
                       previous_item_id=previous)
        out += self.ev("conversation.item.added", now + 1, previous_item_id=previous,
                       item={"id": item, "type": "message", "role": "user"})
        return out


# --------------------------------------------------------------------------- start
def test_start_order_and_no_audio_before_configured() -> None:
    h = Harness()
    assert sent_json(h.s.connected(T0))[0]["type"] == "connected"
    out = h.text({"type": "start_interview", "candidateContext": {"name": "Ada"}})
    assert sent_json(out) == [{"type": "interview_starting", "message": sent_json(out)[0]["message"]}]
    assert of(out, PrepareInterview) == [PrepareInterview({"name": "Ada"})]

    # Audio while starting is held back, in every phase before live.
    assert h.s.browser_audio(pcm(100), T0) == []
    out = h.s.prepared("iv-1", UPDATE, T0)
    assert of(out, ConnectUpstream) == [ConnectUpstream()]
    assert h.text({"type": "audio_chunk", "audio": b64(50)}) == []
    out = h.s.upstream_opened(T0)
    assert upstream(out) == [{**UPDATE, "event_id": SESSION_UPDATE_EVENT_ID}]
    assert h.s.browser_audio(pcm(20), T0) == []
    assert h.s.phase is Phase.CONFIGURING

    out = h.ev("session.updated", T0 + 1)
    kinds = [type(a).__name__ for a in out]
    # response.create (the AI speaks first), then the held audio in order, then live.
    assert upstream(out) == [{"type": "response.create"}]
    assert [a.audio_b64 for a in of(out, AppendAudio)] == [b64(100), b64(50), b64(20)]
    assert kinds.index("SendUpstream") < kinds.index("AppendAudio") < kinds.index("MarkLive")
    started = sent_json(out)[-1]
    assert started["type"] == "interview_started" and started["interview_id"] == "iv-1"
    assert of(out, MarkLive) == [MarkLive(T0 + 1)]


def test_session_updated_before_configuring_does_not_go_live() -> None:
    h = Harness()
    h.text({"type": "start_interview", "candidateContext": {"name": "A"}})
    h.s.prepared("iv-1", UPDATE, T0)
    assert ignored(h.ev("session.updated"), "session.updated")  # not even opened
    assert h.s.phase is Phase.CONNECTING


def test_start_buffer_is_bounded_keeping_newest() -> None:
    h = Harness(limits=Limits(start_buffer_bytes=300 * BYTES_PER_MS))
    h.text({"type": "start_interview"})
    for ms in (100, 100, 100, 100):
        h.s.browser_audio(pcm(ms), T0)
    assert h.s.dropped_start_audio_bytes == 100 * BYTES_PER_MS
    h.s.prepared("iv", UPDATE, T0)
    h.s.upstream_opened(T0)
    out = h.ev("session.updated")
    assert len(of(out, AppendAudio)) == 3


def test_audio_before_start_is_ignored_and_live_audio_is_forwarded_once_encoded() -> None:
    h = Harness()
    assert ignored(h.s.browser_audio(pcm(10), T0), "browser_audio")
    assert ignored(h.text({"type": "audio_chunk", "audio": b64(10)}), "browser_audio")
    h.go_live()
    frame = bytes(range(256)) * 2
    assert h.s.browser_audio(frame, T0) == [AppendAudio(base64.b64encode(frame).decode())]
    text = base64.b64encode(frame).decode()
    # base64 from audio_chunk goes upstream as it came.
    assert h.text({"type": "audio_chunk", "audio": text}) == [AppendAudio(text)]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_message"),
        ("[" * 100_000, "bad_message"),
        ("[1, 2]", "bad_message"),
        ('{"no": "type"}', "bad_message"),
        ('{"type": "dance"}', "unknown_message"),
        ('{"type": "audio_chunk", "audio": "***"}', "bad_audio"),
        ('{"type": "audio_chunk"}', "bad_audio"),
        ('{"type": "playback_position", "ms": -5}', "bad_message"),
        ('{"type": "start_interview", "candidateContext": "me"}', "invalid_candidate_context"),
    ],
)
def test_bad_browser_messages_get_a_clear_non_fatal_error(raw: str, code: str) -> None:
    h = Harness()
    h.go_live() if "start_interview" not in raw else None
    out = h.s.browser_text(raw, T0)
    [error] = sent_json(out)
    assert error["type"] == "error" and error["code"] == code and error["fatal"] is False
    assert h.s.phase is not Phase.ENDED


def test_oversized_frame_is_refused() -> None:
    h = Harness(limits=Limits(max_frame_bytes=1000))
    h.go_live()
    [error] = sent_json(h.s.browser_audio(bytes(1002), T0))
    assert error["code"] == "audio_frame_too_large"


def test_half_a_sample_is_refused_in_both_encodings() -> None:
    # One odd frame would misalign every later sample upstream.
    h = Harness()
    h.go_live()
    [error] = sent_json(h.s.browser_audio(bytes(481), T0))
    assert (error["code"], error["fatal"]) == ("bad_audio", False)
    odd = base64.b64encode(bytes(3)).decode()
    [error] = sent_json(h.text({"type": "audio_chunk", "audio": odd}))
    assert (error["code"], error["fatal"]) == ("bad_audio", False)
    assert not of(h.s.browser_audio(bytes(481), T0), AppendAudio)
    assert of(h.s.browser_audio(bytes(480), T0), AppendAudio)  # whole samples go through


def test_second_start_is_refused_and_ping_answers() -> None:
    h = Harness()
    h.go_live()
    [error] = sent_json(h.text({"type": "start_interview"}))
    assert error["code"] == "already_started"
    assert sent_json(h.text({"type": "ping"})) == [{"type": "pong"}]


def test_prepare_failure_not_fatal_allows_a_corrected_start() -> None:
    h = Harness()
    h.text({"type": "start_interview", "candidateContext": {}})
    out = h.s.prepare_failed("invalid_candidate_context", "Please check: name.", T0, fatal=False)
    assert sent_json(out)[0]["fatal"] is False
    assert h.s.phase is Phase.IDLE
    out = h.text({"type": "start_interview", "candidateContext": {"name": "Ada"}})
    assert of(out, PrepareInterview)


# ----------------------------------------------------------------------- transcript
def test_turns_follow_conversation_order_not_arrival_order() -> None:
    h = Harness()
    h.go_live()
    out = h.reply("a1", "r1", "Hello Ada, tell me about yourself.", 1000, T0)
    [greeting] = turns(out)
    assert (greeting.sequence, greeting.speaker, greeting.state) == (0, "interviewer", "complete")

    out = h.user_turn("u1", T0 + 5, previous="a1")
    # The reply starts (and even finishes) before the candidate's transcript completes.
    out += h.reply("a2", "r2", "Great, and why Python?", 800, T0 + 7, previous="u1")
    assert turns(out) == []  # held back behind the unfinished candidate item
    out = h.ev("conversation.item.input_audio_transcription.completed", T0 + 8,
               item_id="u1", transcript="I study computer science.")
    released = turns(out)
    assert [(t.sequence, t.speaker, t.text) for t in released] == [
        (1, "candidate", "I study computer science."),
        (2, "interviewer", "Great, and why Python?"),
    ]
    assert sent_json(out)[0] == {"type": "student_transcription", "is_final": True,
                                 "text": "I study computer science.", "item_id": "u1"}
    assert released[0].started_at == T0 + 5 and released[0].ended_at == T0 + 6


def test_idle_nudge_empty_transcript_is_no_turn() -> None:
    h = Harness()
    h.go_live()
    h.reply("a1", "r1", "Hello.", 200, T0)
    h.ev("input_audio_buffer.committed", T0, item_id="u0", previous_item_id="a1")
    out = h.ev("conversation.item.input_audio_transcription.completed", T0,
               item_id="u0", transcript="")
    assert sent_json(out) == [] and turns(out) == []
    out = h.reply("a2", "r2", "Are you still there?", 200, T0, previous="u0")
    assert [t.sequence for t in turns(out)] == [1]


def test_final_transcript_counted_once_and_response_done_copy_only_as_fallback() -> None:
    h = Harness()
    h.go_live()
    out = h.reply("a1", "r1", "Hello there.", 300, T0)
    assert [t.text for t in turns(out)] == ["Hello there."]
    finals = [m for m in sent_json(out) if m["type"] == "ai_transcription" and m["is_final"]]
    assert len(finals) == 1

    # An item with no transcript.done of its own takes the text from response.done.
    out = h.ev("response.output_item.added", T0, response_id="r2",
               item={"id": "a2", "type": "message", "role": "assistant"})
    out += h.ev("response.done", T0, response={"id": "r2", "status": "completed", "output": [
        {"id": "a2", "type": "message", "role": "assistant",
         "content": [{"type": "output_audio", "transcript": "Second line."}]}]})
    assert [t.text for t in turns(out)] == ["Second line."]


def test_items_seen_twice_are_one_turn() -> None:
    h = Harness()
    h.go_live()
    h.user_turn("u1", T0)
    # conversation.item.done and a repeated added (e.g. an echo) name the same id.
    h.ev("conversation.item.added", T0, item={"id": "u1", "type": "message", "role": "user"})
    out = h.ev("conversation.item.input_audio_transcription.completed", T0, item_id="u1",
               transcript="Yes.")
    out += h.ev("conversation.item.input_audio_transcription.completed", T0, item_id="u1",
                transcript="Yes.")
    assert [t.text for t in turns(out)] == ["Yes."]


def test_failed_transcription_keeps_partial_text_or_skips() -> None:
    h = Harness()
    h.go_live()
    h.user_turn("u1", T0)
    h.ev("conversation.item.input_audio_transcription.delta", T0, item_id="u1", delta="I think ")
    out = h.ev("conversation.item.input_audio_transcription.failed", T0, item_id="u1",
               error={"message": "audio unclear"})
    [turn] = turns(out)
    assert (turn.text, turn.state) == ("I think", "partial")
    h.user_turn("u2", T0, previous="u1")
    out = h.ev("conversation.item.input_audio_transcription.failed", T0, item_id="u2")
    assert turns(out) == []


def test_candidate_deltas_are_sent_as_an_extension() -> None:
    h = Harness()
    h.go_live()
    out = h.ev("conversation.item.input_audio_transcription.delta", T0, item_id="u1", delta="Hi")
    assert sent_json(out) == [{"type": "student_transcription_delta", "item_id": "u1",
                               "text": "Hi"}]


# ------------------------------------------------------------------------- barge-in
def truncations(actions: list[Action]) -> list[dict[str, Any]]:
    return [e for e in upstream(actions) if e["type"] == "conversation.item.truncate"]


def test_barge_in_cuts_at_browser_position_and_drops_the_rest() -> None:
    h = Harness()
    h.go_live()
    h.reply("a1", "r1", "one two three four five six seven eight", 2000, T0, done=False)
    h.text({"type": "playback_position", "ms": 500})
    out = h.ev("input_audio_buffer.speech_started", T0 + 0.6, item_id="u1")
    assert of(out, ClearBrowserAudio) == [ClearBrowserAudio()]
    assert [m["type"] for m in sent_json(out)] == ["student_speech_started", "ai_audio_clear"]
    assert truncations(out) == [{"type": "conversation.item.truncate", "item_id": "a1",
                                 "content_index": 0, "audio_end_ms": 500}]
    # Audio and captions still streaming for the cut item are not forwarded.
    assert h.ev("response.output_audio.delta", T0, item_id="a1", delta=b64(100)) == []
    assert h.ev("response.output_audio_transcript.delta", T0, item_id="a1", delta=" nine") == []
    out = h.finish_reply("a1", "r1", "one two three four five six seven eight nine", T0 + 1,
                         status="cancelled")
    [turn] = turns(out)
    assert turn.state == "interrupted" and turn.audio_ms == 500
    # 500 of 2100 ms heard: about the first quarter of the words.
    assert turn.text == "one two three"
    # The whole question is kept beside what was heard (the results show it).
    assert turn.full_text == "one two three four five six seven eight nine"


def test_barge_in_never_cuts_past_the_audio_sent() -> None:
    h = Harness()
    h.go_live()
    h.reply("a1", "r1", "short", 300, T0, done=False)
    h.text({"type": "playback_position", "ms": 99_999})  # a confused client
    out = h.ev("input_audio_buffer.speech_started", T0 + 10, item_id="u1")
    assert truncations(out)[0]["audio_end_ms"] == 300


def test_barge_in_excludes_audio_still_queued_for_the_browser() -> None:
    h = Harness(backlog=700 * BYTES_PER_MS)
    h.go_live()
    h.reply("a1", "r1", "a b c d", 1000, T0, done=False)
    # Wall-clock estimate says 5 s could have played; only 300 ms ever left the server.
    out = h.ev("input_audio_buffer.speech_started", T0 + 5, item_id="u1")
    assert truncations(out)[0]["audio_end_ms"] == 300


def test_barge_in_without_browser_position_uses_real_time_estimate() -> None:
    h = Harness()
    h.go_live()
    h.reply("a1", "r1", "a b c d", 3000, T0, done=False)
    out = h.ev("input_audio_buffer.speech_started", T0 + 0.25, item_id="u1")
    assert truncations(out)[0]["audio_end_ms"] == 250


def test_second_item_offset_is_respected() -> None:
    h = Harness()
    h.go_live()
    h.reply("a1", "r1", "first", 1000, T0)
    h.user_turn("u1", T0 + 1, previous="a1")
    h.ev("conversation.item.input_audio_transcription.completed", T0 + 2, item_id="u1",
         transcript="ok")
    h.reply("a2", "r2", "second reply here", 2000, T0 + 3, done=False, previous="u1")
    # The browser's position counts the whole stream: 1000 ms of a1, then 400 of a2.
    h.text({"type": "playback_position", "ms": 1400})
    out = h.ev("input_audio_buffer.speech_started", T0 + 3.5, item_id="u2")
    assert truncations(out) == [{"type": "conversation.item.truncate", "item_id": "a2",
                                 "content_index": 0, "audio_end_ms": 400}]


def test_speech_after_reply_fully_heard_does_not_truncate() -> None:
    h = Harness()
    h.go_live()
    h.reply("a1", "r1", "done talking", 500, T0)
    h.text({"type": "playback_position", "ms": 500})
    out = h.ev("input_audio_buffer.speech_started", T0 + 3, item_id="u1")
    assert truncations(out) == []
    assert [m["type"] for m in sent_json(out)] == ["student_speech_started", "ai_audio_clear"]


def test_barge_in_after_response_done_amends_the_stored_turn() -> None:
    h = Harness()
    h.go_live()
    out = h.reply("a1", "r1", "alpha beta gamma delta", 4000, T0)
    [stored] = turns(out)
    assert stored.state == "complete"
    h.text({"type": "playback_position", "ms": 2000})
    out = h.ev("input_audio_buffer.speech_started", T0 + 2, item_id="u1")
    [amended] = turns(out)
    assert (amended.sequence, amended.item_id, amended.state, amended.audio_ms) == (
        0, "a1", "interrupted", 2000)
    assert amended.text == "alpha beta"
    assert amended.full_text == "alpha beta gamma delta"
    assert stored.full_text is None  # a turn heard in full has no second text


def test_spoken_part_is_bounded() -> None:
    assert spoken_part("a b c", 0, 100) == ""
    assert spoken_part("a b c", 100, 100) == "a b c"
    assert spoken_part("a b c", 50, 0) == "a b c"
    assert spoken_part("hello world", 10, 100) == "hello"


# ---------------------------------------------------------------------------- usage
def test_usage_from_response_done_with_cost_and_no_double_counting() -> None:
    h = Harness()
    h.go_live()
    usage = {
        "total_tokens": 1000, "input_tokens": 600, "output_tokens": 400,
        "input_token_details": {"text_tokens": 200, "audio_tokens": 400, "cached_tokens": 100,
                                "cached_tokens_details": {"text_tokens": 100,
                                                          "audio_tokens": 0}},
        "output_token_details": {"text_tokens": 100, "audio_tokens": 300,
                                 "reasoning_tokens": 0},
    }
    h.reply("a1", "r1", "Hi", 100, T0, done=False)
    out = h.finish_reply("a1", "r1", "Hi", T0, usage=usage)
    # Stored with the reply's turn, in its write (not as a write of its own).
    assert of(out, AddUsage) == []
    [persist] = of(out, PersistTurn)
    add = persist.usage
    assert add is not None and persist.turn.item_id == "a1"
    u = add.usage
    assert (u.input_text, u.input_audio, u.input_cached, u.output_text, u.output_audio) == (
        200, 400, 100, 100, 300)
    # gpt-realtime: text in 4, cached 0.40, audio in 32, text out 16, audio out 64 per 1M.
    expected = (100 * 4 + 100 * 0.4 + 400 * 32 + 100 * 16 + 300 * 64) / 1e6
    assert add.cost_usd == pytest.approx(expected)
    [message] = [m for m in sent_json(out) if m["type"] == "usage"]
    assert message["total_tokens"] == 1000 and message["cost_usd"] == pytest.approx(expected)


def test_usage_of_a_response_without_a_turn_is_stored_on_its_own() -> None:
    # A response that releases no turn (cancelled before any output) still has its usage
    # stored at once: nothing is held back for a later write that might never come.
    h = Harness()
    h.go_live()
    out = h.ev("response.created", T0, response={"id": "r0"})
    out = h.ev("response.done", T0, response={
        "id": "r0", "status": "cancelled", "output": [],
        "usage": {"input_token_details": {"text_tokens": 30, "audio_tokens": 0},
                  "output_token_details": {"text_tokens": 0, "audio_tokens": 0}}})
    assert of(out, PersistTurn) == []
    [add] = of(out, AddUsage)
    assert add.usage.input_text == 30
    # Later turns carry only their own response's usage.
    h.reply("a1", "r1", "Hi", 100, T0, done=False)
    out = h.finish_reply("a1", "r1", "Hi", T0, usage={
        "input_token_details": {"text_tokens": 5}, "output_token_details": {"audio_tokens": 7}})
    [persist] = of(out, PersistTurn)
    assert persist.usage is not None
    assert (persist.usage.usage.input_text, persist.usage.usage.output_audio) == (5, 7)
    assert h.s.spend.usage.input_text == 35


# --------------------------------------------------------------------------- errors
def ended(actions: list[Action]) -> EndInterview:
    [end] = of(actions, EndInterview)
    return end


@pytest.mark.parametrize(
    ("error", "code", "cause"),
    [
        ({"type": "invalid_request_error", "code": "invalid_api_key",
          "message": "Incorrect API key provided: sk-test-****abcd."}, "invalid_api_key",
         "key_invalid"),
        ({"type": "insufficient_quota", "code": "insufficient_quota",
          "message": "You exceeded your current quota"}, "insufficient_quota", "quota_exhausted"),
        ({"type": "invalid_request_error", "code": "account_deactivated",
          "message": "This key is associated with a deactivated account."},
         "account_deactivated", "account_deactivated"),
    ],
)
def test_fatal_error_event_ends_cleanly(error: dict[str, Any], code: str, cause: str) -> None:
    h = Harness()
    h.go_live()
    out = h.ev("error", T0, event_id="evt_1", error=error)
    browser_error = sent_json(out)[0]
    assert browser_error["type"] == "error" and browser_error["fatal"] is True
    assert browser_error["code"] == code and browser_error["details"] == {"cause": cause}
    # The operator's hint is logged, never sent to the candidate.
    assert "hint" not in browser_error
    assert any(log.fields.get("hint") for log in of(out, Log))
    assert "sk-test" not in browser_error["message"]
    end = ended(out)
    assert (end.status, end.reason, end.error_code) == ("failed", cause, code)
    assert sent_json(out)[-1]["type"] == "interview_ended"
    assert of(out, CloseUpstream) and of(out, CloseBrowser)
    # The close 3000 that follows changes nothing.
    assert ignored(h.s.upstream_closed(3000, f"invalid_request_error.{code}", T0),
                   "upstream_closed")


def test_recoverable_error_keeps_the_interview_going() -> None:
    h = Harness()
    h.go_live()
    out = h.ev("error", T0, error={"type": "tokens", "code": "rate_limit_exceeded",
                                   "message": "Rate limit reached for gpt-realtime"})
    [browser_error] = sent_json(out)
    assert browser_error["fatal"] is False and browser_error["code"] == "rate_limit_exceeded"
    assert not of(out, EndInterview) and h.s.phase is Phase.LIVE


def test_unknown_error_about_our_event_is_recoverable() -> None:
    h = Harness()
    h.go_live()
    out = h.ev("error", T0, error={"type": "invalid_request_error", "code": "invalid_value",
                                   "message": "audio_end_ms is too large", "event_id": "x"})
    assert sent_json(out)[0]["fatal"] is False and h.s.phase is Phase.LIVE


def test_rejected_session_update_is_fatal() -> None:
    h = Harness()
    h.text({"type": "start_interview"})
    h.s.prepared("iv", UPDATE, T0)
    h.s.upstream_opened(T0)
    out = h.ev("error", T0, error={"type": "invalid_request_error", "code": "invalid_value",
                                   "message": "Invalid voice", "event_id":
                                   SESSION_UPDATE_EVENT_ID})
    assert sent_json(out)[0]["fatal"] is True and ended(out).status == "failed"


def test_forbidden_upgrade_is_no_realtime_access() -> None:
    h = Harness()
    h.text({"type": "start_interview"})
    h.s.prepared("iv", UPDATE, T0)
    out = h.s.upstream_connect_failed(UpstreamProblem(phase="connect", status=403), T0)
    assert sent_json(out)[0]["details"] == {"cause": "no_realtime_access"}
    assert ended(out).reason == "no_realtime_access"


def test_close_3000_in_configuring_is_classified_from_its_reason() -> None:
    h = Harness()
    h.text({"type": "start_interview"})
    h.s.prepared("iv", UPDATE, T0)
    h.s.upstream_opened(T0)
    out = h.s.upstream_closed(3000, "invalid_request_error.invalid_api_key", T0)
    assert sent_json(out)[0]["code"] == "invalid_api_key"
    assert ended(out).reason == "key_invalid"


def test_upstream_closes() -> None:
    h = Harness()
    h.go_live()
    # OpenAI's 60-minute limit is recovered from (a new session takes over)…
    out = h.s.upstream_closed(1001, "Your session hit the maximum duration of 60 minutes.", T0)
    assert of(out, ReconnectUpstream) and h.s.phase is Phase.RECOVERING
    # … while configuring, it ends the attempt as before.
    h = Harness()
    h.text({"type": "start_interview"})
    h.s.prepared("iv", UPDATE, T0)
    h.s.upstream_opened(T0)
    out = h.s.upstream_closed(1001, "Your session hit the maximum duration of 60 minutes.", T0)
    assert (ended(out).status, ended(out).reason) == ("ended", "upstream_session_limit")
    # Once recovery is spent, OpenAI's trouble ends the interview.
    h = Harness(limits=Limits(max_duration_s=600, idle_timeout_s=60, recovery_attempts=0))
    h.go_live()
    out = h.s.upstream_closed(1011, "Internal server error", T0)
    assert sent_json(out)[0]["fatal"] is True
    assert (ended(out).status, ended(out).reason) == ("failed", "openai_unavailable")
    assert sent_json(out)[-1] == {"type": "interview_ended", "reason": "openai_unavailable",
                                  "message": sent_json(out)[-1]["message"],
                                  "interview_id": "iv-1"}


def test_failed_response_with_quota_error_is_fatal() -> None:
    h = Harness()
    h.go_live()
    out = h.ev("response.done", T0, response={
        "id": "r1", "status": "failed", "output": [],
        "status_details": {"type": "failed", "error": {"type": "insufficient_quota",
                                                       "code": "insufficient_quota"}}})
    assert ended(out).reason == "quota_exhausted"


# --------------------------------------------------------------------------- limits
def test_time_limit_asks_for_a_spoken_wrap_up_then_ends() -> None:
    h = Harness(limits=Limits(max_duration_s=100, idle_timeout_s=1000, wrap_up_grace_s=30))
    h.go_live(T0)
    assert h.s.tick(T0 + 50) == []
    h.ev("response.created", T0 + 99, response={"id": "r-busy"})
    out = h.s.tick(T0 + 100)
    events = upstream(out)
    assert [e["type"] for e in events] == ["response.cancel", "input_audio_buffer.clear",
                                           "response.create"]
    assert "time for this interview is up" in events[-1]["response"]["instructions"]
    assert h.s.phase is Phase.ENDING
    # The candidate cannot interrupt the goodbye.
    assert ignored(h.s.browser_audio(pcm(100), T0 + 100), "browser_audio")
    h.ev("response.done", T0 + 100, response={"id": "r-busy", "status": "cancelled"})
    h.ev("response.created", T0 + 100, response={"id": "r-wrap"})
    h.reply("a9", "r-wrap", "Thank you, goodbye.", 2000, T0 + 101, done=False)
    h.finish_reply("a9", "r-wrap", "Thank you, goodbye.", T0 + 101)
    assert h.s.tick(T0 + 102) == []  # still playing the goodbye
    out = h.s.tick(T0 + 104)
    assert (ended(out).status, ended(out).reason) == ("ended", "time_limit")


def test_wrap_up_has_a_hard_deadline() -> None:
    h = Harness(limits=Limits(max_duration_s=100, idle_timeout_s=1000, wrap_up_grace_s=30))
    h.go_live(T0)
    h.s.tick(T0 + 100)
    assert h.s.tick(T0 + 129) == []
    assert ended(h.s.tick(T0 + 130)).reason == "time_limit"


def test_idle_limit_while_nobody_speaks() -> None:
    h = Harness(limits=Limits(max_duration_s=1000, idle_timeout_s=60))
    h.go_live(T0)
    h.reply("a1", "r1", "Hello?", 1000, T0)
    assert h.s.tick(T0 + 30) == []
    h.ev("input_audio_buffer.speech_started", T0 + 40, item_id="u1")
    assert h.s.tick(T0 + 99) == []
    assert ended(h.s.tick(T0 + 100)).reason == "idle_timeout"


def test_start_timeout() -> None:
    h = Harness(limits=Limits(start_timeout_s=20))
    h.text({"type": "start_interview"}, T0)
    h.s.prepared("iv", UPDATE, T0)
    assert h.s.tick(T0 + 19) == []
    out = h.s.tick(T0 + 20)
    assert sent_json(out)[0]["code"] == "upstream_timeout"
    assert ended(out).status == "failed"


# ------------------------------------------------------------------------ lifecycle
def test_end_interview_from_browser() -> None:
    h = Harness()
    h.go_live()
    out = h.text({"type": "end_interview"})
    assert (ended(out).status, ended(out).reason) == ("ended", "candidate_ended")
    assert sent_json(out)[-1]["type"] == "interview_ended"
    assert ignored(h.text({"type": "ping"}), "browser_text")
    assert ignored(h.s.browser_closed(T0), "browser_closed")


def test_browser_gone_keeps_partial_reply_and_closes_upstream() -> None:
    h = Harness()
    h.go_live()
    h.reply("a1", "r1", "I was saying", 1000, T0, done=False)
    out = h.s.browser_closed(T0 + 1)
    [turn] = turns(out)
    assert (turn.state, turn.text) == ("partial", "I was saying")
    assert (ended(out).status, ended(out).reason) == ("ended", "browser_disconnected")
    assert sent_json(out) == []  # nobody to tell
    assert of(out, CloseUpstream)


def test_browser_gone_before_start_has_nothing_to_end() -> None:
    h = Harness()
    h.text({"type": "start_interview"})
    out = h.s.browser_closed(T0)
    assert of(out, EndInterview) == [] and of(out, CloseUpstream)
    assert ignored(h.s.prepared("iv", UPDATE, T0), "prepared")


def test_events_after_the_end_are_ignored() -> None:
    h = Harness()
    h.go_live()
    h.text({"type": "end_interview"})
    assert ignored(h.ev("response.output_audio.delta", T0, item_id="a", delta=b64(10)),
                   "upstream_event")
    assert h.s.tick(T0 + 10_000) == []  # nothing is due after the end


def test_audio_delta_is_forwarded_as_pcm() -> None:
    h = Harness()
    h.go_live()
    audio = bytes(range(200)) * 3
    out = h.ev("response.output_audio.delta", T0, item_id="a1",
               delta=base64.b64encode(audio).decode())
    assert out == [SendAudio(audio)]


def test_upstream_errors_are_reported_for_metrics_and_normal_ends_are_not() -> None:
    h = Harness()
    h.go_live()
    out = h.ev("error", T0, error={"type": "tokens", "code": "rate_limit_exceeded",
                                   "message": "Rate limit reached"})
    assert of(out, UpstreamError) == [UpstreamError("rate_limit_exceeded", "rate_limited",
                                                    False)]
    out = h.s.upstream_closed(1000, "", T0)
    assert of(out, UpstreamError) == []
    h = Harness()
    h.text({"type": "start_interview"})
    h.s.prepared("iv", UPDATE, T0)
    out = h.s.upstream_connect_failed(UpstreamProblem(phase="connect", status=403), T0)
    assert of(out, UpstreamError) == [UpstreamError("no_realtime_access", "no_realtime_access",
                                                    True)]


# --------------------------------------------------------------------------- resume
def history() -> list[TurnRecord]:
    return [
        TurnRecord(1, "candidate", "I study finance.", None, None, 900, "u1", "complete"),
        TurnRecord(0, "interviewer", "Hello, what do you study?", None, None, 1500, "a1",
                   "complete"),
    ]


def test_resume_seeds_history_ignores_its_echoes_and_continues_numbering() -> None:
    h = Harness(resumable=True)
    h.s.connected(T0)
    h.text({"type": "start_interview"})
    h.s.prepared("iv-1", UPDATE, T0, history=history())
    h.s.upstream_opened(T0)
    out = h.ev("session.updated", T0)
    creates = [e for e in upstream(out) if e["type"] == "conversation.item.create"]
    assert [(e["previous_item_id"], e["item"]["role"], e["item"]["content"]) for e in creates] == [
        ("root", "assistant", [{"type": "output_text", "text": "Hello, what do you study?"}]),
        ("vvhist_0", "user", [{"type": "input_text", "text": "I study finance."}]),
    ]
    response = upstream(out)[-1]
    assert response["type"] == "response.create"
    assert "reconnected" in response["response"]["instructions"]
    assert sent_json(out)[-1]["resumed"] is True
    # The server echoes the seeded items: they are not new turns.
    for e in creates:
        h.ev("conversation.item.added", T0, item=e["item"])
    out = h.reply("a2", "r2", "Welcome back! Why finance?", 500, T0, previous="vvhist_1")
    assert [(t.sequence, t.text) for t in turns(out)] == [(2, "Welcome back! Why finance?")]


def test_resumable_drop_keeps_the_interview_live_in_the_store() -> None:
    h = Harness(resumable=True)
    h.go_live()
    out = h.s.browser_closed(T0)
    assert of(out, EndInterview) == [] and of(out, CloseUpstream)
    # Nor does a drop before it went live (the link must still work).
    h = Harness(resumable=True)
    h.text({"type": "start_interview"})
    h.s.prepared("iv", UPDATE, T0)
    assert of(h.s.browser_closed(T0), EndInterview) == []
    # Ending it on purpose still ends it.
    h = Harness(resumable=True)
    h.go_live()
    assert ended(h.text({"type": "end_interview"})).reason == "candidate_ended"
