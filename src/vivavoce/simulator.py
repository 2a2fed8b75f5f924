"""The built-in simulator: interviews without an OpenAI key.

With ``settings.use_simulator`` (no key outside production, or ``VIVAVOCE_SIMULATOR=1``)
the relay talks to the fake OpenAI server — the one the tests use — in *interviewer
mode*: its responder greets the candidate, then asks the question-bank questions the
interview was configured with, one per candidate turn. A resumed link interview (its
Realtime session seeded with the stored turns) is not greeted again: the simulator
welcomes the candidate back and goes on with the question that was open or the next
one, as the fake's default interviewer does. Its voice is a synthetic tone, and every
line it speaks, every page and every log line says it is the simulator.

The fake runs on its own loopback server (127.0.0.1, a free port) started with the app,
rather than mounted inside our app. That works however the app is served (any bind
address, behind a proxy, or an in-process test client without a socket), and the
simulator is never reachable from outside the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass

from vivavoce.testing import BackgroundServer, serve_in_background
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_openai import FakeOpenAI
from vivavoce.testing.realtime_items import ConversationView
from vivavoce.testing.scenarios import scenario_key

__all__ = [
    "SIMULATOR_KEY",
    "SIMULATOR_NOTICE",
    "Simulator",
    "interviewer_responder",
    "questions_from_instructions",
]

log = logging.getLogger("vivavoce.simulator")

# The key sent to the simulator when none is configured: plainly a test key, and one the
# fake accepts.
SIMULATOR_KEY = scenario_key("ok", "simulator")
SIMULATOR_NOTICE = (
    "SIMULATOR: interviews run against vivavoce's built-in simulator; the interviewer "
    "is not an AI. Set OPENAI_API_KEY to interview with OpenAI."
)

_QUESTION_LINE = re.compile(r"^\s*\d+\.\s+(.+?)\s*$")
_NAME_LINE = re.compile(r"^- Name: (.+)$", re.MULTILINE)


def questions_from_instructions(instructions: str) -> list[str]:
    """The numbered questions listed in the interviewer's instructions (see
    ``interview/instructions.py``), in order."""
    _, marker, tail = instructions.partition("Questions to draw from")
    if not marker:
        return []
    out: list[str] = []
    for line in tail.splitlines()[1:]:
        match = _QUESTION_LINE.match(line)
        if match:
            out.append(match.group(1))
    return out


@dataclass(frozen=True)
class _Earlier:
    """The conversation carried over from an earlier session (a resumed interview)."""

    resumed: bool
    answered: int
    """Candidate turns with words in them: counted as ``view.user_turns`` counts them."""
    open_question: bool
    """It ended on a question whose answer never came (or had no words in it)."""

    @classmethod
    def of(cls, view: ConversationView) -> _Earlier:
        turns = [(role, text.strip()) for role, text in view.earlier_turns
                 if role in ("user", "assistant")]
        if not turns:
            return cls(resumed=False, answered=0, open_question=False)
        last_role, last_text = turns[-1]
        return cls(
            resumed=True,
            answered=sum(role == "user" and bool(text) for role, text in turns),
            open_question=last_role == "assistant" or not last_text,
        )


def interviewer_responder(view: ConversationView) -> str:
    """What the simulated interviewer says next: one bank question per candidate turn,
    counting the turns of an earlier session when the interview resumed."""
    questions = questions_from_instructions(view.instructions) or [
        "Tell me about yourself and what you are studying.",
        "Describe a project you are proud of.",
        "What would you like to learn next?",
    ]
    name_match = _NAME_LINE.search(view.instructions)
    name = f", {name_match.group(1)}" if name_match else ""
    if view.response_instructions and "time for this interview is up" in view.response_instructions:
        return (f"Our time is up. Thank you{name}, that was the end of the interview. "
                "This was the vivavoce simulator. Goodbye!")
    earlier = _Earlier.of(view)
    index = earlier.answered + view.user_turns
    if view.assistant_turns == 0 and earlier.resumed:
        welcome = f"Welcome back{name}! This is still the vivavoce simulator."
        if index >= len(questions):
            return (f"{welcome} Those were all my questions. You can end the interview "
                    "whenever you are ready.")
        if earlier.open_question:
            return f"{welcome} Let's pick up where we stopped: {questions[index]}"
        return f"{welcome} Let's continue with the next question: {questions[index]}"
    if view.assistant_turns == 0:
        return (f"Hello{name}! I am the vivavoce simulator, standing in for an AI "
                f"interviewer. First question: {questions[0]}")
    if view.last_user_transcript == "":
        # An idle nudge: repeat the question still open.
        return f"Take your time. The question was: {questions[min(index, len(questions) - 1)]}"
    if index >= len(questions):
        return ("Thank you, those were all my questions. You can end the interview "
                "whenever you are ready.")
    return f"Thank you. Next question: {questions[index]}"


class Simulator:
    """The fake OpenAI server in interviewer mode, on a loopback port."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.fake = FakeOpenAI(config or FakeConfig(responder=interviewer_responder))
        self._stack = contextlib.ExitStack()
        self.server: BackgroundServer | None = None

    @property
    def base_url(self) -> str:
        """The REST base URL to give the SDK. Raises RuntimeError before start()."""
        if self.server is None:
            raise RuntimeError("the simulator is not running")
        return f"{self.server.http_url}/v1"

    async def start(self) -> None:
        """Start serving (in its own thread). Raises RuntimeError if it cannot start."""
        self.server = await asyncio.to_thread(
            self._stack.enter_context, serve_in_background(self.fake.app)
        )
        log.warning("%s (simulator at %s)", SIMULATOR_NOTICE, self.base_url)

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self.server is not None:
            self.server = None
            await asyncio.to_thread(self._stack.close)
