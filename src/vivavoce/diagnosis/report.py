"""What the doctor found: checks, causes and the key's safe description.

Plain data plus :meth:`DoctorReport.to_json`, the shape every consumer relies on
(``doctor --json``, ``/api/diagnostics``, the setup page)::

    {"ok": bool,
     "checks": [{"name", "status": "pass|warn|fail|skip", "detail", "ms"}],
     "causes": [{"id", "title", "explanation", "fix": [steps]}],
     "key": {"source", "type", "masked", "fingerprint"}}

Every string goes through :func:`~vivavoce.redact.redact` on the way out, as a last
line of defence: details quote OpenAI's messages, and those echo the key half-masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from vivavoce.config import Platform
from vivavoce.diagnosis.catalogue import CAUSES
from vivavoce.redact import redact

__all__ = ["Check", "CheckStatus", "DoctorReport", "KeyInfo"]

CheckStatus = Literal["pass", "warn", "fail", "skip"]


@dataclass
class Check:
    """One step of the doctor; ``cause`` is the catalogue id it points at, if any."""

    name: str
    status: CheckStatus
    detail: str
    ms: int = 0
    cause: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": redact(self.detail), "ms": self.ms}


@dataclass(frozen=True)
class KeyInfo:
    """The key as it may be shown: where it came from, its type, mask and fingerprint."""

    source: str | None
    type: str
    masked: str | None
    fingerprint: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "type": self.type,
            "masked": redact(self.masked) if self.masked else None,
            "fingerprint": self.fingerprint,
        }


@dataclass
class DoctorReport:
    """The doctor's result. ``causes`` holds catalogue ids, most relevant first."""

    checks: list[Check]
    key: KeyInfo
    platform: Platform
    causes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Healthy: no cause found and no check failed."""
        return not self.causes and not any(c.status == "fail" for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 a cause was found, 2 something failed that we cannot name."""
        if self.causes:
            return 1
        return 0 if self.ok else 2

    def to_json(self) -> dict[str, Any]:
        causes = []
        for cause_id in self.causes:
            cause = CAUSES[cause_id]
            causes.append(
                {
                    "id": cause.id,
                    "title": cause.title,
                    "explanation": cause.explanation,
                    "fix": cause.fix(self.platform),
                }
            )
        return {
            "ok": self.ok,
            "checks": [c.to_json() for c in self.checks],
            "causes": causes,
            "key": self.key.to_json(),
        }
