"""Interviewer instructions and the GA session.update built from them."""

from __future__ import annotations

from vivavoce.interview.candidate import CandidateContext
from vivavoce.interview.instructions import FIELD_FOCUS, LEVEL_GUIDANCE, build_instructions
from vivavoce.realtime.session_config import SILENCE_MS, session_update
from vivavoce.simulator import questions_from_instructions


def context(**extra: object) -> CandidateContext:
    return CandidateContext.model_validate({"name": "Ada", "major": "Finance", "year": 1,
                                            **extra})


def test_instructions_adapt_to_field_and_level_and_carry_questions() -> None:
    text = build_instructions(
        context(resumeText="Treasurer of the investment club; built a DCF model."),
        ["Walk me through a DCF.", "Tell me about a team conflict."])
    assert FIELD_FOCUS["finance"] in text
    assert LEVEL_GUIDANCE["undergraduate_early"] in text
    assert "warm and encouraging" in text
    assert "Name: Ada" in text and "investment club" in text
    assert "behavioural" in text
    assert questions_from_instructions(text) == ["Walk me through a DCF.",
                                                 "Tell me about a team conflict."]


def test_graduate_computer_science() -> None:
    ctx = CandidateContext.model_validate({"name": "Bo", "major": "CS", "year": "PhD"})
    text = build_instructions(ctx, language="de")
    assert LEVEL_GUIDANCE["graduate"] in text and FIELD_FOCUS["computer_science"] in text
    assert "'de'" in text
    assert "Questions to draw from" not in text


def test_session_update_is_ga_shaped() -> None:
    event = session_update(model="gpt-realtime", instructions="Be kind.", voice="marin",
                           transcription_model="gpt-4o-mini-transcribe", language="en-GB")
    session = event["session"]
    assert event["type"] == "session.update" and session["type"] == "realtime"
    assert session["output_modalities"] == ["audio"]
    assert "temperature" not in session
    audio_in = session["audio"]["input"]
    assert audio_in["format"] == {"type": "audio/pcm", "rate": 24000}
    assert audio_in["transcription"] == {"model": "gpt-4o-mini-transcribe", "language": "en"}
    assert audio_in["turn_detection"]["type"] == "server_vad"
    assert audio_in["turn_detection"]["silence_duration_ms"] == SILENCE_MS
    assert session["audio"]["output"] == {"format": {"type": "audio/pcm", "rate": 24000},
                                          "voice": "marin"}
    semantic = session_update(model="m", instructions="", voice="v", transcription_model="t",
                              turn_detection="semantic_vad")
    assert semantic["session"]["audio"]["input"]["turn_detection"]["type"] == "semantic_vad"
