"""vivavoce.redact: key-shaped secrets never survive, in text or in log records."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from tests.diagnosis.logging_state import preserved_logging
from vivavoce import redact as redact_module
from vivavoce.redact import (
    LOGGERS,
    RedactingFilter,
    install_redaction,
    redact,
    register_secret,
)


def body(n: int) -> str:
    return ("NotAKey0Fake_" * (n // 13 + 1))[:n]


PROJECT = "sk-proj-" + body(156)
TAIL = PROJECT[-4:]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key={PROJECT}", f"key=sk-proj-…{TAIL}"),
        (f"the key {PROJECT}.", f"the key sk-proj-…{TAIL}."),
        ("sk-svcacct-" + body(60), "sk-svcacct-…" + body(60)[-4:]),
        ("sk-admin-" + body(60), "sk-admin-…" + body(60)[-4:]),
        ("sk-" + body(48), "sk-…" + body(48)[-4:]),
        ("sk-test-revoked-" + body(20), "sk-test-…" + body(20)[-4:]),
        ("ek_" + body(40), "ek_…" + body(40)[-4:]),
        ("sk-ant-api03-" + body(40), "sk-ant-…" + body(40)[-4:]),
        # OpenAI's own half-masked echo in "Incorrect API key provided".
        (
            "Incorrect API key provided: sk-proj-" + "*" * 148 + "abcd. You can find",
            "Incorrect API key provided: sk-proj-…abcd. You can find",
        ),
        (f"Authorization: Bearer {PROJECT}", f"Authorization: Bearer sk-proj-…{TAIL}"),
        ("authorization: bearer abcdefghijklmnopqrstu", "authorization: bearer …rstu"),
        ("nothing secret here: sk-learn, task-1234", "nothing secret here: sk-learn, task-1234"),
        ("bearer tokens expire", "bearer tokens expire"),  # prose, not a credential
        ("", ""),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_is_idempotent() -> None:
    once = redact(f"a {PROJECT} b Bearer {PROJECT} c ek_{body(30)}")
    assert redact(once) == once
    assert PROJECT[10:30] not in once


def test_registered_secret_without_a_shape_is_masked() -> None:
    azure = "0123456789abcdef" * 2
    assert azure in redact(f"key {azure}")
    register_secret(azure)
    assert azure not in redact(f"key {azure}")
    register_secret("short")  # ignored: would garble ordinary text
    assert redact("short text") == "short text"


def _logger_with_stream() -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("vivavoce.tests.redact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream, handler


def test_filter_rewrites_message_args_and_traceback() -> None:
    logger, stream, handler = _logger_with_stream()
    try:
        logger.info("calling with %s and %r", PROJECT, {"auth": f"Bearer {PROJECT}"})
        try:
            raise RuntimeError(f"upstream said {PROJECT}")
        except RuntimeError:
            logger.exception("failed")
        logger.info("broken format %s %s", PROJECT)  # must not lose the record
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert PROJECT[8:20] not in out
    assert out.count(f"sk-proj-…{TAIL}") >= 4
    assert "RuntimeError" in out and "broken format" in out


@pytest.fixture
def restore_logging() -> Iterator[None]:
    # install_redaction changes process-wide logging; put it back for the other tests.
    with preserved_logging():
        yield


def test_install_redaction_filters_the_listed_loggers_once(
    caplog: pytest.LogCaptureFixture, restore_logging: None
) -> None:
    install_redaction()
    install_redaction()  # idempotent
    assert sum(isinstance(f, RedactingFilter) for f in logging.getLogger("openai").filters) == 1
    # A listed logger's own filter redacts it (loggers outside the list: the next test).
    with caplog.at_level(logging.INFO, logger="openai._base_client"):
        logging.getLogger("openai._base_client").info("header Bearer %s", PROJECT)
    assert PROJECT not in caplog.text
    assert f"Bearer sk-proj-…{TAIL}" in caplog.text


def test_the_record_factory_covers_loggers_outside_the_list(restore_logging: None) -> None:
    # asyncio's logger is on no list, yet it logs exceptions whose text may hold a key
    # ("Task exception was never retrieved"), here to a handler added after installation
    # (as a library or a test capture would). Only the record factory covers that, so
    # start from a process without one (another test may have installed it already;
    # restore_logging puts the factory back).
    logging.setLogRecordFactory(logging.LogRecord)
    redact_module._factory_installed = False
    assert "asyncio" not in LOGGERS
    install_redaction()
    unlisted = logging.getLogger("asyncio")
    assert not any(isinstance(f, RedactingFilter) for f in unlisted.filters)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    propagate = unlisted.propagate
    unlisted.addHandler(handler)
    unlisted.propagate = False
    try:
        try:
            raise RuntimeError(f"upstream said {PROJECT}")
        except RuntimeError:
            unlisted.exception("Task exception was never retrieved: %s", PROJECT)
    finally:
        unlisted.removeHandler(handler)
        unlisted.propagate = propagate
    out = stream.getvalue()
    assert PROJECT[8:20] not in out
    assert out.count(f"sk-proj-…{TAIL}") == 2 and "RuntimeError" in out
