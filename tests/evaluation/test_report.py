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
            _question(4, "I like measuring things"),  # a candidate line: the question before its quote
            _question(99, "invented words"),  # nothing to go on
        ],
        strengths=["a", "b", "c"], improvements=["a", "b", "c"], practice_plan=["a", "b", "c"],
    )
    overall, result = build_result(parsed, check_evidence(parsed, LINES), rubric, lines=LINES,
                                   level="graduate", asked_again=False)
    assert overall == result["overall"]["score"] == 100
    assert [q["question_turn"] for q in result["questions"]] == [3, 1, None]
    assert [d["key"] for d in result["dimensions"]] == [d.key for d in rubric.dimensions]
    assert result["evidence"] == {"checked": 3, "kept": 2, "invented": 1,
                                  "invented_examples": ["invented words"], "asked_again": False}


def test_each_question_is_the_interviewers_whole_turn_marked_when_interrupted(
    rubric: Rubric,
) -> None:
    lines = [
        TranscriptLine(1, "interviewer", "Why physics?"),
        TranscriptLine(2, "candidate", "I like measuring things."),
        TranscriptLine(3, "interviewer", "Thank you. Next", state="interrupted",
                       full_text="Thank you. Next, how would you design a spectrometer?"),
        TranscriptLine(4, "candidate", "I built a spectrometer."),
    ]
    parsed = ParsedEvaluation(
        summary="s",
        dimensions={d.key: DimensionAssessment(score=4, justification="j") for d in rubric.dimensions},
        questions=[
            QuestionFeedback(question="physics?", question_turn=1, answer_summary="a",
                             strong="s", improve="i", quotes=["I like measuring things"]),
            QuestionFeedback(question="…How would you design", question_turn=3,
                             answer_summary="a", strong="s", improve="i",
                             quotes=["I built a spectrometer"]),
        ],
        strengths=["a", "b", "c"], improvements=["a", "b", "c"], practice_plan=["a", "b", "c"],
    )
    _, result = build_result(parsed, check_evidence(parsed, lines), rubric, lines=lines,
                             level="graduate", asked_again=False)
    assert [(q["question"], q["interrupted"]) for q in result["questions"]] == [
        ("Why physics?", False),
        ("Thank you. Next, how would you design a spectrometer?", True),
    ]
