"""The one error résumé intake raises."""

from __future__ import annotations

__all__ = ["ResumeError"]


class ResumeError(Exception):
    """The file cannot be used. ``status`` is the HTTP status to answer with, ``code`` a
    stable identifier, the message is written for the candidate."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
