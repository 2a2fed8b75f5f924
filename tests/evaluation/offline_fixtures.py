"""Answers with known qualities, for the offline evaluator's tests.

Each is an answer a careful reader would place without hesitation: STAR (a whole story
with numbers), specific (numbers and named tools, no story), vague (hedges and
generalities), off-topic (fluent and even specific, but about something else) and very
short. They answer the same question, so only the answers differ.
"""

from __future__ import annotations

from vivavoce.evaluation.transcript import TranscriptLine

__all__ = ["ANSWERS", "LONG_PLAIN", "QUESTION", "RANKED", "VARIED", "transcript"]

QUESTION = "Thanks for joining. Tell me about a project you are proud of, and what you did on it?"

ANSWERS = {
    "star": (
        "Last spring, in my second year, our lab had no way to book equipment and students "
        "waited an hour for a microscope. My task was to build a booking system in four "
        "weeks. I designed the database schema, I wrote the Flask API and I tested it with "
        "ten classmates. As a result, waiting time dropped from an hour to ten minutes and "
        "the lab still uses it."
    ),
    "specific": (
        "I built a course scheduling app in Python with Django and PostgreSQL for 300 "
        "students; the project handled 40 lab rooms and cut timetable clashes from 40 to 3."
    ),
    "vague": (
        "I think it was maybe a project with the team, um, we did a lot of stuff and I guess "
        "it went kind of okay, you know, basically it was fine in the end."
    ),
    "off_topic": (
        "I really enjoy playing football at the weekends, and my favourite club is Arsenal, "
        "who won the league without losing a game in 2004 with my favourite player Thierry "
        "Henry."
    ),
    "very_short": "Yes, I did.",
}

# Best first, as a careful reader ranks them: a full story, then plain specifics; a vague
# answer on topic beats a fluent one about football; three words say least.
RANKED = ["star", "specific", "vague", "off_topic", "very_short"]


LONG_PLAIN = (
    "The compiler has 3 passes, a parser in Python, a checker and a generator for a stack "
    "machine with 40 instructions; the whole thing is about 2000 lines with 150 tests. "
    "Random programs are compared with a reference interpreter on every change to it.")

# Interviews of different make, as (answers, language): every kind of answer; two strong
# ones; three weak ones; plain specifics without a story (one cut short); German.
VARIED: list[tuple[tuple[str, ...], str]] = [
    (tuple(ANSWERS.values()), "en"),
    ((ANSWERS["star"], ANSWERS["specific"]), "en"),
    ((ANSWERS["vague"], ANSWERS["very_short"], ANSWERS["off_topic"]), "en"),
    ((LONG_PLAIN, LONG_PLAIN.replace("3 passes", "4 passes"), LONG_PLAIN[:120] + "."), "en"),
    (("Ich habe eine App mit Python gebaut. Die Wartezeit sank von 60 auf 10 Minuten.",
      "Vielleicht, ich weiß es nicht genau."), "de"),
]


def transcript(*answers: str, question: str = QUESTION) -> list[TranscriptLine]:
    """Interviewer question / candidate answer pairs, numbered from 1."""
    lines: list[TranscriptLine] = []
    for answer in answers:
        lines.append(TranscriptLine(len(lines) + 1, "interviewer", question))
        lines.append(TranscriptLine(len(lines) + 1, "candidate", answer))
    return lines
