"""The evidence check: quotes must be the candidate's words, as transcribed."""

from __future__ import annotations

import pytest

from tests.evaluation.helpers import LONG_ANSWER
from vivavoce.evaluation.evidence import check_evidence, find_quote, normalise
from vivavoce.evaluation.output import (
    MAX_QUOTE,
    DimensionAssessment,
    ParsedEvaluation,
    QuestionFeedback,
)
from vivavoce.evaluation.transcript import TranscriptLine

LINES = [
    TranscriptLine(1, "interviewer", "Tell me about a time you led a team."),
    TranscriptLine(2, "candidate", "I led   a team of four.\nWe shipped the app on time, and it's used daily."),
    TranscriptLine(4, "candidate", "The “hardest” part was the database — it kept locking."),
]


@pytest.mark.parametrize(
    ("quote", "turn"),
    [
        ("I led a team of four.", 2),
        ("i LED a team   of four", 2),  # case and whitespace
        ("\"We shipped the app on time\"", 2),  # surrounding quotation marks
        ("it’s used daily", 2),  # typographic apostrophe
        ('The "hardest" part was the database - it kept locking', 4),  # quotes and dashes
        ("I led … shipped the app", 2),  # ellipsis: pieces in order
        ("I led... it's used daily", 2),
        ("shipped the app ... I led", None),  # pieces out of order
        ("I led a team of five", None),  # changed word
        ("Tell me about a time you led a team", None),  # the interviewer's words
        ("four. We shipped", 2),  # across a sentence, within one turn
        ("used daily. The hardest part", None),  # across two turns
        ("   ", None),
        ("…", None),
    ],
)
def test_find_quote(quote: str, turn: int | None) -> None:
    candidate_lines = [line for line in LINES if line.speaker == "candidate"]
    assert find_quote(quote, candidate_lines) == turn


def test_normalise_folds_only_presentation() -> None:
    assert normalise("  It’s\tA  “Test” —  OK ") == 'it\'s a "test" - ok'


def _evaluation(*quotes: list[str]) -> ParsedEvaluation:
    return ParsedEvaluation(
        summary="s",
        dimensions={"x": DimensionAssessment(score=3, justification="j")},
        questions=[
            QuestionFeedback(question="q", question_turn=1, answer_summary="a", strong="s",
                             improve="i", quotes=list(q))
            for q in quotes
        ],
        strengths=["a", "b", "c"], improvements=["a", "b", "c"], practice_plan=["a", "b", "c"],
    )


def test_invented_quotes_are_dropped_and_counted() -> None:
    report = check_evidence(
        _evaluation(
            ["I led a team of four", "I tripled revenue"],
            ["Tell me about a time you led a team", "kept locking", ""],
        ),
        LINES,
    )
    # A phrase from mid-sentence is shown with an ellipsis where it was cut.
    assert [[q.text for q in kept] for kept in report.quotes] == [
        ["I led a team of four"], ["…kept locking"]
    ]
    assert [q.turn for q in report.quotes[1]] == [4]
    assert report.checked == 4  # the empty quote is not evidence of anything
    assert report.invented == 2
    assert report.kept == 2
    assert report.invented_share == 0.5
    assert report.invented_examples == ["I tripled revenue", "Tell me about a time you led a team"]


def test_no_quotes_means_nothing_invented() -> None:
    report = check_evidence(_evaluation([]), LINES)
    assert (report.checked, report.invented, report.invented_share) == (0, 0, 0.0)


# --- quotes longer than is shown ----------------------------------------------------------

LONG_LINES = [
    TranscriptLine(1, "interviewer", "Tell me about a project you are proud of."),
    TranscriptLine(2, "candidate", LONG_ANSWER),
]


def test_a_long_true_quote_is_kept_and_shown_shortened_between_words() -> None:
    assert len(LONG_ANSWER) > MAX_QUOTE
    report = check_evidence(_evaluation([LONG_ANSWER]), LONG_LINES)
    assert (report.checked, report.invented) == (1, 0)
    [shown] = report.quotes[0]
    assert shown.turn == 2 and len(shown.text) <= MAX_QUOTE and shown.text.endswith("…")
    kept = shown.text.removesuffix("…").rstrip()
    assert LONG_ANSWER.startswith(kept) and LONG_ANSWER[len(kept)] == " "
    # The ellipsis does not make the shown quote look invented: checked again, it is found
    # in the same turn.
    assert find_quote(shown.text, LONG_LINES) == 2


def test_words_made_up_beyond_what_is_shown_still_count_as_invented() -> None:
    # The first MAX_QUOTE characters are the candidate's; what follows is not. Shortening
    # first would have hidden the invention.
    padded = LONG_ANSWER.replace(" which was more", " and the dean gave me an award, which was more")
    assert padded.index("dean") > MAX_QUOTE
    report = check_evidence(_evaluation([padded, "three hundred students used it"]), LONG_LINES)
    assert (report.checked, report.invented) == (2, 1)
    assert [q.text for q in report.quotes[0]] == ["…three hundred students used it…"]
    example = report.invented_examples[0]
    assert len(example) <= 120 and example.endswith("…")
    kept = example.removesuffix("…").rstrip()
    assert padded.startswith(kept) and padded[len(kept)] in " ,;:"


# --- shown once, on its own line, with its cuts marked ------------------------------------

TWICE = [
    TranscriptLine(1, "interviewer", "What did you build?"),
    TranscriptLine(2, "candidate", "I wrote the tests first. Then the parser."),
    TranscriptLine(3, "interviewer", "And at your internship?"),
    TranscriptLine(4, "candidate", "Again I wrote the tests first, because the code was old."),
]


def _asked(turn: int, *quotes: str) -> QuestionFeedback:
    return QuestionFeedback(question="q", question_turn=turn, answer_summary="a", strong="s",
                            improve="i", quotes=list(quotes))


def test_a_phrase_said_twice_links_to_the_answer_it_was_quoted_for() -> None:
    evaluation = _evaluation()
    evaluation.questions = [_asked(1, "I wrote the tests first"), _asked(3, "I wrote the tests first, because the code was old")]
    report = check_evidence(evaluation, TWICE)
    assert [[q.turn for q in kept] for kept in report.quotes] == [[2], [4]]


def test_a_quote_repeated_for_another_question_is_shown_once() -> None:
    evaluation = _evaluation()
    evaluation.questions = [_asked(1, "Then the parser."), _asked(3, "then the parser")]
    report = check_evidence(evaluation, TWICE)
    assert [[q.text for q in kept] for kept in report.quotes] == [["Then the parser."], []]
    assert (report.checked, report.invented) == (2, 0)  # true, only not repeated


@pytest.mark.parametrize(
    ("quote", "shown"),
    [
        ("I wrote the tests first.", "I wrote the tests first."),  # a whole sentence
        ("I wrote the tests", "I wrote the tests…"),  # stops mid-sentence
        ("the tests first", "…the tests first"),  # starts mid-sentence, ends at its end
        ("the tests", "…the tests…"),
        ("Then the parser", "Then the parser"),  # ends where the turn ends
    ],
)
def test_cut_quotes_show_an_ellipsis_and_still_match(quote: str, shown: str) -> None:
    evaluation = _evaluation()
    evaluation.questions = [_asked(1, quote)]
    [[kept]] = check_evidence(evaluation, TWICE).quotes
    assert kept.text == shown
    assert find_quote(kept.text, TWICE[1:2]) == 2
