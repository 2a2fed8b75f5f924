"""Deterministic words for the fake: the interviewer's lines and candidate transcripts."""

from __future__ import annotations

from vivavoce.testing.realtime_items import ConversationView

__all__ = ["default_responder", "default_transcript"]

_QUESTIONS = (
    "Can you walk me through a project you are proud of and the part you played in it?",
    "What was the hardest technical problem in it, and how did you approach it?",
    "Tell me about a time you disagreed with a teammate. How did you resolve it?",
    "How do you make sure your work is correct before you hand it over?",
    "What would you like to learn next, and why?",
)

_CANDIDATE_LINES = (
    "I am a final year student and I have been building web services for two years.",
    "The project I am proudest of is a scheduling tool I wrote for our student union.",
    "The hardest part was making the calendar sync reliable when two people edited at once.",
    "We talked it through, wrote down both options, and tried the simpler one first.",
    "I write tests first for anything tricky and I ask a colleague to review it.",
)


def default_transcript(user_turn: int) -> str:
    """What the fake 'hears' in the candidate's ``user_turn``-th turn (0-based)."""
    return _CANDIDATE_LINES[user_turn % len(_CANDIDATE_LINES)]


def default_responder(view: ConversationView) -> str:
    """A deterministic interviewer line from the turn count and the last answer.

    A session that continues an earlier conversation (``view.earlier_turns``: a resumed
    interview) is not greeted again: its first line welcomes the candidate back and
    repeats the open question or asks the next one, and later lines go on from there.
    """
    earlier = [(role, text) for role, text in view.earlier_turns if role in ("user", "assistant")]
    # The interviewer speaks first, so an earlier conversation had its opening line even
    # when it was not carried over (cut short before a word of it was kept).
    asked = max(1, sum(role == "assistant" for role, _ in earlier)) if earlier else 0
    # A question left unanswered by the drop is asked again, not counted twice.
    unanswered = bool(earlier) and (earlier[-1][0] == "assistant" or not earlier[-1][1].strip())
    asked += view.assistant_turns - unanswered
    if view.assistant_turns == 0 and earlier:
        if unanswered:
            return f"Welcome back. Let's pick up where we stopped: {_question(asked)}"
        return f"Welcome back, let's continue with the next question. {_question(asked)}"
    if asked == 0:
        return (
            "Hello, and thank you for joining today. To start, could you tell me a "
            "little about yourself?"
        )
    question = _question(asked)
    heard = (view.last_user_transcript or "").strip()
    if not heard:
        return f"Take your time. {question}"
    snippet = " ".join(heard.split()[:6]).rstrip(".,;:!?")
    return f"Thank you. You said {snippet}. {question}"


def _question(asked: int) -> str:
    """The question of the interviewer's line after ``asked`` earlier ones (the opening
    line, ``asked == 0``, asks the candidate about themselves)."""
    if asked == 0:
        return "Could you tell me a little about yourself?"
    return _QUESTIONS[(asked - 1) % len(_QUESTIONS)]
