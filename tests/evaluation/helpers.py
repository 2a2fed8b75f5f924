"""Shared test data for the evaluation tests: interviews with real transcripts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.store import interviews as store
from vivavoce.store.database import Database

__all__ = ["GOOD_TRANSCRIPT", "LONG_ANSWER", "SHORT_TRANSCRIPT", "make_interview"]

Speaker = Literal["interviewer", "candidate"]

GOOD_TRANSCRIPT: list[tuple[Speaker, str]] = [
    ("interviewer", "Hello Ada, thanks for joining. Tell me about a project you are proud of."),
    (
        "candidate",
        "Last spring I led a team of four students building a course scheduling app. "
        "I split the work into two-week sprints and set up automated tests. "
        "We shipped on time and 300 students used it in the first month.",
    ),
    ("interviewer", "What was the hardest problem you solved on that project?"),
    (
        "candidate",
        "The hardest part was timetable conflicts between labs. "
        "I modelled it as a graph colouring problem and used a greedy heuristic. "
        "That cut the clashes from about forty to three.",
    ),
    ("interviewer", "Why do you want this internship?"),
    (
        "candidate",
        "I want to learn how large systems are run in production. "
        "Your team's work on developer tools is exactly what I enjoyed most in my project.",
    ),
]

SHORT_TRANSCRIPT: list[tuple[Speaker, str]] = [
    ("interviewer", "Hello, tell me about yourself."),
    ("candidate", "Um, hi."),
]


async def make_interview(
    db: Database,
    turns: list[tuple[Speaker, str]],
    *,
    status: Literal["ended", "failed", "live", "created"] = "ended",
    level: str = "3rd year",
) -> str:
    """Store an interview with ``turns`` through the storage API; returns its id."""
    now = datetime.now(UTC)
    async with db.session() as s:
        interview = await store.create_interview(
            s,
            candidate=CandidateContext.model_validate(
                {"name": "Ada", "major": "Computer Science", "year": level,
                 "targetRole": "Software engineering intern"}
            ),
            settings=InterviewSettings(model="gpt-realtime", voice="marin", max_duration_s=600),
        )
        interview_id = interview.id
        if status != "created":
            await store.mark_live(s, interview_id, at=now)
        for sequence, (speaker, text) in enumerate(turns, start=1):
            await store.add_turn(
                s, interview_id=interview_id, sequence=sequence, speaker=speaker, text=text,
                started_at=now, ended_at=now, audio_ms=1000, item_id=f"item_{sequence}",
                state="complete",
            )
        if status in ("ended", "failed"):
            await store.mark_ended(s, interview_id, status=status, reason="test", at=now)
    return interview_id


# An answer longer than a quote is shown (MAX_QUOTE), all of it true.
LONG_ANSWER = (
    "Last spring I led a team of four students building a course scheduling app for our "
    "faculty, and I split the work into two-week sprints with a short demo at the end of "
    "each one, so that the lecturers who would use it could tell us early what was wrong. "
    "I also set up automated tests for the timetable rules, because the first version "
    "broke every time somebody changed a room, and a broken timetable means students "
    "missing labs. We shipped on time and three hundred students used it in the first "
    "month, which was more than the faculty expected."
)
