"""The offline signals on answers of known quality: each signal, and the ranking."""

from __future__ import annotations

import pytest

from tests.evaluation.offline_fixtures import ANSWERS, QUESTION, RANKED
from vivavoce.evaluation.offline.judge import quality, specificity, structure
from vivavoce.evaluation.offline.signals import (
    AnswerSignals,
    measure,
    named_terms,
    pair_answers,
    question_focus,
)
from vivavoce.evaluation.transcript import TranscriptLine


def _signals(name: str, language: str = "en") -> AnswerSignals:
    return measure(QUESTION, [TranscriptLine(2, "candidate", ANSWERS[name])], language=language)


def test_the_answers_rank_as_a_careful_reader_ranks_them() -> None:
    scores = {name: quality(_signals(name)) for name in ANSWERS}
    assert sorted(scores, key=scores.__getitem__, reverse=True) == RANKED


def test_specificity_counts_numbers_and_named_tools() -> None:
    specific = _signals("specific")
    assert {"300", "40", "3"} <= set(specific.numbers)
    assert specific.named_terms == ("Python", "Django", "PostgreSQL")
    vague = _signals("vague")
    assert vague.numbers == () and vague.named_terms == ()
    ranked = sorted(ANSWERS, key=lambda n: specificity(_signals(n)), reverse=True)
    assert set(ranked[:2]) == {"star", "specific"}
    assert ranked[-1] == "very_short"


def test_star_structure_finds_all_four_parts_only_in_the_story() -> None:
    assert _signals("star").star == ("situation", "task", "action", "result")
    assert len(_signals("vague").star or ()) <= 1
    assert _signals("very_short").star == ()
    assert max(ANSWERS, key=lambda n: structure(_signals(n))) == "star"


def test_hedges_and_fillers_mark_the_vague_answer() -> None:
    vague = _signals("vague")
    assert {"i think", "i guess", "maybe", "kind of"} <= set(vague.hedges or ())
    assert {"um", "you know", "basically"} <= set(vague.fillers or ())
    rates = {name: _signals(name).hedge_rate or 0.0 for name in ANSWERS}
    assert max(rates, key=rates.__getitem__) == "vague"
    assert rates["star"] == rates["specific"] == 0.0


def test_relevance_flags_only_the_off_topic_answer() -> None:
    flagged = [name for name in ANSWERS if _signals(name).off_topic]
    assert flagged == ["off_topic"]
    # The story never says "project", but it is about concrete work: not off topic.
    assert _signals("star").topical == 0.5
    assert _signals("specific").shared_terms == ("proje",)


def test_ownership_counts_i_against_we() -> None:
    star = _signals("star")
    assert star.i_words is not None and star.we_words is not None
    assert star.i_words > star.we_words
    team = measure(QUESTION, [TranscriptLine(2, "candidate",
                   "We built it together and we shipped it; our team did the tests.")],
                   language="en")
    assert team.ownership == 0.0


def test_outcome_language() -> None:
    assert "as a result" in (_signals("star").outcomes or ())
    assert "cut" in (_signals("specific").outcomes or ())
    assert _signals("very_short").outcomes == ()


def test_pace_only_from_a_plausible_audio_length() -> None:
    text = ANSWERS["star"]
    words = len(text.split())
    paced = measure(QUESTION, [TranscriptLine(2, "candidate", text, audio_ms=30_000)],
                    language="en")
    assert paced.seconds == 30.0
    assert paced.words_per_minute == pytest.approx(words * 2, rel=0.05)
    # One second for 68 words is not speech: the audio length is not the answer's.
    rushed = measure(QUESTION, [TranscriptLine(2, "candidate", text, audio_ms=1_000)],
                     language="en")
    assert rushed.words_per_minute is None


def test_other_languages_get_only_language_neutral_signals() -> None:
    german = measure(
        "Erzählen Sie von einem Projekt, auf das Sie stolz sind?",
        [TranscriptLine(2, "candidate",
                        "Ich habe im Projekt eine App mit Python und PostgreSQL für 300 "
                        "Studierende gebaut, vielleicht mein bestes Projekt.")],
        language="de-DE",
    )
    assert not german.english
    assert german.star is None and german.hedges is None and german.i_words is None
    assert german.outcomes is None and german.ownership is None
    assert "300" in german.numbers and {"Python", "PostgreSQL"} <= set(german.named_terms)
    # Capitalised German nouns are not names: only listed tools, acronyms, mixed case.
    assert "Studierende" not in german.named_terms
    assert german.relevance is not None and german.relevance > 0
    assert "star" not in german.as_json() and "hedges" not in german.as_json()


def test_question_focus_is_the_asking_sentence() -> None:
    assert question_focus("Thanks, Ada. Tell me about a project.") == "Tell me about a project."
    assert question_focus("Great. How did you test it? Take your time.") == "How did you test it?"


def test_named_terms_skip_sentence_starts_and_months() -> None:
    assert named_terms("Last March I joined Google. We used AWS and gRPC.", english=True) == [
        "Google", "AWS", "gRPC"]


def test_answers_pair_with_the_whole_question_also_when_interrupted() -> None:
    lines = [
        TranscriptLine(1, "interviewer", "Thank you. Next", state="interrupted",
                       full_text="Thank you. Next, how would you design a URL shortener?"),
        TranscriptLine(2, "candidate", "I would start with a hash of the URL."),
        TranscriptLine(3, "candidate", "Then a table in PostgreSQL keyed by it."),
        TranscriptLine(4, "interviewer", "Why?"),
        TranscriptLine(5, "candidate", "Lookups stay fast."),
    ]
    answers = pair_answers(lines, language="en")
    assert [a.question for a in answers] == [
        "Thank you. Next, how would you design a URL shortener?", "Why?"]
    assert [a.question_interrupted for a in answers] == [True, False]
    assert [[line.sequence for line in a.lines] for a in answers] == [[2, 3], [5]]
    assert "desig" in answers[0].signals.question_terms
