"""The live doctor's last report, kept so ``/api/diagnostics`` cannot hammer OpenAI.

A report younger than :data:`CACHE_SECONDS` is served again; ``?refresh=1`` reruns the
doctor sooner, but never on a report younger than :data:`REFRESH_SECONDS`. One cache per
running service (``Runtime.diagnostics``); a key reload invalidates it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from vivavoce.diagnosis.report import DoctorReport

__all__ = ["CACHE_SECONDS", "REFRESH_SECONDS", "DiagnosticsCache"]

CACHE_SECONDS = 300.0
REFRESH_SECONDS = 30.0


@dataclass
class DiagnosticsCache:
    """The last doctor report and when it was made; one run at a time."""

    report: DoctorReport | None = None
    made_at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def needs_run(self, now: float, *, refresh: bool) -> bool:
        age = now - self.made_at
        if self.report is None or age >= CACHE_SECONDS:
            return True
        return refresh and age >= REFRESH_SECONDS

    def invalidate(self) -> None:
        """Forget the report (e.g. after a key reload); the next call reruns the doctor."""
        self.report = None
        self.made_at = float("-inf")
