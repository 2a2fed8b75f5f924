"""The fake's conversation logic, event by event, with no sockets."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from vivavoce.testing.fake_audio import BYTES_PER_MS, tone
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.realtime_conversation import Conversation
from vivavoce.testing.realtime_items import ConversationView

Events = list[dict[str, Any]]


def send(conv: Conversation, **event: Any) -> Events:
    return conv.receive(json.dumps(event))


def append(conv: Conversation, pcm: bytes, chunk_ms: int = 100) -> Events:
    out: Events = []
    step = chunk_ms * BYTES_PER_MS
    for i in range(0, len(pcm), step):
        out += send(conv, type="input_audio_buffer.append", audio=base64.b64encode(pcm[i : i + step]).decode())
    return out


def silence(ms: int) -> bytes:
    return b"\x00" * (ms * BYTES_PER_MS)


def drain(conv: Conversation, *, stop_after_audio: int | None = None) -> Events:
    """Step the active response to its end (or until N audio deltas)."""
    out: Events = []
    audio = 0
    while (step := conv.step_response()) is not None:
        out += step[0]
        audio += sum(e["type"] == "response.output_audio.delta" for e in step[0])
        if stop_after_audio is not None and audio >= stop_after_audio:
            break
    return out


def types(events: Events) -> list[str]:
    return [e["type"] for e in events]


def of(events: Events, kind: str) -> Events:
    return [e for e in events if e["type"] == kind]


def configured(config: FakeConfig | None = None, model: str = "gpt-realtime", **session: Any) -> Conversation:
    conv = Conversation(model, config or FakeConfig(audio_pace=0))
    update: dict[str, Any] = {"type": "realtime", **session}
    audio = update.setdefault("audio", {})
    audio.setdefault("input", {}).setdefault("transcription", {"model": "gpt-4o-mini-transcribe"})
    assert types(send(conv, type="session.update", session=update)) == ["session.updated"]
    return conv


def test_session_created_carries_model_defaults() -> None:
    assert Conversation("gpt-realtime", FakeConfig()).session_created()["session"]["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 200
    mini = Conversation("gpt-realtime-2.1-mini", FakeConfig()).session_created()["session"]
    assert mini["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 500
    assert mini["model"] == "gpt-realtime-2.1-mini"


def test_a_spoken_turn_is_detected_committed_transcribed_and_answered() -> None:
    conv = configured(FakeConfig(audio_pace=0, transcripts=["I love distributed systems."]))
    events = append(conv, silence(500) + tone(800) + silence(300))
    assert types(events)[:5] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    started, stopped, committed = events[0], events[1], events[2]
    assert started["audio_start_ms"] == 500 - 300  # prefix padding
    assert stopped["audio_end_ms"] == 500 + 800 + 200  # includes the silence duration
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]
    assert committed["previous_item_id"] is None
    completed = of(events, "conversation.item.input_audio_transcription.completed")[0]
    assert completed["transcript"] == "I love distributed systems."
    deltas = of(events, "conversation.item.input_audio_transcription.delta")
    assert "".join(d["delta"] for d in deltas) == "I love distributed systems."
    # The turn's audio: prefix padding, the speech, and the silence that ended it.
    assert completed["usage"]["input_tokens"] == (300 + 800 + 200) // 100
    # create_response defaults to true: the reply starts right after the transcript.
    assert types(events)[-4:] == [
        "response.created", "response.output_item.added", "conversation.item.added", "response.content_part.added",
    ]
    assistant_added = of(events, "conversation.item.added")[-1]
    assert assistant_added["previous_item_id"] == committed["item_id"]
    assert conv.user_transcripts == ["I love distributed systems."]


def test_response_streams_interleaved_audio_and_transcript_then_done_with_usage() -> None:
    said = "Tell me about your last project."
    conv = configured(FakeConfig(audio_pace=0, responder=lambda view: said, speech_ms_per_char=50))
    append(conv, tone(600) + silence(300))
    events = drain(conv)
    kinds = types(events)
    assert kinds[0] == "output_audio_buffer.started"
    first_audio = kinds.index("response.output_audio.delta")
    assert kinds[first_audio - 1] == "response.output_audio_transcript.delta"
    assert kinds[-8:] == [
        "response.output_audio.done", "response.output_audio_transcript.done", "response.content_part.done",
        "response.output_item.done", "conversation.item.done", "response.done",
        "output_audio_buffer.stopped", "rate_limits.updated",
    ]
    transcript = "".join(e["delta"] for e in of(events, "response.output_audio_transcript.delta"))
    assert transcript == said == of(events, "response.output_audio_transcript.done")[0]["transcript"]
    pcm = b"".join(base64.b64decode(e["delta"]) for e in of(events, "response.output_audio.delta"))
    audio_ms = len(pcm) // BYTES_PER_MS
    assert audio_ms == len(said) * 50  # duration proportional to the text
    done = of(events, "response.done")[0]["response"]
    assert done["status"] == "completed"
    usage = done["usage"]
    assert usage["output_token_details"] == {"text_tokens": -(-len(said) // 4), "audio_tokens": audio_ms // 50}
    # The committed turn is the speech plus the 200 ms of silence that ended it.
    assert usage["input_token_details"]["audio_tokens"] == (600 + 200) // 100
    assert usage["input_tokens"] == usage["input_token_details"]["text_tokens"] + usage["input_token_details"]["audio_tokens"]
    assert usage["output_tokens"] == sum(usage["output_token_details"].values())
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": said}]
    assert conv.responses[0].status == "completed" and conv.responses[0].audio_ms == audio_ms
    assert not conv.active_response and conv.step_response() is None


def test_second_response_reports_cached_input() -> None:
    conv = configured()
    send(conv, type="response.create")
    first = of(drain(conv), "response.done")[0]["response"]["usage"]
    send(conv, type="response.create")
    second = of(drain(conv), "response.done")[0]["response"]["usage"]
    assert first["input_token_details"]["cached_tokens"] == 0
    assert 0 < second["input_token_details"]["cached_tokens"] <= second["input_tokens"]


def test_cancel_mid_response_and_truncate_bounds() -> None:
    conv = configured()
    send(conv, type="response.create")
    streamed = drain(conv, stop_after_audio=2)
    item_id = of(streamed, "response.output_audio.delta")[0]["item_id"]
    sent_ms = sum(len(base64.b64decode(e["delta"])) for e in of(streamed, "response.output_audio.delta")) // BYTES_PER_MS
    cancelled = send(conv, type="response.cancel")
    done = of(cancelled, "response.done")[0]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert conv.step_response() is None
    # Truncating past the audio actually produced is the classic relay bug: rejected.
    too_far = send(conv, type="conversation.item.truncate", event_id="c1", item_id=item_id, content_index=0, audio_end_ms=sent_ms + 1)
    assert types(too_far) == ["error"]
    assert too_far[0]["error"]["message"] == f"Audio content of {sent_ms}ms is already shorter than {sent_ms + 1}ms"
    assert too_far[0]["error"]["event_id"] == "c1"
    ok = send(conv, type="conversation.item.truncate", item_id=item_id, content_index=0, audio_end_ms=sent_ms - 10)
    assert ok[0]["type"] == "conversation.item.truncated" and ok[0]["audio_end_ms"] == sent_ms - 10
    assert types(send(conv, type="response.cancel"))[0] == "error"


def test_barge_in_cancels_the_reply() -> None:
    conv = configured()
    send(conv, type="response.create")
    drain(conv, stop_after_audio=1)
    events = append(conv, tone(300))
    assert types(events)[0] == "input_audio_buffer.speech_started"
    done = of(events, "response.done")[0]["response"]
    assert (done["status"], done["status_details"]["reason"]) == ("cancelled", "turn_detected")


def test_interrupt_response_false_lets_the_reply_finish() -> None:
    conv = configured(audio={"input": {"turn_detection": {"type": "server_vad", "interrupt_response": False}}})
    send(conv, type="response.create")
    drain(conv, stop_after_audio=1)
    assert not of(append(conv, tone(300)), "response.done")
    assert conv.active_response


def test_manual_turns_without_turn_detection() -> None:
    conv = configured(audio={"input": {"turn_detection": None}})
    assert append(conv, silence(100) + tone(500)) == []
    committed = send(conv, type="input_audio_buffer.commit")
    assert types(committed)[:3] == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    assert not conv.active_response  # no automatic reply without turn detection
    assert of(committed, "conversation.item.input_audio_transcription.completed")[0]["transcript"]


def test_empty_or_silent_buffer_never_yields_a_user_turn() -> None:
    conv = configured(audio={"input": {"turn_detection": None}})
    error = send(conv, type="input_audio_buffer.commit")[0]["error"]
    assert error["code"] == "input_audio_buffer_commit_empty"
    append(conv, silence(400))
    events = send(conv, type="input_audio_buffer.commit")
    assert of(events, "conversation.item.input_audio_transcription.completed")[0]["transcript"] == ""
    assert conv.user_transcripts == []


def test_clear_drops_buffered_audio() -> None:
    conv = configured(audio={"input": {"turn_detection": None}})
    append(conv, tone(500))
    assert types(send(conv, type="input_audio_buffer.clear")) == ["input_audio_buffer.cleared"]
    assert send(conv, type="input_audio_buffer.commit")[0]["error"]["code"] == "input_audio_buffer_commit_empty"


def test_no_transcription_unless_enabled_and_no_reply_unless_create_response() -> None:
    conv = Conversation("gpt-realtime", FakeConfig())
    send(conv, type="session.update", session={"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "create_response": False}}}})
    events = append(conv, tone(500) + silence(300))
    assert "input_audio_buffer.committed" in types(events)
    assert not [t for t in types(events) if "transcription" in t]
    assert not conv.active_response


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", "invalid_json"),
        (b"\x00\x01", "invalid_type"),
        ('["a"]', "invalid_type"),
        ('{"type": "session.teleport"}', "invalid_value"),
        ('{"type": "input_audio_buffer.append", "audio": "%%%"}', "invalid_value"),
        ('{"type": "input_audio_buffer.append"}', "invalid_value"),
        ('{"type": "conversation.item.create", "item": {"type": "message", "role": "robot"}}', "invalid_value"),
        ('{"type": "conversation.item.truncate", "item_id": "nope", "audio_end_ms": 1}', "item_not_found"),
        ('{"type": "response.create", "response": 3}', "invalid_type"),
    ],
)
def test_bad_client_input_is_an_error_event_and_the_session_goes_on(message: str | bytes, code: str) -> None:
    conv = configured()
    events = conv.receive(message)
    assert types(events) == ["error"]
    assert (events[0]["error"]["type"], events[0]["error"]["code"]) == ("invalid_request_error", code)
    assert types(send(conv, type="response.create"))[0] == "response.created"


def test_second_response_create_while_active_is_refused() -> None:
    conv = configured()
    send(conv, type="response.create")
    assert send(conv, type="response.create")[0]["error"]["code"] == "conversation_already_has_active_response"


def test_client_items_are_echoed_and_reach_the_responder() -> None:
    seen: list[ConversationView] = []

    def responder(view: ConversationView) -> str:
        seen.append(view)
        return "Noted."

    conv = configured(FakeConfig(audio_pace=0, responder=responder))
    first = send(conv, type="conversation.item.create", item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi there"}]})
    assert types(first) == ["conversation.item.added", "conversation.item.done"]
    item_id = first[0]["item"]["id"]
    second = send(conv, type="conversation.item.create", item={"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Welcome"}]})
    assert second[0]["previous_item_id"] == item_id
    send(conv, type="response.create", response={"instructions": "Be short."})
    assert seen[0].history == (("user", "Hi there"), ("assistant", "Welcome"))
    assert seen[0].assistant_turns == 0 and seen[0].response_instructions == "Be short."
    assert seen[0].last_user_transcript == "Hi there"
    assert of(drain(conv), "response.output_audio_transcript.done")[0]["transcript"] == "Noted."


def test_default_responder_is_deterministic_and_uses_the_answer() -> None:
    def run() -> list[str]:
        conv = configured(FakeConfig(audio_pace=0, transcripts=["I built a compiler in Rust."]))
        send(conv, type="response.create")
        drain(conv)
        append(conv, tone(500) + silence(300))
        drain(conv)
        return [r.text for r in conv.responses]

    first, again = run(), run()
    assert first == again and len(first) == 2
    assert "I built a compiler in Rust" in first[1]


def test_late_transcription_quirk_lands_after_first_reply_audio() -> None:
    conv = configured(FakeConfig(audio_pace=0, late_transcription=True))
    events = append(conv, tone(500) + silence(300))
    assert not of(events, "conversation.item.input_audio_transcription.completed")
    streamed = types(drain(conv))
    assert streamed.index("conversation.item.input_audio_transcription.completed") > streamed.index("response.output_audio.delta")


def test_idle_nudge_commits_an_empty_user_item_and_replies() -> None:
    conv = configured(audio={"input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 5000}}})
    send(conv, type="response.create")  # the interviewer's greeting, then silence
    assert conv.tick(99.0) == []  # no nudge while the reply is still being generated
    drain(conv)
    assert conv.tick(100.0) == []
    assert conv.tick(104.0) == []
    events = conv.tick(105.1)
    assert types(events)[:2] == ["input_audio_buffer.timeout_triggered", "input_audio_buffer.committed"]
    assert of(events, "conversation.item.input_audio_transcription.completed")[0]["transcript"] == ""
    assert conv.active_response and conv.user_transcripts == []
    nudged = drain(conv)
    assert "Take your time." in of(nudged, "response.output_audio_transcript.done")[0]["transcript"]


def test_text_only_responses() -> None:
    conv = configured(output_modalities=["text"])
    send(conv, type="response.create")
    events = drain(conv)
    assert not of(events, "response.output_audio.delta")
    text = "".join(e["delta"] for e in of(events, "response.output_text.delta"))
    assert text == of(events, "response.output_text.done")[0]["text"] and text


def test_empty_previous_item_id_on_done_quirk() -> None:
    conv = configured(FakeConfig(audio_pace=0, empty_previous_item_id_on_done=True))
    send(conv, type="conversation.item.create", item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]})
    added = of(send(conv, type="response.create"), "conversation.item.added")[0]
    done = [e for e in drain(conv) if e["type"] == "conversation.item.done"][0]
    assert added["previous_item_id"] and done["previous_item_id"] == ""


def test_echo_mode_returns_every_chunk() -> None:
    conv = Conversation("gpt-realtime", FakeConfig(echo=True))
    chunk = base64.b64encode(tone(20)).decode()
    events = send(conv, type="input_audio_buffer.append", audio=chunk)
    assert types(events) == ["response.output_audio.delta"] and events[0]["delta"] == chunk
    assert conv.audio_bytes_received == 20 * BYTES_PER_MS


def test_deeply_nested_json_is_an_error_not_a_crash() -> None:
    conv = configured()
    events = conv.receive("[" * 100_000 + "]" * 100_000)
    assert types(events) == ["error"]


def test_item_create_honours_previous_item_id() -> None:
    conv = configured()
    first = send(conv, type="conversation.item.create", item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}]})
    send(conv, type="conversation.item.create", item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "b"}]})
    placed = send(conv, type="conversation.item.create", previous_item_id="root", item={"type": "message", "role": "system", "content": [{"type": "input_text", "text": "c"}]})
    assert placed[0]["previous_item_id"] is None
    after_first = send(conv, type="conversation.item.create", previous_item_id=first[0]["item"]["id"], item={"type": "message", "role": "user", "content": []})
    assert after_first[0]["previous_item_id"] == first[0]["item"]["id"]


def test_config_refuses_unknown_scenarios_and_negative_pace() -> None:
    config = FakeConfig()
    with pytest.raises(ValueError, match="unknown fake OpenAI scenario 'nope'"):
        config.force_scenario = "nope"
    with pytest.raises(ValueError, match="audio_pace"):
        config.audio_pace = -1
    config.force_scenario = "outage"
    assert config.force_scenario == "outage"


def test_silence_before_speech_is_not_kept_beyond_the_prefix_padding() -> None:
    conv = configured()
    append(conv, silence(60_000))  # a silent minute
    events = append(conv, tone(500) + silence(300))
    user_item = of(events, "conversation.item.done")[0]["item"]
    assert user_item["role"] == "user"
    assert conv.items[0].audio_ms == 300 + 500 + 200


def test_a_failing_responder_is_an_error_event_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    def broken(view: ConversationView) -> str:
        raise KeyError("oops")

    conv = configured(FakeConfig(audio_pace=0, responder=broken))
    events = send(conv, type="response.create")
    assert types(events) == ["error"] and events[0]["error"]["code"] == "responder_failed"
    assert not conv.active_response
    assert "responder failed" in caplog.text


def test_an_empty_reply_finishes_at_once() -> None:
    conv = configured(FakeConfig(audio_pace=0, responder=lambda view: ""))
    send(conv, type="response.create")
    events = drain(conv)
    assert not of(events, "response.output_audio.delta")
    assert of(events, "response.done")[0]["response"]["status"] == "completed"


def test_late_transcription_is_not_lost_when_the_reply_is_refused() -> None:
    conv = configured(FakeConfig(audio_pace=0, late_transcription=True))
    conv.rate_limited = True
    events = append(conv, tone(500) + silence(300))
    assert of(events, "conversation.item.input_audio_transcription.completed")
    assert of(events, "error")[0]["error"]["code"] == "rate_limit_exceeded"


# --- a session that continues an earlier conversation (a resumed interview) ---------------

ANSWERS = ["I study physics.", "I built a telescope mount.", "The gears slipped.", "I asked a mentor."]


def fresh_lines(turns: int) -> list[str]:
    """The default interviewer's lines of an uninterrupted session: the opening line and
    the replies to ``turns`` spoken answers (ANSWERS, in order)."""
    conv = configured(FakeConfig(audio_pace=0, transcripts=list(ANSWERS)))
    send(conv, type="response.create")
    drain(conv)
    for _ in range(turns):
        append(conv, tone(500) + silence(300))
        drain(conv)
    return [r.text for r in conv.responses]


def seeded(earlier: list[tuple[str, str]], transcripts: list[str]) -> Conversation:
    """A new session given ``earlier`` (role, text) as items first, as the relay does."""
    conv = configured(FakeConfig(audio_pace=0, transcripts=transcripts))
    previous = "root"
    for n, (role, text) in enumerate(earlier):
        kind = "input_text" if role == "user" else "output_text"
        send(conv, type="conversation.item.create", previous_item_id=previous,
             item={"id": f"hist_{n}", "type": "message", "role": role,
                   "content": [{"type": kind, "text": text}]})
        previous = f"hist_{n}"
    return conv


def test_a_session_seeded_with_answered_turns_welcomes_back_and_asks_the_next_question() -> None:
    fresh = fresh_lines(3)
    conv = seeded([("assistant", fresh[0]), ("user", ANSWERS[0]),
                   ("assistant", fresh[1]), ("user", ANSWERS[1])], transcripts=ANSWERS[2:])
    send(conv, type="response.create", response={"instructions": "Welcome them back."})
    welcome = of(drain(conv), "response.output_audio_transcript.done")[0]["transcript"]
    assert welcome.startswith("Welcome back") and "thank you for joining" not in welcome.lower()
    question = welcome.removeprefix("Welcome back, let's continue with the next question. ")
    assert question != welcome
    # The question the uninterrupted session asked next, and none asked before the drop.
    assert fresh[2].endswith(question)
    assert not any(question in line for line in fresh[:2])
    # Later replies go on from there, word for word as without the drop.
    append(conv, tone(500) + silence(300))
    drain(conv)
    assert conv.responses[-1].text == fresh[3]


def test_a_question_left_unanswered_by_the_drop_is_asked_again_once() -> None:
    fresh = fresh_lines(2)
    conv = seeded([("assistant", fresh[0]), ("user", ANSWERS[0]), ("assistant", fresh[1])],
                  transcripts=ANSWERS[1:])
    send(conv, type="response.create")
    drain(conv)
    welcome = conv.responses[0].text
    question = welcome.removeprefix("Welcome back. Let's pick up where we stopped: ")
    assert question != welcome and fresh[1].endswith(question)
    append(conv, tone(500) + silence(300))
    drain(conv)
    assert conv.responses[-1].text == fresh[2]
    # Only the greeting was kept: its question is asked again, without the greeting.
    greeted = seeded([("assistant", fresh[0])], transcripts=[])
    send(greeted, type="response.create")
    drain(greeted)
    line = greeted.responses[0].text
    assert line.startswith("Welcome back") and "about yourself" in line and line != fresh[0]


def test_only_items_created_before_the_first_response_are_earlier_turns() -> None:
    seen: list[ConversationView] = []

    def responder(view: ConversationView) -> str:
        seen.append(view)
        return "Noted."

    conv = seeded([("system", "Be kind."), ("user", "Hello")], transcripts=[])
    conv.config.responder = responder
    send(conv, type="response.create")
    drain(conv)
    send(conv, type="conversation.item.create",
         item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Later"}]})
    send(conv, type="response.create")
    drain(conv)
    assert seen[0].earlier_turns == (("system", "Be kind."), ("user", "Hello"))
    assert seen[1].earlier_turns == seen[0].earlier_turns
    assert seen[1].history[-2:] == (("assistant", "Noted."), ("user", "Later"))
    # Speech before the first reply is this session's own turn, not an earlier one: the
    # opening line is the greeting; a system message alone carries no conversation over.
    for conv in (configured(FakeConfig(audio_pace=0)), seeded([("system", "Be kind.")], [])):
        append(conv, tone(500) + silence(300))
        drain(conv)
        assert conv.responses[0].text.startswith("Hello, and thank you for joining")
