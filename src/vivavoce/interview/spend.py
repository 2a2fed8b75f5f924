"""What one interview has used: tokens from each ``response.done`` and their price.

The running totals are what the browser's ``usage`` message shows and the metrics
count; each response's share is stored (``AddUsage``) as it arrives. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vivavoce.interview import browser_messages
from vivavoce.interview.actions import Action, AddUsage, SendJson
from vivavoce.pricing import TokenUsage


class Spend:
    """Totals of one interview. ``price``: a usage's cost in USD (None: not priced)."""

    def __init__(self, price: Callable[[TokenUsage], float | None] | None = None) -> None:
        self._price = price or (lambda _usage: None)
        self.usage = TokenUsage()
        self.cost_usd: float | None = None

    def response_done(self, raw_usage: Any) -> list[Action]:
        """One response's ``usage`` object (as the API sent it): stored and shown."""
        usage = TokenUsage.from_response_usage(raw_usage)
        if not usage.total:
            return []
        cost = self._price(usage)
        self.usage = self.usage + usage
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost
        return [AddUsage(usage, cost), SendJson(browser_messages.usage(self.usage, self.cost_usd))]
