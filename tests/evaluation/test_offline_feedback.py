"""The offline evaluation as stored: real feedback that cites signals and quotes, and the
cap it puts on a model's unbacked high scores."""

from __future__ import annotations

from typing import Any

import pytest

from tests.evaluation.helpers import GOOD_TRANSCRIPT
from tests.evaluation.offline_fixtures import ANSWERS, VARIED, transcript
from vivavoce.evaluation.evidence import find_quote, normalise
from vivavoce.evaluation.offline import OFFLINE_LABEL, apply_cap, evaluate_offline
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.transcript import TranscriptLine

GOOD = [TranscriptLine(i, speaker, text) for i, (speaker, text) in enumerate(GOOD_TRANSCRIPT, 1)]


def _all_quotes(result: dict[str, Any]) -> list[dict[str, Any]]:
    quotes = [q for question in result["questions"] for q in question["quotes"]]
    quotes += [q for d in result["dimensions"] for q in d["quotes"]]
    for part in ("strengths", "improvements", "practice_plan"):
        quotes += [q for cited in result["cited"][part] for q in cited]
    return quotes


def test_the_result_is_labelled_and_shaped_like_the_models(rubric: Rubric) -> None:
    overall, result = evaluate_offline(GOOD, rubric, level="undergraduate_late", language="en")
    assert result["method"] == "offline" and result["method_label"] == OFFLINE_LABEL
    assert result["overall"]["score"] == overall and 0 <= overall <= 100
    assert [d["key"] for d in result["dimensions"]] == [d.key for d in rubric.dimensions]
    assert all(1 <= d["score"] <= 5 for d in result["dimensions"])
    assert 1 <= len(result["strengths"]) <= 3 and 1 <= len(result["improvements"]) <= 3
    assert 3 <= len(result["practice_plan"]) <= 6
    assert len(result["cited"]["strengths"]) == len(result["strengths"])
    assert [q["question_turn"] for q in result["questions"]] == [1, 3, 5]
    assert result["simulated"] is False and result["simulated_note"] is None


def test_every_quote_is_the_candidates_own_sentence_on_its_own_line_once(rubric: Rubric) -> None:
    lines = transcript(*ANSWERS.values())
    _, result = evaluate_offline(lines, rubric, level="undergraduate_late", language="en")
    quotes = _all_quotes(result)
    assert quotes
    candidate = [line for line in lines if line.speaker == "candidate"]
    for quote in quotes:
        assert find_quote(quote["text"], candidate) == quote["turn"], quote
    # Shown once: a sentence cited again is a reference to where it is quoted.
    texts = [normalise(q["text"]) for q in quotes if not q.get("ref")]
    assert len(texts) == len(set(texts)), "a quote repeats"
    refs = [q for q in quotes if q.get("ref")]
    assert refs  # five answers of a sentence or four: some sentences serve two points
    for ref in refs:
        assert normalise(ref["text"]) in texts, ref
    # Every answer's entry has its own answer's words.
    for question in result["questions"]:
        for quote in question["quotes"]:
            assert quote["turn"] == question["question_turn"] + 1


def test_the_points_and_dimensions_cite_the_candidates_words(rubric: Rubric) -> None:
    # Short answers have few sentences: each is quoted once, yet every strength and
    # every dimension with a signal to show cites one (its own or by reference).
    lines = transcript(ANSWERS["star"], ANSWERS["specific"], ANSWERS["vague"],
                       ANSWERS["off_topic"], ANSWERS["very_short"])
    _, result = evaluate_offline(lines, rubric, level="graduate", language="en")
    assert all(result["cited"]["strengths"]), result["strengths"]
    improvements = dict(zip(result["improvements"], result["cited"]["improvements"],
                            strict=True))
    hedges = next(q for text, q in improvements.items() if text.startswith("Cut hedges"))
    assert hedges and "I think" in hedges[0]["text"]
    off = next(q for text, q in improvements.items() if text.startswith("Answer the question"))
    assert off and "football" in off[0]["text"]
    quoted = {d["key"]: d["quotes"] for d in result["dimensions"]}
    assert all(quoted[k] for k in ("communication", "structure", "evidence",
                                   "field_knowledge")), quoted
    assert "I think" in quoted["communication"][0]["text"]  # the most hedged sentence
    assert "I designed" in quoted["structure"][0]["text"]  # an action, said with "I"


