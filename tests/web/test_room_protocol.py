"""The room handles only messages the server sends (docs/protocol.md), and every message
the server sends that the room must act on."""

from __future__ import annotations

import re
from pathlib import Path

from vivavoce.web.pages import STATIC_DIR

ROOT = Path(__file__).resolve().parents[2]


def server_messages() -> set[str]:
    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = doc.split("## Server → client", 1)[1].split("\n## ", 1)[0]
    table = section.split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)`", table, flags=re.MULTILINE))


def room_cases() -> set[str]:
    source = (STATIC_DIR / "js" / "room.js").read_text(encoding="utf-8")
    handler = source.split("function onJson(message) {", 1)[1].split("\n}\n", 1)[0]
    return set(re.findall(r'case "([a-z_]+)":', handler))


def test_the_room_handles_only_messages_the_server_sends() -> None:
    sent = server_messages()
    assert {"connected", "interview_started", "ai_audio_clear", "interview_ended"} <= sent
    handled = room_cases()
    assert handled - sent == set(), "room.js handles messages the server never sends"
    # What the room must act on to work at all.
    needed = {"connected", "interview_starting", "interview_started", "ai_transcription",
              "student_speech_started", "student_transcription_delta",
              "student_transcription", "ai_audio_clear", "error", "interview_ended"}
    assert needed <= handled
