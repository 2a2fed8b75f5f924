"""A stored interview's transcript as plain text or Markdown (downloads for people).

Times are shown relative to the interview's start (``[02:15]``) when known. Turn text is
what the speaker said; in Markdown it is escaped so a candidate's words cannot turn into
headings, links or HTML in whatever renders the file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from vivavoce.store.models import Interview, Turn

__all__ = ["transcript_filename", "transcript_markdown", "transcript_text"]

_SPEAKER = {"interviewer": "Interviewer", "candidate": "Candidate"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


def _offset(turn: Turn, start: datetime | None) -> str:
    if start is None or turn.started_at is None:
        return ""
    seconds = max(0, int((turn.started_at - start).total_seconds()))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _note(turn: Turn) -> str:
    return "" if turn.state == "complete" else f" ({turn.state})"


def _name(interview: Interview) -> str:
    name = interview.candidate.get("name") if isinstance(interview.candidate, dict) else None
    return str(name) if name else "candidate"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "not started"


def transcript_text(interview: Interview, turns: Sequence[Turn]) -> str:
    """Plain text, one turn per paragraph."""
    lines = [
        f"Interview with {_name(interview)}",
        f"Started: {_when(interview.started_at)}   Status: {interview.status}",
        f"Interview id: {interview.id}",
        "",
    ]
    for turn in turns:
        stamp = _offset(turn, interview.started_at)
        prefix = f"[{stamp}] " if stamp else ""
        lines.append(f"{prefix}{_SPEAKER.get(turn.speaker, turn.speaker)}{_note(turn)}: {turn.text}")
        lines.append("")
    if not turns:
        lines.append("(no turns recorded)")
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def transcript_markdown(interview: Interview, turns: Sequence[Turn]) -> str:
    """Markdown with a small header and one paragraph per turn."""
    out = [
        f"# Interview with {_md(_name(interview))}",
        "",
        f"- **Started:** {_when(interview.started_at)}",
        f"- **Status:** {interview.status}",
        f"- **Interview id:** `{interview.id}`",
        "",
    ]
    for turn in turns:
        stamp = _offset(turn, interview.started_at)
        label = f"**{_SPEAKER.get(turn.speaker, turn.speaker)}**{_note(turn)}"
        out.append(f"{label} _{stamp}_  " if stamp else f"{label}  ")
        out.append(_md(turn.text).replace("\n", "  \n"))
        out.append("")
    if not turns:
        out.append("_No turns recorded._")
    return "\n".join(out).rstrip() + "\n"


def transcript_filename(interview: Interview, extension: str) -> str:
    """A safe download name such as ``interview-1a2b3c4d-2026-11-02.md``."""
    day = (interview.started_at or interview.created_at).strftime("%Y-%m-%d")
    return f"interview-{interview.id[:8]}-{day}.{extension}"
