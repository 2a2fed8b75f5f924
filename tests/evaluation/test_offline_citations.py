"""Property: whatever the interview, every piece of the offline feedback that can cite the
candidate does — each strength, improvement, practice-plan step and dimension — with a
sentence of a candidate line, shown once (a sentence cited again is a reference to it)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.evaluation.helpers import GOOD_TRANSCRIPT
from tests.evaluation.offline_fixtures import ANSWERS, LONG_PLAIN, QUESTION, VARIED, transcript
from vivavoce.evaluation.evidence import find_quote, normalise
from vivavoce.evaluation.offline import evaluate_offline
from vivavoce.evaluation.rubric import Rubric, load_rubric
from vivavoce.evaluation.transcript import TranscriptLine

RUBRIC = load_rubric()

# Motivation said only inside a word ("motivated"): the signal counts it, so the quote
# must find it too.
MOTIVATED = "Helping the users kept me motivated through the whole summer at the shop."

# The answers and questions of the other offline tests, mixed.
POOL_ANSWERS = [*ANSWERS.values(), LONG_PLAIN, *(text for who, text in GOOD_TRANSCRIPT
                                               if who == "candidate"),
                *(a for answers, _ in VARIED for a in answers), MOTIVATED]
POOL_QUESTIONS = [QUESTION, *(text for who, text in GOOD_TRANSCRIPT if who == "interviewer"),
                  "Erzählen Sie von einem Projekt, auf das Sie stolz sind?"]


def _sections(result: dict[str, Any]) -> dict[str, list[list[dict[str, Any]]]]:
    """Every piece that cites, by section: its list of quotes."""
    cited = result["cited"]
    return {
        "strengths": cited["strengths"],
        "improvements": cited["improvements"],
        "practice_plan": cited["practice_plan"],
        "dimensions": [d["quotes"] for d in result["dimensions"]],
        "questions": [q["quotes"] for q in result["questions"]],
    }


def check_citations(lines: list[TranscriptLine], rubric: Rubric, language: str) -> None:
    _, result = evaluate_offline(lines, rubric, level="graduate", language=language)
    sections = _sections(result)
    assert len(sections["practice_plan"]) == len(result["practice_plan"])
    for part in ("strengths", "improvements", "practice_plan", "dimensions"):
        texts = (result[part] if part != "dimensions"
                 else [d["justification"] for d in result["dimensions"]])
        for text, quotes in zip(texts, sections[part], strict=True):
            assert quotes, f"{part} cites nothing: {text}"
    by_turn = {line.sequence: line for line in lines}
    quotes = [q for part in sections.values() for cited in part for q in cited]
    for quote in quotes:
        line = by_turn[quote["turn"]]
        assert line.speaker == "candidate", quote
        assert find_quote(quote["text"], [line]) == line.sequence, quote
    _check_not_found_is_true(result)
    shown = [normalise(q["text"]) for q in quotes if not q.get("ref")]
    assert len(shown) == len(set(shown)), "a sentence is shown twice"
    for quote in quotes:
        if quote.get("ref"):
            assert normalise(quote["text"]) in shown, f"a reference to words not shown: {quote}"


# A justification says "no … was found" exactly when its own count is zero.
_NONE_FOUND = {
    "evidence": ("0 numbers and 0 named terms", "No number and no named tool"),
    "field_knowledge": ("0 named tools or technologies", "No named tool or technology"),
    "motivation": ("0 signs of motivation", "No sign of motivation"),
}


def _check_not_found_is_true(result: dict[str, Any]) -> None:
    english = result["signals"]["english_signals"]
    for dimension in result["dimensions"]:
        counts, none_found = _NONE_FOUND.get(dimension["key"], ("", ""))
        if not counts or (dimension["key"] == "motivation" and not english):
            continue
        text = dimension["justification"]
        # "(?<!\d)": "10 named tools" is not "0 named tools".
        zero = re.search(r"(?<!\d)" + re.escape(counts), text) is not None
        assert zero == (none_found in text), text
    structure = next(d for d in result["dimensions"] if d["key"] == "structure")
    if "No step you took" in structure["justification"]:
        answers = result["signals"]["answers"]
        assert not any("action" in a["star"] or a["numbers"] or a["named_terms"]
                       for a in answers), structure["justification"]


@pytest.mark.parametrize(("answers", "language"), [
    *VARIED, ((MOTIVATED, ANSWERS["vague"]), "en"), ((ANSWERS["vague"],) * 2, "en"),
    # One answer: more strengths than the three kept, and their sentences shared.
    ((ANSWERS["star"],), "en"), ((ANSWERS["star"], ANSWERS["very_short"]), "en")])
def test_the_other_tests_interviews_cite_the_candidate_throughout(
    answers: tuple[str, ...], language: str
) -> None:
    check_citations(transcript(*answers), RUBRIC, language)


@st.composite
def interviews(draw: st.DrawFn) -> tuple[list[TranscriptLine], str]:
    pairs = draw(st.lists(st.tuples(st.sampled_from(POOL_QUESTIONS),
                                    st.sampled_from(POOL_ANSWERS), st.booleans()),
                          min_size=1, max_size=6))
    lines: list[TranscriptLine] = []
    for question, answer, split in pairs:
        lines.append(TranscriptLine(len(lines) + 1, "interviewer", question))
        # An answer in two candidate turns (the candidate paused) is still one answer.
        cut = answer.find(". ") if split else -1
        parts = [answer[: cut + 1], answer[cut + 2:]] if cut > 0 else [answer]
        for part in parts:
            lines.append(TranscriptLine(len(lines) + 1, "candidate", part))
    return lines, draw(st.sampled_from(["en", "en-GB", "de", "fr"]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interviews())
def test_every_point_step_and_dimension_cites_the_candidate(
    interview: tuple[list[TranscriptLine], str],
) -> None:
    lines, language = interview
    check_citations(lines, RUBRIC, language)


def test_a_dropped_points_sentence_is_handed_out_again() -> None:
    from vivavoce.evaluation.offline.quotes import QuotePicker, QuoteRef
    from vivavoce.evaluation.offline.signals import pair_answers

    picker = QuotePicker(pair_answers(transcript(ANSWERS["specific"]), language="en"))
    first = picker.pick(lambda x: 1.0)
    assert first is not None and isinstance(picker.pick(lambda x: 1.0), QuoteRef)
    picker.release([first])  # its point was dropped: the words are free to show again
    again = picker.pick(lambda x: 1.0)
    assert again == first and not isinstance(again, QuoteRef)


def test_a_reference_to_words_shown_nowhere_shows_them() -> None:
    from vivavoce.evaluation.offline import _show_referenced

    shown = {"text": "I built it.", "turn": 2}
    groups = [[dict(shown)], [{"text": "We shipped.", "turn": 4, "ref": True}],
              [{"text": "I built it.", "turn": 2, "ref": True}],
              [{"text": "We shipped.", "turn": 4, "ref": True}]]
    _show_referenced(groups)
    assert groups == [[shown], [{"text": "We shipped.", "turn": 4}],
                      [{"text": "I built it.", "turn": 2, "ref": True}],
                      [{"text": "We shipped.", "turn": 4, "ref": True}]]
