"""What the evaluation model must answer: pydantic models that become its JSON schema.

The schema is built from the rubric (:func:`build_output_model`): ``dimensions`` is an
object with one required property per rubric dimension, so structured output cannot skip
or invent a dimension. The model never gives an overall score; our code computes it
(:mod:`vivavoce.evaluation.scoring`).

Only constraints OpenAI's strict structured output understands are put in the schema
(``minimum``/``maximum``, ``minItems``/``maxItems``); string lengths are enforced by
:func:`parse_output` instead, which shortens over-long texts at a word boundary
(:func:`vivavoce.text.shorten`). Quotes are left as written: the evidence check judges
the whole quote, then shortens what it keeps (``MAX_QUOTE``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from vivavoce.evaluation.rubric import Rubric
from vivavoce.text import shorten

__all__ = [
    "MAX_QUOTE",
    "MAX_TEXT",
    "DimensionAssessment",
    "MalformedOutput",
    "ParsedEvaluation",
    "QuestionFeedback",
    "build_output_model",
    "parse_output",
]

MAX_TEXT = 2_000  # characters kept of any one text field the model writes
MAX_QUOTE = 400  # characters shown of one quote (shortened after it is checked)


class MalformedOutput(ValueError):
    """The model's text is not JSON matching the schema (truncated, wrong shape…)."""


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DimensionAssessment(_Out):
    score: int = Field(ge=1, le=5, description="1-5, judged against the written anchors.")
    justification: str = Field(
        description="One paragraph: why this score, pointing at what the candidate said."
    )


class QuestionFeedback(_Out):
    question: str = Field(description="The interviewer's question, briefly.")
    question_turn: int = Field(description="The [number] of the transcript line asking it.")
    answer_summary: str = Field(description="The candidate's answer in one or two sentences.")
    strong: str = Field(description="What was strong in this answer.")
    improve: str = Field(description="What to improve in this answer, concretely.")
    quotes: list[str] = Field(
        max_length=3,
        description="Exact words of the candidate from the transcript (verbatim, no [number]).",
    )


class _QuestionOut(QuestionFeedback):
    """A question as the model must write it: evidence is owed for every answer, so at
    least one quote (the evidence check then decides whether it is real)."""

    quotes: list[str] = Field(
        min_length=1,
        max_length=3,
        description="Exact words of the candidate from the transcript (verbatim, no [number]).",
    )


class _EvaluationBase(_Out):
    summary: str = Field(description="Two or three sentences of overall feedback.")
    # At least one: the interview was only sent because the candidate answered questions
    # (see transcript.assess_sufficiency), so an empty list is a broken answer.
    questions: list[_QuestionOut] = Field(
        min_length=1,
        max_length=40,
        description="One entry per question the candidate answered, in order.",
    )
    strengths: list[str] = Field(min_length=3, max_length=3, description="Three strengths.")
    improvements: list[str] = Field(
        min_length=3, max_length=3, description="Three things to improve."
    )
    practice_plan: list[str] = Field(
        min_length=3, max_length=6, description="Concrete practice steps, most useful first."
    )


class ParsedEvaluation(BaseModel):
    """The model's answer once checked, with dimensions keyed by rubric key."""

    summary: str
    dimensions: dict[str, DimensionAssessment]
    questions: list[QuestionFeedback]
    strengths: list[str]
    improvements: list[str]
    practice_plan: list[str]


def build_output_model(rubric: Rubric) -> type[BaseModel]:
    """The output model for ``rubric`` (its JSON schema is what the model must follow)."""
    # Field names are positional with the rubric key as alias: a key such as "json" or
    # "schema" would otherwise shadow a BaseModel attribute.
    fields: dict[str, Any] = {
        f"dim_{i}": (
            DimensionAssessment,
            Field(alias=dim.key, description=f"{dim.name}: {dim.description}".strip(": ")),
        )
        for i, dim in enumerate(rubric.dimensions)
    }
    scores = create_model("DimensionScores", __base__=_Out, **fields)
    model: type[BaseModel] = create_model(
        "InterviewEvaluation",
        __base__=_EvaluationBase,
        dimensions=(scores, Field(description="A score for every rubric dimension.")),
    )
    return model


def _trim(text: str) -> str:
    return shorten(text, MAX_TEXT)


def _blank_fields(parsed: ParsedEvaluation) -> list[str]:
    """Where a text the candidate reads is empty (strict mode cannot ask for minLength)."""
    texts: list[tuple[str, str]] = [("summary", parsed.summary)]
    texts += [(f"dimensions.{k}.justification", d.justification)
              for k, d in parsed.dimensions.items()]
    for i, q in enumerate(parsed.questions):
        texts += [(f"questions.{i}.{name}", getattr(q, name))
                  for name in ("question", "answer_summary", "strong", "improve")]
    for name in ("strengths", "improvements", "practice_plan"):
        texts += [(f"{name}.{i}", item) for i, item in enumerate(getattr(parsed, name))]
    return [where for where, text in texts if not text.strip()]


def parse_output(text: str, output_model: type[BaseModel]) -> ParsedEvaluation:
    """Check the model's text against ``output_model``; shorten over-long texts after a
    whole sentence or word, with an ellipsis. Quotes keep every word the model wrote
    (only their outer whitespace goes): :func:`vivavoce.evaluation.evidence.check_evidence`
    must judge all of a quote, not the part that would be shown.

    Raises :class:`MalformedOutput` (with a short reason, never the whole text) when it is
    not JSON of the right shape, or leaves a piece of feedback empty (three strengths,
    three improvements, a practice plan, a paragraph per dimension and feedback per
    question are always shown).
    """
    try:
        checked = output_model.model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        message = errors[0]["msg"] if errors else "?"
        raise MalformedOutput(
            f"the evaluation model's output does not match the schema "
            f"({exc.error_count()} problem(s), first at {where or '(top)'}: {message})"
        ) from None
    data = checked.model_dump(by_alias=True)
    parsed = ParsedEvaluation.model_validate(data)
    blank = _blank_fields(parsed)
    if blank:
        raise MalformedOutput(
            f"the evaluation model's output leaves {len(blank)} piece(s) of feedback "
            f"empty, first at {blank[0]}"
        )
    return ParsedEvaluation(
        summary=_trim(parsed.summary),
        dimensions={
            key: DimensionAssessment(score=d.score, justification=_trim(d.justification))
            for key, d in parsed.dimensions.items()
        },
        questions=[
            QuestionFeedback(
                question=_trim(q.question),
                question_turn=q.question_turn,
                answer_summary=_trim(q.answer_summary),
                strong=_trim(q.strong),
                improve=_trim(q.improve),
                quotes=[quote.strip() for quote in q.quotes],
            )
            for q in parsed.questions
        ],
        strengths=[_trim(s) for s in parsed.strengths],
        improvements=[_trim(s) for s in parsed.improvements],
        practice_plan=[_trim(s) for s in parsed.practice_plan],
    )
