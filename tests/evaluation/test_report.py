"""The stored result: links to transcript lines, dimension order, the score."""

from __future__ import annotations

from vivavoce.evaluation.evidence import check_evidence
from vivavoce.evaluation.output import DimensionAssessment, ParsedEvaluation, QuestionFeedback
from vivavoce.evaluation.report import build_result
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.transcript import TranscriptLine

LINES = [
    TranscriptLine(1, "interviewer", "Why physics?"),
    TranscriptLine(2, "candidate", "I like measuring things."),
    TranscriptLine(3, "interviewer", "And lab work?"),
    TranscriptLine(4, "candidate", "I built a spectrometer."),
]


def _question(turn: int, *quotes: str) -> QuestionFeedback:
    return QuestionFeedback(question="q", question_turn=turn, answer_summary="a", strong="s",
                            improve="i", quotes=list(quotes))


def test_question_turns_point_at_interviewer_lines(rubric: Rubric) -> None:
    parsed = ParsedEvaluation(
        summary="s",
        dimensions={d.key: DimensionAssessment(score=5, justification="j") for d in rubric.dimensions},
        questions=[
            _question(3, "I built a spectrometer"),  # right
            _question(4, "I built a spectrometer"),  # a candidate line: the question before it
            _question(99, "invented words"),  # nothing to go on
        ],
        strengths=["a", "b", "c"], improvements=["a", "b", "c"], practice_plan=["a", "b", "c"],
    )
    overall, result = build_result(parsed, check_evidence(parsed, LINES), rubric, lines=LINES,
                                   level="graduate", asked_again=False)
    assert overall == result["overall"]["score"] == 100
    assert [q["question_turn"] for q in result["questions"]] == [3, 3, None]
    assert [d["key"] for d in result["dimensions"]] == [d.key for d in rubric.dimensions]
    assert result["evidence"] == {"checked": 3, "kept": 2, "invented": 1,
                                  "invented_examples": ["invented words"], "asked_again": False}
