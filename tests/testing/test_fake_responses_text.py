"""The fake's evaluation texts are shortened the way a writer would: whole words, whole
sentences where they fit, an ellipsis when something was left out."""

from __future__ import annotations

import re

import openai
import pytest

from tests.fixtures.fake_openai import RunningFake
from vivavoce.evaluation.output import build_output_model, parse_output
from vivavoce.evaluation.prompt import build_prompt
from vivavoce.evaluation.rubric import load_rubric
from vivavoce.evaluation.transcript import TranscriptLine
from vivavoce.testing.fake_responses import shorten
from vivavoce.testing.scenarios import scenario_key

LONG_ANSWER = (
    "I built a weather station with my sister for our school's science fair. It logs the "
    "temperature, the humidity and the air pressure every minute, e.g. during storms, and "
    "sends them to a small web page. The hardest part was the battery, which died in the "
    "cold, so we added a solar panel and a bigger battery pack."
)
LONG_QUESTION = (
    "Thinking about the project you described, and about the people you worked with on it, "
    "could you walk me through the single hardest technical decision you had to make, what "
    "options you weighed, and how you would judge that decision today, with hindsight?"
)


def _check_shortened(original: str, short: str, limit: int) -> None:
    """``short`` is ``original`` cut at a word boundary, marked with an ellipsis."""
    assert len(short) <= limit
    assert short.endswith("…")
    kept = short.removesuffix("…").rstrip()
    assert kept and original.startswith(kept)
    # The cut falls between words (the original goes on with a space, or with the
    # punctuation that the cut dropped before the space).
    rest = original[len(kept):]
    assert re.match(r"[,;:\-–—]*\s", rest), (kept, rest[:20])


@pytest.mark.parametrize("limit", range(12, len(LONG_ANSWER), 7))
def test_a_long_text_is_cut_between_words_with_an_ellipsis(limit: int) -> None:
    _check_shortened(LONG_ANSWER, shorten(LONG_ANSWER, limit), limit)


def test_whole_sentences_are_kept_when_they_fill_most_of_the_room() -> None:
    first = LONG_ANSWER.index(" It logs")
    assert shorten(LONG_ANSWER, first + 20) == LONG_ANSWER[:first] + " …"
    # "e.g." is not the end of a sentence.
    short = shorten(LONG_ANSWER, LONG_ANSWER.index(" during") + 10)
    assert not short.endswith("e.g. …") and short.endswith("…")


def test_texts_that_fit_are_left_alone_and_one_giant_word_is_still_bounded() -> None:
    assert shorten("I built it.", 160) == "I built it."
    assert shorten("  spaced   out  ", 160) == "spaced out"
    assert shorten("x" * 50, 10) == "x" * 9 + "…"


async def test_evaluation_summaries_end_on_whole_words(fake_openai: RunningFake) -> None:
    rubric = load_rubric()
    lines = [
        TranscriptLine(1, "interviewer", LONG_QUESTION),
        TranscriptLine(2, "candidate", LONG_ANSWER),
        TranscriptLine(3, "interviewer", "What went wrong?"),
        TranscriptLine(4, "candidate", "The battery died in the cold."),
    ]
    prompt = build_prompt(rubric, lines, candidate={"major": "Physics", "year": "2"})
    async with openai.AsyncOpenAI(
        api_key=scenario_key("ok"), base_url=fake_openai.base_url, max_retries=0, timeout=10
    ) as sdk:
        response = await sdk.responses.parse(
            model="gpt-5-mini", instructions=prompt.instructions, input=prompt.input,
            text_format=build_output_model(rubric), parse_as=None,
        )
    parsed = parse_output(response.output_text, build_output_model(rubric))
    long_one, short_one = parsed.questions
    assert len(LONG_QUESTION) > 200 and len(LONG_ANSWER) > 160
    _check_shortened(LONG_QUESTION, long_one.question, 200)
    summary = long_one.answer_summary.removeprefix("You answered: ")
    assert summary != long_one.answer_summary
    _check_shortened(LONG_ANSWER, summary, 160)
    # Short ones are whole, with no ellipsis.
    assert short_one.question == "What went wrong?"
    assert short_one.answer_summary == "You answered: The battery died in the cold."
