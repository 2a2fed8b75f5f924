"""The doctor's human output: readable at a glance, coloured on a terminal."""

from __future__ import annotations

import typer

from vivavoce.diagnosis.catalogue import CAUSES
from vivavoce.diagnosis.report import CheckStatus, DoctorReport
from vivavoce.redact import redact

__all__ = ["render_text"]

_MARKS: dict[CheckStatus, tuple[str, str]] = {
    "pass": ("✔", typer.colors.GREEN),
    "warn": ("!", typer.colors.YELLOW),
    "fail": ("✘", typer.colors.RED),
    "skip": ("–", typer.colors.BRIGHT_BLACK),
}


def render_text(report: DoctorReport, *, colour: bool = False) -> str:
    """The report as lines of text (ANSI colours only when ``colour``)."""

    def paint(text: str, fg: str, bold: bool = False) -> str:
        return typer.style(text, fg=fg, bold=bold) if colour else text

    lines = [paint("vivavoce doctor", typer.colors.BRIGHT_WHITE, bold=True) + f" ({report.platform})", ""]
    width = max(len(c.name) for c in report.checks)
    for check in report.checks:
        mark, fg = _MARKS[check.status]
        ms = f"{check.ms:>5} ms" if check.status != "skip" else " " * 8
        lines.append(
            f"  {paint(mark, fg, bold=True)} {check.name:<{width}}  {ms}  {redact(check.detail)}"
        )
    key = report.key
    lines.append("")
    if key.masked:
        lines.append(
            f"  key: {key.masked} ({key.type}), fingerprint {key.fingerprint}, {key.source}"
        )
    else:
        lines.append("  key: not set")
    lines.append("")
    if not report.causes:
        if report.ok:
            lines.append(paint("All checks passed.", typer.colors.GREEN, bold=True))
        else:
            lines.append(
                paint("A check failed for a reason the doctor does not recognise; "
                      "see the details above.", typer.colors.RED, bold=True)
            )
        return "\n".join(lines)
    plural = "s" if len(report.causes) > 1 else ""
    lines.append(paint(f"Diagnosis — {len(report.causes)} cause{plural}:", typer.colors.RED, bold=True))
    for cause_id in report.causes:
        cause = CAUSES[cause_id]
        lines.append("")
        lines.append("  " + paint(f"{cause.title}", typer.colors.RED, bold=True) + f"  [{cause.id}]")
        lines.append(f"    {cause.explanation}")
        lines.append("    How to fix it:")
        for number, step in enumerate(cause.fix(report.platform), start=1):
            lines.append(f"      {number}. {step}")
    return "\n".join(lines)
