"""What one interview has used: tokens from each ``response.done`` and their price.

The running totals are what the browser's ``usage`` message shows and the metrics
count; each response's share is stored as it arrives: with the turn that the same
``response.done`` releases (``PersistTurn.usage``, one database session for both), or on
its own (``AddUsage``) when that response releases no turn. Nothing is held back for a
later step, so no ending, handover or restart has usage of this interview still to
write. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from vivavoce.interview import browser_messages
from vivavoce.interview.actions import Action, AddUsage, PersistTurn, SendJson
from vivavoce.pricing import TokenUsage


class Spend:
    """Totals of one interview. ``price``: a usage's cost in USD (None: not priced)."""

    def __init__(self, price: Callable[[TokenUsage], float | None] | None = None) -> None:
        self._price = price or (lambda _usage: None)
        self.usage = TokenUsage()
        self.cost_usd: float | None = None

    def response_done(self, raw_usage: Any, released: Sequence[Action] = ()) -> list[Action]:
        """One response's ``usage`` object (as the API sent it): stored and shown.
        ``released``: the actions the same ``response.done`` gives otherwise (its turns),
        returned after the usage's; the first turn among them carries the usage."""
        usage = TokenUsage.from_response_usage(raw_usage)
        if not usage.total:
            return list(released)
        cost = self._price(usage)
        self.usage = self.usage + usage
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost
        shown = SendJson(browser_messages.usage(self.usage, self.cost_usd))
        return [*ride_with_turn(AddUsage(usage, cost), [shown, *released])]


def ride_with_turn(add: AddUsage, actions: Sequence[Action]) -> list[Action]:
    """``actions`` with the first turn carrying ``add``; ``add`` first when none does.
    A usage write of its own costs about what a turn's does (a session, a connection
    checked out and given back, the autocommit switch): one per reply is saved."""
    for i, action in enumerate(actions):
        if isinstance(action, PersistTurn) and action.usage is None:
            return [*actions[:i], replace(action, usage=add), *actions[i + 1:]]
    return [add, *actions]
