"""Every message the browser receives, as docs/protocol.md describes it, and the rule
that nothing else in the relay or the interview builds one by hand."""

from __future__ import annotations

import re
from pathlib import Path

from vivavoce.interview import browser_messages as m
from vivavoce.interview.errors import ErrorVerdict
from vivavoce.pricing import TokenUsage

SRC = Path(__file__).resolve().parents[2] / "src" / "vivavoce"


def test_error_has_the_one_shape() -> None:
    assert m.error("bad_message", "No.", fatal=False) == {
        "type": "error", "code": "bad_message", "message": "No.",
        "fatal": False, "cause": None, "details": None}
    verdict = ErrorVerdict("invalid_api_key", "key_invalid", True, "Sorry.", "Fix it.")
    assert m.verdict_error(verdict, retryable=True) == {
        "type": "error", "code": "invalid_api_key", "message": "Sorry.",
        "fatal": True, "cause": "key_invalid", "details": {"cause": "key_invalid"},
        "retryable": True}
    assert "retryable" not in m.verdict_error(verdict)
    # The operator's hint never reaches the browser (candidates see only their words).
    assert "Fix it." not in str(m.verdict_error(verdict))
    # A refusal by the limits: retryable, with when to try again.
    refusal = m.error("server_busy", "Busy.", fatal=True, retry_after_s=30)
    assert (refusal["fatal"], refusal["retryable"], refusal["retry_after_s"]) == (True, True, 30)
    assert "retry_after_s" not in m.error("x", "y", fatal=True, retryable=True)


def test_lifecycle_messages() -> None:
    assert m.connected(simulator=False) == {
        "type": "connected", "message": "Connected to vivavoce.", "simulator": False}
    assert "simulator" in m.connected(simulator=True)["message"]
    assert m.interview_starting()["type"] == "interview_starting"
    started = m.interview_started(interview_id="iv", simulator=True, resumed=True)
    assert (started["type"], started["interview_id"], started["resumed"]) == (
        "interview_started", "iv", True)
    assert "Simulator" in started["message"]
    assert m.interview_ended("Bye.", reason="time_limit", interview_id="iv") == {
        "type": "interview_ended", "message": "Bye.", "reason": "time_limit",
        "interview_id": "iv"}
    assert m.interview_ended("Later.", reason="key_invalid", interview_id=None,
                             retryable=True)["retryable"] is True
    assert m.pong() == {"type": "pong"} and m.ai_audio_clear() == {"type": "ai_audio_clear"}


def test_transcript_and_usage_messages() -> None:
    assert m.ai_transcription("Hi", is_final=False, item_id="a1") == {
        "type": "ai_transcription", "text": "Hi", "is_final": False, "item_id": "a1"}
    assert m.student_speech_started() == {"type": "student_speech_started"}
    assert m.student_transcription_delta("I", item_id="u1") == {
        "type": "student_transcription_delta", "item_id": "u1", "text": "I"}
    assert m.student_transcription("I study.", item_id="u1") == {
        "type": "student_transcription", "text": "I study.", "is_final": True, "item_id": "u1"}
    usage = m.usage(TokenUsage(input_text=1, input_audio=2, input_cached_text=1,
                               input_cached_audio=2, output_text=4,
                               output_audio=5), 0.12345678)
    assert usage == {"type": "usage", "input_text_tokens": 1, "input_audio_tokens": 2,
                     "input_cached_tokens": 3, "output_text_tokens": 4,
                     "output_audio_tokens": 5, "total_tokens": 12, "cost_usd": 0.123457}
    assert m.usage(TokenUsage(), None)["cost_usd"] is None


def test_no_browser_message_is_built_anywhere_else() -> None:
    # The server → browser types of docs/protocol.md, written as a dict literal.
    kinds = ("error|connected|interview_starting|interview_started|interview_ended|"
             "ai_transcription|ai_audio_clear|student_speech_started|student_transcription"
             "|student_transcription_delta|usage|pong")
    literal = re.compile(r'["\']type["\']\s*:\s*["\'](' + kinds + r')["\']')
    places = [SRC / "interview", SRC / "realtime", SRC / "web" / "voice.py"]
    files = [f for p in places for f in ([p] if p.is_file() else sorted(p.rglob("*.py")))]
    assert len(files) > 5
    found = [f"{f.relative_to(SRC)}: {match.group(0)}" for f in files
             if f.name != "browser_messages.py"
             for match in literal.finditer(f.read_text(encoding="utf-8"))]
    assert found == []
