"""Transparent upstream recovery: which lost Realtime connections the interview rides
out, how often, and what the interviewer says when the new session takes over.

A connection lost without a fatal cause (no close frame: 1006; 1011 and its kin, which
include the keepalive timeout; 1001 going away, OpenAI's 60-minute limit among them;
a network error while reconnecting) is not the interview's end: the core goes from
``live`` to ``recovering``, the relay opens a new session seeded with the stored turns,
and the interview goes on. :class:`RecoveryBudget` bounds it (3 attempts within 60 s,
with backoff), after which today's retryable ending applies. Fatal causes (an in-band
3000 close, a bad key…) never come here. Pure: plain values in, plain values out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from openai.types.realtime import RealtimeClientEventParam

from vivavoce.interview import browser_messages
from vivavoce.interview.actions import (
    Action,
    AppendAudio,
    Log,
    ReconnectUpstream,
    SendJson,
    SendUpstream,
)
from vivavoce.interview.errors import UpstreamProblem

__all__ = [
    "Recovery",
    "RECOVERABLE_CLOSE_CODES",
    "Cut",
    "RecoveryBudget",
    "recoverable_close",
    "recovery_instructions",
]

# 1006: gone without a close frame (TCP drop, and how websockets reports a keepalive
# timeout seen from our side); 1011-1014: the server's own trouble (1011 is also sent on
# a keepalive timeout); 1001: going away (a restart, or the session's maximum duration).
RECOVERABLE_CLOSE_CODES = frozenset({1001, 1006, 1011, 1012, 1013, 1014})

# What the drop cut short: the interviewer's reply, the candidate's answer, or nothing.
Cut = Literal["reply", "answer"] | None

_REPLY = (
    "The connection to you dropped for a moment while you were speaking; the candidate "
    "is still here and heard only part of it. Do not greet them again: in one short "
    "sentence, repeat your last question briefly."
)
_ANSWER = (
    "The connection to you dropped for a moment while the candidate was answering; part "
    "of their answer may be missing. Do not greet them again: in one short sentence, ask "
    "them to finish their answer."
)
_NOTHING = (
    "The connection to you dropped for a moment; the candidate is still here. Do not "
    "greet them again: continue the interview where it stopped, repeating your last "
    "question briefly if it was not answered, otherwise asking the next one."
)


def recoverable_close(code: int | None) -> bool:
    """A close the interview recovers from (``None``: closed with no code known)."""
    return code is None or code in RECOVERABLE_CLOSE_CODES


def recovery_instructions(cut: Cut) -> str:
    """The new session's first response: what to say after the drop."""
    if cut == "reply":
        return _REPLY
    if cut == "answer":
        return _ANSWER
    return _NOTHING


@dataclass(slots=True)
class RecoveryBudget:
    """At most ``max_attempts`` recoveries within ``window_s``; the n-th waits
    ``backoff_s[n-1]`` (the last value repeats) before reconnecting."""

    max_attempts: int = 3
    window_s: float = 60.0
    backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0)
    _attempts: list[float] = field(default_factory=list)

    def next_delay(self, now: float) -> float | None:
        """The delay before the next attempt, or None when the budget is spent (the
        attempt is then not counted)."""
        self._attempts = [t for t in self._attempts if now - t < self.window_s]
        if len(self._attempts) >= self.max_attempts:
            return None
        self._attempts.append(now)
        index = min(len(self._attempts), len(self.backoff_s)) - 1
        return self.backoff_s[index] if index >= 0 else 0.0

    @property
    def attempts(self) -> int:
        """Attempts counted in the current window."""
        return len(self._attempts)


class Recovery:
    """One interview's recovery: its budget, since when it has been reconnecting, and
    what the new session's first response must say about the cut turn."""

    def __init__(self, budget: RecoveryBudget) -> None:
        self.budget = budget
        self.since: float | None = None
        self.instructions: str | None = None

    def overdue(self, now: float, timeout_s: float) -> bool:
        """The new session did not become ready in time."""
        return self.since is not None and now - self.since >= timeout_s

    def interrupted(self, actions: list[Action], cut: Cut) -> list[Action]:
        """The live conversation was cut by the drop (``Conversation.interrupt``)."""
        self.instructions = recovery_instructions(cut)
        return actions

    def reconnect(self, problem: UpstreamProblem, now: float, delay: float) -> list[Action]:
        self.since = now
        return [Log("warning", "the Realtime connection was lost; reconnecting", {
                    "close_code": problem.close_code, "close_reason": problem.close_reason,
                    "code": problem.code, "phase": problem.phase,
                    "attempt": self.budget.attempts, "delay_s": delay}),
                ReconnectUpstream(delay)]

    def recovered(self, interview_id: str | None, opening: Iterable[RealtimeClientEventParam],
                  kept_audio: Iterable[str]) -> list[Action]:
        """The new session is configured: seed it, send the audio kept meanwhile, tell
        the browser."""
        self.since = None
        return [*(SendUpstream(e) for e in opening), *(AppendAudio(c) for c in kept_audio),
                SendJson(browser_messages.interview_resumed(
                    interview_id=interview_id, attempt=self.budget.attempts)),
                Log("info", "interview recovered on a new Realtime session",
                    {"attempt": self.budget.attempts})]
