"""The stored evaluation (``evaluations.result``): checked, scored, ready to render.

Shape (version 1) — the results page and ``GET /api/interviews/{id}/evaluation`` read it:

```
{"version": 1, "rubric": {"name", "version"}, "level",
 "overall": {"score", "formula"},
 "dimensions": [{"key", "name", "weight", "score", "justification"}],
 "questions": [{"question", "question_turn", "interrupted", "answer_summary", "strong",
                "improve", "quotes": [{"text", "turn"}]}],
 "strengths": [3], "improvements": [3], "practice_plan": [...], "summary",
 "evidence": {"checked", "kept", "invented", "invented_examples", "asked_again"}}
```

``question`` is the interviewer's whole turn at ``question_turn`` (its full text where
the candidate cut in, then ``interrupted`` is true), else the model's wording.
``quotes[].turn`` is the sequence number of the transcript turn the quote was found in,
so a page can link feedback to the lines it quotes. ``question_turn`` is the interviewer
line asking the question: the model's number when it names an interviewer line, else the
interviewer line before the first quote, else null.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vivavoce.evaluation.evidence import CheckedQuote, EvidenceReport
from vivavoce.evaluation.output import ParsedEvaluation
from vivavoce.evaluation.rubric import Rubric, SufficiencyPolicy
from vivavoce.evaluation.scoring import FORMULA, overall_score
from vivavoce.evaluation.transcript import Sufficiency, TranscriptLine

__all__ = ["RESULT_VERSION", "build_result", "insufficient_result"]

RESULT_VERSION = 1


def _question_turn(
    named: int, quotes: list[CheckedQuote], interviewer_turns: Sequence[int]
) -> int | None:
    if named in interviewer_turns:
        return named
    if quotes:
        before = [t for t in interviewer_turns if t < quotes[0].turn]
        return before[-1] if before else None
    return None


def build_result(
    parsed: ParsedEvaluation,
    evidence: EvidenceReport,
    rubric: Rubric,
    *,
    lines: Sequence[TranscriptLine],
    level: str,
    asked_again: bool,
) -> tuple[int, dict[str, Any]]:
    """The overall score and the JSON to store. Raises ValueError when a dimension is
    missing (the output model makes that impossible for a schema-valid answer)."""
    scores = {key: d.score for key, d in parsed.dimensions.items()}
    overall = overall_score(scores, rubric)
    dimensions = [
        {
            "key": dim.key,
            "name": dim.name,
            "weight": dim.weight,
            "score": parsed.dimensions[dim.key].score,
            "justification": parsed.dimensions[dim.key].justification,
        }
        for dim in rubric.dimensions
    ]
    interviewer = {line.sequence: line for line in lines if line.speaker == "interviewer"}
    interviewer_turns = sorted(interviewer)
    questions = []
    for q, kept in zip(parsed.questions, evidence.quotes, strict=True):
        turn = _question_turn(q.question_turn, kept, interviewer_turns)
        asked = interviewer.get(turn) if turn is not None else None
        questions.append({
            # The interviewer's whole turn, not the model's paraphrase or a fragment of it
            # (where the candidate cut in, what the interviewer was saying in full).
            "question": (asked.full_text or asked.text) if asked is not None else q.question,
            "question_turn": turn,
            "interrupted": asked is not None and asked.state == "interrupted",
            "answer_summary": q.answer_summary,
            "strong": q.strong,
            "improve": q.improve,
            "quotes": [{"text": c.text, "turn": c.turn} for c in kept],
        })
    result = {
        "version": RESULT_VERSION,
        "rubric": {"name": rubric.name, "version": rubric.version},
        "level": level,
        "overall": {"score": overall, "formula": FORMULA},
        "dimensions": dimensions,
        "questions": questions,
        "strengths": parsed.strengths,
        "improvements": parsed.improvements,
        "practice_plan": parsed.practice_plan,
        "summary": parsed.summary,
        "evidence": {
            "checked": evidence.checked,
            "kept": evidence.kept,
            "invented": evidence.invented,
            "invented_examples": evidence.invented_examples,
            "asked_again": asked_again,
        },
    }
    return overall, result


def insufficient_result(sufficiency: Sufficiency, policy: SufficiencyPolicy) -> dict[str, Any]:
    """What is stored for an interview too short to judge: the explanation and the counts
    with the thresholds they were held against (the API and the page read the same)."""
    return {
        "version": RESULT_VERSION,
        "explanation": sufficiency.explanation,
        "answers": sufficiency.answers,
        "candidate_words": sufficiency.candidate_words,
        "thresholds": {
            "min_answers": policy.min_answers,
            "min_answer_words": policy.min_answer_words,
            "min_candidate_words": policy.min_candidate_words,
        },
    }
