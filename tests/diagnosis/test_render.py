"""The doctor's human output: every check, the key's mask, causes with fixes; colour on demand."""

from __future__ import annotations

from vivavoce.diagnosis.render import render_text
from vivavoce.diagnosis.report import Check, DoctorReport, KeyInfo


def report(causes: list[str], *, failed: bool = True) -> DoctorReport:
    checks = [
        Check("configuration", "pass", "platform railway", 1),
        Check("key", "pass", "sk-proj-…wxyz", 0),
        Check("models", "fail" if failed else "pass", "HTTP 401 invalid_api_key", 120),
        Check("realtime", "skip", "the key was refused"),
    ]
    return DoctorReport(checks, KeyInfo("OPENAI_API_KEY from the environment", "project", "sk-proj-…wxyz", "1a2b3c4d"), "railway", causes)


def test_plain_text_lists_checks_key_and_fix() -> None:
    text = render_text(report(["key_invalid"]))
    assert "\x1b[" not in text
    assert "✘ models" in text and "120 ms" in text and "– realtime" in text
    assert "sk-proj-…wxyz (project), fingerprint 1a2b3c4d" in text
    assert "[key_invalid]" in text and "How to fix it:" in text
    assert "1. " in text and "Railway" in text  # steps for the detected platform


def test_colour_when_asked() -> None:
    text = render_text(report(["key_invalid"]), colour=True)
    assert "\x1b[31m" in text  # red for the failure
    assert "\x1b[32m" in text  # green for a pass


def test_healthy_and_unrecognised_endings() -> None:
    assert render_text(report([], failed=False)).endswith("All checks passed.")
    assert "does not recognise" in render_text(report([], failed=True))
    assert report([], failed=True).exit_code == 2
    assert report(["key_invalid"]).exit_code == 1
    assert report([], failed=False).exit_code == 0
