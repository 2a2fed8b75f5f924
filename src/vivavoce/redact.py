"""Never leak the key: replace anything shaped like an OpenAI secret with its mask.

:func:`redact` is used on every error path (HTTP error bodies, CLI messages, the
doctor's details); :class:`RedactingFilter` does the same for log records, and
:func:`install_redaction` puts it everywhere a record can leave the process.

What is masked:

* ``sk-…`` keys of every kind (project, service account, admin, legacy, test, and other
  providers' ``sk-ant-``/``sk-or-``), including OpenAI's own half-masked echo
  ``sk-proj-****…abcd`` from "Incorrect API key provided" messages;
* ephemeral Realtime secrets ``ek_…``;
* webhook signing secrets ``whsec_…`` (Standard Webhooks), kept to ``whsec_…`` and their
  last four characters;
* the token after ``Bearer`` (whatever it is: it is a credential by definition);
* any exact secret registered with :func:`register_secret` (the configured key, even
  when it has no recognisable shape, such as a 32-hex Azure key).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from vivavoce.keys import key_prefix, mask_key

__all__ = [
    "LOGGERS",
    "RedactingFilter",
    "install_redaction",
    "mask_webhook_secret",
    "redact",
    "register_secret",
]

# Loggers whose records may carry a key: ours, the server's, the HTTP and WebSocket
# clients (they can log headers at DEBUG) and the SDK.
LOGGERS = (
    "vivavoce",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "httpx",
    "httpcore",
    # The openai SDK ships its own forks of httpx/httpcore under these names.
    "httpx2",
    "httpcore2",
    "websockets",
    "websockets.client",
    "websockets.server",
    "openai",
    "openai._base_client",
    "fastapi",
    "sqlalchemy",
)

# "…" and "*" are allowed inside so OpenAI's masked echo is caught too; "." is not, so a
# key that ends a sentence keeps its full stop.
_KEY_RE = re.compile(r"(?<![A-Za-z0-9])(?:sk-|ek_)[A-Za-z0-9_\-*…•]{8,}")
# Base64 (standard or URL-safe) after the prefix, as Standard Webhooks secrets are.
_WHSEC_RE = re.compile(r"(?<![A-Za-z0-9])whsec_(?!…)[A-Za-z0-9+/=_\-]{8,}")
_BEARER_RE = re.compile(
    r"(?i)\b(bearer)(\s+|%20|\+)([A-Za-z0-9._~+/=\-*…]{7,}[A-Za-z0-9_~+/=\-*…])"
)
# Already a mask (ours): prefix + "…" + up to 4 characters. Leave it alone, so that
# redact(redact(x)) == redact(x).
_ALREADY_MASKED = re.compile(r"^…[A-Za-z0-9_\-]{0,4}$")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secrets_re: re.Pattern[str] | None = None


def register_secret(secret: str | None) -> None:
    """Also mask this exact value wherever it appears (at least 8 characters long).

    For secrets with no recognisable shape; the configured OpenAI key is registered
    by the logging set-up. Short values are ignored: masking them would garble text.
    """
    global _secrets_re
    if secret is None:
        return
    value = secret.strip()
    if len(value) < 8:
        return
    with _secrets_lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _secrets_re = re.compile("|".join(re.escape(s) for s in ordered))


def _mask_match(match: re.Match[str]) -> str:
    value = match.group(0)
    prefix, _ = key_prefix(value)
    if _ALREADY_MASKED.match(value[len(prefix) :]):
        return value
    return mask_key(value)


def _mask_bearer(match: re.Match[str]) -> str:
    token = match.group(3)
    if _ALREADY_MASKED.match(token[len(key_prefix(token)[0]) :]):
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{mask_key(token)}"


def redact(text: str) -> str:
    """``text`` with every key-shaped secret replaced by its mask. Never raises."""
    if not text:
        return text
    pattern = _secrets_re
    if pattern is not None:
        text = pattern.sub(lambda m: mask_key(m.group(0)), text)
    text = _WHSEC_RE.sub(lambda m: mask_webhook_secret(m.group(0)), text)
    text = _BEARER_RE.sub(_mask_bearer, text)
    return _KEY_RE.sub(_mask_match, text)


def mask_webhook_secret(secret: str) -> str:
    """``whsec_…abcd``: enough to tell two secrets apart, nothing to sign with."""
    return f"whsec_…{secret[-4:]}" if len(secret) > 12 else "whsec_…"


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, arguments and traceback text through :func:`redact`.

    The message is rendered once (``msg % args``) and the arguments dropped, because a
    key can hide in any argument's ``str()``. Never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_vivavoce_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        setattr(record, "_vivavoce_redacted", True)  # noqa: B010 (not a LogRecord field)
        return True


_FILTER = RedactingFilter()
_factory_lock = threading.Lock()
_factory_installed = False


def _add_filter(target: logging.Filterer) -> None:
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(_FILTER)


def _install_record_factory() -> None:
    # Belt and braces: handlers added later (by uvicorn, by a test's capture) never saw
    # our filter, so every record is also redacted when it is created.
    global _factory_installed
    with _factory_lock:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _FILTER.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True


def install_redaction(extra_loggers: Iterable[str] = ()) -> None:
    """Install :class:`RedactingFilter` on the root handlers, on our, uvicorn's, httpx's,
    websockets' and the openai SDK's loggers (and their handlers), and on every record
    created from now on. Idempotent."""
    root = logging.getLogger()
    for handler in root.handlers:
        _add_filter(handler)
    for name in (*LOGGERS, *extra_loggers):
        logger = logging.getLogger(name)
        _add_filter(logger)
        for handler in logger.handlers:
            _add_filter(handler)
    _install_record_factory()