@pytest.mark.parametrize(("answers", "language"), VARIED)
def test_every_point_plan_step_and_dimension_quotes_the_candidate(
    rubric: Rubric, answers: tuple[str, ...], language: str
) -> None:
    _, result = evaluate_offline(transcript(*answers), rubric, level="graduate",
                                 language=language)
    for part in ("strengths", "improvements", "practice_plan"):
        assert len(result["cited"][part]) == len(result[part])
        for text, quotes in zip(result[part], result["cited"][part], strict=True):
            assert quotes, f"{part}: {text}"
    for dimension in result["dimensions"]:
        assert dimension["quotes"], dimension["justification"]


def _plan(result: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return dict(zip(result["practice_plan"], result["cited"]["practice_plan"], strict=True))


def _step(plan: dict[str, list[dict[str, Any]]], start: str) -> list[dict[str, Any]]:
    return next(quotes for text, quotes in plan.items() if text.startswith(start))


def test_each_plan_step_quotes_the_words_that_show_why(rubric: Rubric) -> None:
    lines = transcript(*ANSWERS.values())
    _, result = evaluate_offline(lines, rubric, level="graduate", language="en")
    plan = _plan(result)
    turn = {name: 2 * (i + 1) for i, name in enumerate(ANSWERS)}
    # Hedges: the most hedged sentence; specifics: an answer with neither a number nor a
    # named tool; off topic: that answer's first sentence; length: the shortest answer.
    hedges = _step(plan, "Record one answer and replace every")
    assert "I think" in hedges[0]["text"] and hedges[0]["turn"] == turn["vague"]
    assert _step(plan, "For each project you may talk about")[0]["turn"] == turn["vague"]
    off = _step(plan, "Before you answer, repeat the question's key words")
    assert off[0]["text"].startswith("I really enjoy playing football")
    short = _step(plan, "Aim for 45 to 90 seconds")
    assert short == [{"text": "Yes, I did.", "turn": turn["very_short"], "ref": True}]
    assert "the answer cited here had 3 words" in next(t for t in plan if t.startswith("Aim"))
    # STAR practice starts from an action with specifics, never the off-topic answer.
    story = _step(plan, "Prepare two stories")
    assert story[0]["turn"] in (turn["star"], turn["specific"])


def test_plan_steps_cite_unquoted_sentences_when_there_are_some(rubric: Rubric) -> None:
    # A long answer without specifics: the improvement quotes one sentence of it, and the
    # plan step another, in its own words rather than a reference.
    hedged = ("I think we maybe built some kind of website for a shop. Um, I guess it sort "
              "of worked, you know. Probably the team liked it, I think, more or less. "
              "Basically I did the pages and stuff like that, maybe the tests too. Maybe "
              "we used a database, I think, or sort of a spreadsheet. I guess it probably "
              "went kind of okay in the end, you know. Perhaps the owner was sort of happy, "
              "I suppose. I mean, it could be better, maybe, I don't know.")
    lines = transcript(hedged, ANSWERS["specific"])
    _, result = evaluate_offline(lines, rubric, level="graduate", language="en")
    improvement = next(q for t, q in zip(result["improvements"], result["cited"]["improvements"],
                                         strict=True) if t.startswith("Add specifics"))
    step = _step(_plan(result), "For each project you may talk about")
    assert step and not step[0].get("ref") and step[0]["turn"] == 2
    assert normalise(step[0]["text"]) != normalise(improvement[0]["text"])


MOTIVATION_LESS = [
    ("interviewer", "Tell me about a project you are proud of."),
    ("candidate", ANSWERS["star"]),
    ("interviewer", "Why do you want this internship?"),
    ("candidate", "The internship is in Leeds, near my family. The office is close to the "
                  "station and the hours suit me."),
]


def test_a_dimension_without_evidence_cites_the_answer_it_was_judged_from(
    rubric: Rubric,
) -> None:
    lines = [TranscriptLine(i, who, text) for i, (who, text) in enumerate(MOTIVATION_LESS, 1)]
    _, result = evaluate_offline(lines, rubric, level="graduate", language="en")
    motivation = next(d for d in result["dimensions"] if d["key"] == "motivation")
    # No sign of motivation anywhere: the answer to "Why …?", the question closest to it.
    assert "0 signs of motivation" in motivation["justification"]
    assert ("No sign of motivation (such as “I enjoy”, “because” or “to learn”) was found "
            "in your answer to “Why do you want this internship?” (the question closest to "
            "motivation and role fit), cited here.") in motivation["justification"]
    assert motivation["quotes"] and motivation["quotes"][0]["turn"] == 4
    # No question near it: the longest answer.
    plain = transcript(ANSWERS["vague"], ANSWERS["star"], ANSWERS["specific"])
    _, result = evaluate_offline(plain, rubric, level="graduate", language="en")
    motivation = next(d for d in result["dimensions"] if d["key"] == "motivation")
    assert "(your longest answer), cited here." in motivation["justification"]
    assert motivation["quotes"][0]["turn"] == 4


def test_dimensions_without_a_signal_in_the_language_still_cite_an_answer(
    rubric: Rubric,
) -> None:
    lines = transcript(
        "Ich habe eine App mit Python und PostgreSQL für 300 Studierende gebaut. "
        "Die Wartezeit sank von 60 auf 10 Minuten.",
        "Ja, das war gut.",
        question="Erzählen Sie von einem Projekt, auf das Sie stolz sind?",
    )
    _, result = evaluate_offline(lines, rubric, level="graduate", language="de")
    for key in ("communication", "structure", "motivation"):
        dimension = next(d for d in result["dimensions"] if d["key"] == key)
        assert "Beyond that, the rules found no evidence of" in dimension["justification"]
        assert "(your longest answer), cited here." in dimension["justification"]
        assert dimension["quotes"] and dimension["quotes"][0]["turn"] == 2, key


def test_points_cite_the_signals_they_rest_on(rubric: Rubric) -> None:
    lines = transcript(ANSWERS["star"], ANSWERS["specific"], ANSWERS["vague"],
                       ANSWERS["off_topic"])
    _, result = evaluate_offline(lines, rubric, level="undergraduate_late", language="en")
    strengths = " ".join(result["strengths"])
    improvements = " ".join(result["improvements"])
    assert "STAR" in strengths and "numbers" in strengths
    assert "Python" in strengths  # the named tools are named
    assert "1 of 4 answers shared none of their question's key terms" in improvements
    assert "hedges and fillers" in improvements and "“i think”" in improvements
    assert any("key words" in step for step in result["practice_plan"])
    justifications = {d["key"]: d["justification"] for d in result["dimensions"]}
    assert justifications["structure"].startswith(
        f"{next(d['score'] for d in result['dimensions'] if d['key'] == 'structure')}/5")
    assert "STAR parts" in justifications["structure"]
    assert "cannot tell whether what you said is right" in justifications["field_knowledge"]
    off = result["questions"][3]
    assert "did not use the question's key terms" in off["improve"]


def test_a_strong_interview_scores_above_a_weak_one(rubric: Rubric) -> None:
    strong, _ = evaluate_offline(transcript(ANSWERS["star"], ANSWERS["specific"]), rubric,
                                 level="graduate", language="en")
    weak, _ = evaluate_offline(transcript(ANSWERS["vague"], ANSWERS["off_topic"]), rubric,
                               level="graduate", language="en")
    assert strong > weak + 20


def test_other_languages_say_which_signals_were_left_out(rubric: Rubric) -> None:
    lines = transcript(
        "Ich habe eine App mit Python und PostgreSQL für 300 Studierende gebaut. "
        "Die Wartezeit sank von 60 auf 10 Minuten.",
        "Ich möchte lernen, wie große Systeme betrieben werden, und ich mag Datenbanken.",
        question="Erzählen Sie von einem Projekt, auf das Sie stolz sind?",
    )
    _, result = evaluate_offline(lines, rubric, level="graduate", language="de")
    signals = result["signals"]
    assert signals["english_signals"] is False
    assert "only language-neutral signals" in signals["note"]
    structure = next(d for d in result["dimensions"] if d["key"] == "structure")
    assert "not applied to this language" in structure["justification"]
    assert "STAR" not in " ".join(result["strengths"] + result["improvements"])


def test_simulated_interviews_carry_the_note(rubric: Rubric) -> None:
    _, result = evaluate_offline(GOOD, rubric, level="graduate", language="en", simulated=True)
    assert result["simulated"] is True and "not transcribed" in result["simulated_note"]


def _model_result(rubric: Rubric, score: int) -> dict[str, Any]:
    return {
        "method": "model",
        "dimensions": [{"key": d.key, "name": d.name, "weight": d.weight, "score": score,
                        "justification": "The model's words."} for d in rubric.dimensions],
        "overall": {"score": 100, "formula": "…"},
    }


def test_the_cap_lowers_high_scores_without_evidence(rubric: Rubric) -> None:
    lines = transcript(ANSWERS["vague"], ANSWERS["vague"].replace("stuff", "things"))
    overall, result = apply_cap(_model_result(rubric, 5), lines, rubric, language="en")
    scores = {d["key"]: d["score"] for d in result["dimensions"]}
    # No STAR story and no number or name in any answer: both capped at 3.
    assert scores["structure"] == 3 and scores["evidence"] == 3
    # The others are not capped: their signals are not evidence of absence.
    assert scores["communication"] == scores["field_knowledge"] == scores["motivation"] == 5
    applied = {a["key"]: a for a in result["cap"]["applied"]}
    assert applied["evidence"] == {"key": "evidence", "model_score": 5, "cap": 3, "score": 3,
                                   "evidence_share": 0.0}
    evidence = next(d for d in result["dimensions"] if d["key"] == "evidence")
    assert evidence["model_score"] == 5 and "Capped at 3" in evidence["justification"]
    assert overall == result["overall"]["score"] < 100
    assert result["signals"]["answers"]


@pytest.mark.parametrize(("answers", "expected"), [
    ((ANSWERS["star"], ANSWERS["specific"]), 5),  # evidence in every answer: no cap
    ((ANSWERS["specific"], ANSWERS["vague"], ANSWERS["vague"]), 4),  # 1 of 3: cap 4
])
def test_the_cap_follows_the_share_of_answers_with_evidence(
    rubric: Rubric, answers: tuple[str, ...], expected: int
) -> None:
    _, result = apply_cap(_model_result(rubric, 5), transcript(*answers), rubric, language="en")
    assert next(d["score"] for d in result["dimensions"] if d["key"] == "evidence") == expected


def test_the_cap_never_raises_a_score_and_skips_other_languages(rubric: Rubric) -> None:
    lines = transcript(ANSWERS["vague"], ANSWERS["vague"])
    _, low = apply_cap(_model_result(rubric, 2), lines, rubric, language="en")
    assert all(d["score"] == 2 for d in low["dimensions"]) and low["cap"]["applied"] == []
    _, other = apply_cap(_model_result(rubric, 5), lines, rubric, language="fr")
    assert all(d["score"] == 5 for d in other["dimensions"])
    assert other["cap"]["applied"] == [] and "not in English" in other["cap"]["note"]
