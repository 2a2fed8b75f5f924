"""Logging set-up: text or JSON lines, the level, and key redaction everywhere.

``setup_logging(settings)`` configures the root logger once for the process (the CLI
calls it before the server starts; uvicorn is run with ``log_config=None`` so its
loggers propagate here). Every record passes through :class:`~vivavoce.redact.
RedactingFilter`. JSON lines carry the ``interview_id`` of the interview being served
when the relay has set :data:`interview_id_var`.

Interview tokens are masked too, in every line both formatters write (uvicorn's access
lines and WebSocket lines included): a token is the candidate's whole credential, and a
log reader must not be able to open the interview with it. See
:func:`mask_interview_tokens`.

No per-frame logging anywhere: one line per event that matters (connect, end, error).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from vivavoce.config import Settings
from vivavoce.redact import install_redaction, redact, register_secret

__all__ = [
    "JsonFormatter",
    "TextFormatter",
    "interview_id_var",
    "mask_interview_tokens",
    "setup_logging",
]

# Set by the relay for the lifetime of one interview's tasks; read by the formatters.
interview_id_var: ContextVar[str | None] = ContextVar("vivavoce_interview_id", default=None)

_HANDLER_NAME = "vivavoce"

# Where an interview token travels in a URL: the candidate link ``/i/{token}`` and the
# ``token`` query parameter (the room, the results page, the API, ``/voice``). A token is
# URL-safe base64 with a dot (itsdangerous); percent escapes are taken in too.
_LINK_TOKEN_RE = re.compile(r"(/i/)([A-Za-z0-9_\-.~%]{5,})")
_QUERY_TOKEN_RE = re.compile(r"([?&]token=)([^&#\s\"'<>]+)")

# Standard LogRecord attributes: anything else on a record came from ``extra=``.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "interview_id",
    "iid",
    "_vivavoce_redacted",
    "color_message",  # uvicorn's copy of the message with terminal colour codes
}


def _mask_token(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)[:4]}…"


def mask_interview_tokens(text: str) -> str:
    """``text`` with each interview token in a URL cut to its first 4 characters and "…"
    (``/i/eyJp…``, ``?token=eyJp…``): enough to tell a link from a missing one, useless
    for opening the interview. Idempotent; never raises."""
    if "/i/" not in text and "token=" not in text:
        return text
    text = _LINK_TOKEN_RE.sub(_mask_token, text)
    return _QUERY_TOKEN_RE.sub(_mask_token, text)


def _clean(text: str) -> str:
    """What every piece of a written line goes through: key redaction, token masking."""
    return mask_interview_tokens(redact(text))


class _InterviewIdFilter(logging.Filter):
    """Stamp the current interview id on the record (the formatters print it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "interview_id", None) is None:
            record.interview_id = interview_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, interview_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _clean(record.getMessage()),
        }
        interview_id = getattr(record, "interview_id", None)
        if interview_id:
            entry["interview_id"] = interview_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else _clean(
                    str(value)
                )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = _clean(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger [interview] message`` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s%(iid)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        interview_id = getattr(record, "interview_id", None)
        record.iid = f" [{interview_id}]" if interview_id else ""
        return _clean(super().format(record))


def setup_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Configure the root logger from ``settings`` and install redaction everywhere.

    Idempotent: calling it again replaces our handler rather than adding a second one.
    Returns the handler (tests read what it wrote). Never raises for a bad
    ``VIVAVOCE_LOG_LEVEL``: it falls back to INFO and says so in the log.
    """
    level_name = settings.log_level.strip().upper()
    level = logging.getLevelNamesMapping().get(level_name)
    bad_level = level is None
    if level is None:
        level = logging.INFO
    # The configured secrets are masked even when they have no recognisable shape (an
    # Azure-style key, an admin token someone pasted into a URL).
    for secret in (settings.openai_api_key, settings.admin_token, settings.secret_key):
        if secret is not None:
            register_secret(secret.get_secret_value())

    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
            existing.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        JsonFormatter() if settings.effective_log_format == "json" else TextFormatter()
    )
    handler.addFilter(_InterviewIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn configures its own handlers unless told not to; ours must win, so its
    # loggers propagate to the root (the serve command passes log_config=None too).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Chatty clients log request lines (and headers at DEBUG); keep them at WARNING
    # unless we are debugging ourselves.
    for name in ("httpx", "httpcore", "httpx2", "httpcore2", "websockets", "openai"):
        logging.getLogger(name).setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    install_redaction()
    if bad_level:
        logging.getLogger("vivavoce").warning(
            "VIVAVOCE_LOG_LEVEL=%r is not a level (use DEBUG, INFO, WARNING or ERROR); "
            "logging at INFO",
            settings.log_level,
        )
    return handler
