"""The offline evaluator: rule-based feedback from the transcript alone, no model.

It is the simulator's evaluator (no key, nothing spent) and, with a key, runs beside the
model: its signals are shown with the model's evaluation and can cap a dimension the
model scored high where the signals find no evidence (``cap.py``). See
docs/evaluation.md, "The offline evaluation".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vivavoce.evaluation.evidence import normalise
from vivavoce.evaluation.offline.cap import CAP_FORMULA, apply_cap
from vivavoce.evaluation.offline.judge import judge_dimension
from vivavoce.evaluation.offline.quotes import QuotePicker
from vivavoce.evaluation.offline.signals import Answer, is_english, pair_answers
from vivavoce.evaluation.offline.writer import (
    answer_quote,
    cite_plan,
    describe_answer,
    justify,
    quotes_json,
    write_points,
)
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.scoring import FORMULA, overall_score
from vivavoce.evaluation.transcript import TranscriptLine

__all__ = [
    "CAP_FORMULA",
    "OFFLINE_LABEL",
    "OFFLINE_MODEL",
    "SIMULATED_NOTE",
    "apply_cap",
    "evaluate_offline",
    "signals_summary",
]

OFFLINE_LABEL = "offline evaluation — rule-based, no AI"
OFFLINE_MODEL = "offline"  # stored in evaluations.model: nothing was called, nothing spent
SIMULATED_NOTE = (
    "Simulator mode: your words were not transcribed. The candidate lines in this "
    "transcript are examples the simulator supplied, so this feedback shows how the "
    "evaluation works, not how you did."
)
_NON_ENGLISH_NOTE = (
    "This interview was not in English, so only language-neutral signals were used "
    "(length, numbers, named terms, relevance); ownership, STAR markers and hedges are "
    "English-word signals and were not applied."
)


def _quotes(items: Sequence[Any]) -> list[dict[str, Any]]:
    return quotes_json(items)


def _show_referenced(groups: Sequence[list[dict[str, Any]]]) -> None:
    """A reference must point at words shown on the page. A point dropped past the
    three kept may have taken a sentence that a kept one then cites by reference: the
    first such reference (in the page's order) shows the words instead."""
    shown = {normalise(q["text"]) for group in groups for q in group if not q.get("ref")}
    for group in groups:
        for quote in group:
            if quote.get("ref") and normalise(quote["text"]) not in shown:
                del quote["ref"]
                shown.add(normalise(quote["text"]))


def signals_summary(answers: Sequence[Answer], language: str) -> dict[str, Any]:
    """The signals as stored with a result (offline or beside the model)."""
    english = is_english(language)
    return {
        "language": language,
        "english_signals": english,
        "note": None if english else _NON_ENGLISH_NOTE,
        "answers": [
            {"question_turn": a.question_turn, "turns": [line.sequence for line in a.lines],
             **a.signals.as_json()}
            for a in answers
        ],
    }


def evaluate_offline(
    lines: Sequence[TranscriptLine],
    rubric: Rubric,
    *,
    level: str,
    language: str,
    simulated: bool = False,
) -> tuple[int, dict[str, Any]]:
    """The overall score and the stored result (``method: "offline"``). The caller has
    checked that there is enough to judge (at least one answer)."""
    answers = pair_answers(lines, language=language)
    if not answers:
        raise ValueError("no answers to evaluate")
    picker = QuotePicker(answers)
    # Each question gets its answer's best sentence first; the points and dimensions then
    # take the best of the rest, the plan steps theirs after them, and a second sentence
    # per answer what is left (a sentence is quoted once on the page; one cited again is
    # a reference to it).
    first = [answer_quote(i, picker) for i in range(len(answers))]
    points = write_points(answers, picker)
    judgements = {dim.key: judge_dimension(dim.key, answers) for dim in rubric.dimensions}
    dimensions = []
    for dim in rubric.dimensions:
        text, quotes = justify(judgements[dim.key], dim.name, answers, picker,
                               description=dim.description)
        dimensions.append({"key": dim.key, "name": dim.name, "weight": dim.weight,
                           "score": judgements[dim.key].score, "justification": text,
                           "quotes": _quotes(quotes)})
    cite_plan(points.plan, picker)
    questions: list[dict[str, Any]] = []
    for i, answer in enumerate(answers):
        summary, strong, improve = describe_answer(answer)
        questions.append({
            "question": answer.question or "(the interview's opening)",
            "question_turn": answer.question_turn,
            "interrupted": answer.question_interrupted,
            "answer_summary": summary,
            "strong": strong,
            "improve": improve,
            "quotes": _quotes([q for q in (first[i], answer_quote(i, picker)) if q]),
        })
    overall = overall_score({k: j.score for k, j in judgements.items()}, rubric)
    best = max(rubric.dimensions, key=lambda d: judgements[d.key].measure)
    worst = min(rubric.dimensions, key=lambda d: judgements[d.key].measure)
    summary = (
        f"Rule-based feedback on {len(answers)} answers "
        f"({sum(a.signals.words for a in answers)} words): strongest on {best.name.lower()}, "
        f"weakest on {worst.name.lower()}. It counts signals in your words (numbers, named "
        "tools, story structure, hedges, the question's key terms); it cannot tell whether "
        "what you said is correct."
    )
    # The page's order: questions, dimensions, strengths, improvements, plan.
    cited = {"strengths": [_quotes(p.quotes) for p in points.strengths],
             "improvements": [_quotes(p.quotes) for p in points.improvements],
             "practice_plan": [_quotes(p.quotes) for p in points.plan]}
    _show_referenced([q["quotes"] for q in questions] + [d["quotes"] for d in dimensions]
                     + [group for part in cited.values() for group in part])
    kept = sum(len(q["quotes"]) for q in questions)
    result: dict[str, Any] = {
        "version": 1,
        "method": "offline",
        "method_label": OFFLINE_LABEL,
        "simulated": simulated,
        "simulated_note": SIMULATED_NOTE if simulated else None,
        "rubric": {"name": rubric.name, "version": rubric.version},
        "level": level,
        "overall": {"score": overall, "formula": FORMULA},
        "dimensions": dimensions,
        "questions": questions,
        "strengths": [p.text for p in points.strengths],
        "improvements": [p.text for p in points.improvements],
        "practice_plan": [p.text for p in points.plan],
        "cited": cited,
        "summary": summary,
        "evidence": {"checked": kept, "kept": kept, "invented": 0, "invented_examples": [],
                     "asked_again": False},
        "signals": signals_summary(answers, language),
    }
    return overall, result
