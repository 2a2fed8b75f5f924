"""The transcript format the model (and the fake) read, and the 'too short' rule."""

from __future__ import annotations

from vivavoce.evaluation.rubric import SufficiencyPolicy
from vivavoce.evaluation.transcript import (
    TranscriptLine,
    assess_sufficiency,
    format_transcript,
    parse_transcript,
)

POLICY = SufficiencyPolicy(min_answers=2, min_answer_words=5, min_candidate_words=15)


def test_format_then_parse_round_trips_and_keeps_each_turn_on_one_line() -> None:
    lines = [
        TranscriptLine(1, "interviewer", "Hello.\nTell me about you."),
        TranscriptLine(2, "candidate", "I study physics."),
        TranscriptLine(3, "candidate", "   "),
    ]
    text = format_transcript(lines)
    assert text == "[1] Interviewer: Hello. Tell me about you.\n[2] Candidate: I study physics."
    assert parse_transcript("noise\n" + text) == [
        TranscriptLine(1, "interviewer", "Hello. Tell me about you."),
        TranscriptLine(2, "candidate", "I study physics."),
    ]


def test_no_answers_is_insufficient_with_a_kind_explanation() -> None:
    result = assess_sufficiency([TranscriptLine(1, "interviewer", "Hello there, welcome!")], POLICY)
    assert not result.enough
    assert result.answers == 0
    assert "before we heard any answers" in result.explanation


def test_short_answers_are_insufficient() -> None:
    lines = [
        TranscriptLine(1, "interviewer", "Tell me about yourself."),
        TranscriptLine(2, "candidate", "I study physics at Leeds and love it."),
        TranscriptLine(3, "interviewer", "Why this role?"),
        TranscriptLine(4, "candidate", "Um, money."),
    ]
    result = assess_sufficiency(lines, POLICY)
    assert (result.enough, result.answers) == (False, 1)
    # Both thresholds missed: each named with its count and its threshold.
    assert "we heard 1 answer of at least 5 words, and feedback needs at least 2" in (
        result.explanation)
    assert "we heard 10 words from you in all, and feedback needs at least 15" in (
        result.explanation)
    assert "new interview" not in result.explanation  # the next step depends on the reader


def test_too_few_words_in_enough_answers_names_only_the_words() -> None:
    # The contradiction: "we heard 2 full answers, and need at least 2".
    policy = SufficiencyPolicy(min_answers=2, min_answer_words=5, min_candidate_words=40)
    lines = [
        TranscriptLine(2, "candidate", "I study physics at Leeds and love it."),
        TranscriptLine(4, "candidate", "I want to build better medical instruments."),
    ]
    result = assess_sufficiency(lines, policy)
    assert (result.enough, result.answers, result.candidate_words) == (False, 2, 15)
    assert "of at least 5 words" not in result.explanation
    assert "we heard 15 words from you in all, and feedback needs at least 40." in (
        result.explanation)


def test_enough_answers() -> None:
    lines = [
        TranscriptLine(2, "candidate", "I study physics at Leeds and love the lab work."),
        TranscriptLine(4, "candidate", "I want to build instruments that help doctors see more."),
    ]
    result = assess_sufficiency(lines, POLICY)
    assert result.enough and result.answers == 2 and result.explanation == ""
