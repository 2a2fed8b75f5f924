"""setup_logging: JSON or text lines, interview id, level, redaction on every path."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tests.diagnosis.logging_state import preserved_logging
from tests.fixtures.settings import MakeSettings
from vivavoce.logs import interview_id_var, setup_logging
from vivavoce.testing.scenarios import scenario_key

KEY = scenario_key("ok", "logs")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    # setup_logging changes process-wide state; put it back for the other tests.
    with preserved_logging():
        yield


def test_json_lines_with_interview_id_and_extras(make_settings: MakeSettings) -> None:
    stream = io.StringIO()
    setup_logging(make_settings(VIVAVOCE_LOG_FORMAT="json", OPENAI_API_KEY=KEY), stream=stream)
    log = logging.getLogger("vivavoce.relay")
    token = interview_id_var.set("iv_123")
    try:
        log.info("interview started", extra={"model": "gpt-realtime", "turns": 0})
    finally:
        interview_id_var.reset(token)
    log.warning("no interview here")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["message"] == "interview started"
    assert first["interview_id"] == "iv_123"
    assert first["level"] == "info" and first["logger"] == "vivavoce.relay"
    assert first["model"] == "gpt-realtime" and first["turns"] == 0
    assert "interview_id" not in second


def test_production_defaults_to_json(make_settings: MakeSettings) -> None:
    stream = io.StringIO()
    setup_logging(make_settings(VIVAVOCE_ENV="production"), stream=stream)
    logging.getLogger("vivavoce").info("hello")
    assert json.loads(stream.getvalue())["message"] == "hello"


def test_text_lines_and_level(make_settings: MakeSettings) -> None:
    stream = io.StringIO()
    setup_logging(make_settings(VIVAVOCE_LOG_LEVEL="warning"), stream=stream)
    log = logging.getLogger("vivavoce.x")
    log.info("not shown")
    token = interview_id_var.set("iv_9")
    try:
        log.warning("shown")
    finally:
        interview_id_var.reset(token)
    out = stream.getvalue()
    assert "not shown" not in out
    assert "WARNING" in out and "vivavoce.x [iv_9] shown" in out


def test_setup_twice_keeps_one_handler(make_settings: MakeSettings) -> None:
    stream = io.StringIO()
    setup_logging(make_settings(), stream=io.StringIO())
    setup_logging(make_settings(), stream=stream)
    logging.getLogger("vivavoce").warning("once")
    assert stream.getvalue().count("once") == 1


def test_bad_level_falls_back_to_info_and_says_so(make_settings: MakeSettings) -> None:
    stream = io.StringIO()
    setup_logging(make_settings(VIVAVOCE_LOG_LEVEL="loud"), stream=stream)
    logging.getLogger("vivavoce").debug("hidden")
    logging.getLogger("vivavoce").info("visible")
    out = stream.getvalue()
    assert "VIVAVOCE_LOG_LEVEL='loud' is not a level" in out
    assert "visible" in out and "hidden" not in out


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_key_never_reaches_a_log_line(make_settings: MakeSettings, fmt: str) -> None:
    stream = io.StringIO()
    setup_logging(make_settings(VIVAVOCE_LOG_FORMAT=fmt, OPENAI_API_KEY=KEY), stream=stream)
    logging.getLogger("vivavoce").info("key is %s", KEY)
    logging.getLogger("uvicorn.error").error("header Authorization: Bearer %s", KEY)
    logging.getLogger("openai._base_client").warning("retrying with %r", {"api_key": KEY})
    logging.getLogger("httpx").warning("request failed", extra={"key": KEY})
    try:
        raise ConnectionError(f"upstream rejected {KEY}")
    except ConnectionError:
        logging.getLogger("websockets.client").exception("closed")
    out = stream.getvalue()
    # Text lines do not print extras; JSON lines do (redacted too).
    assert out.count("sk-test-…" + KEY[-4:]) == (5 if fmt == "json" else 4)
    secret = KEY[len("sk-test-") :]
    for start in range(len(secret) - 8):
        assert secret[start : start + 8] not in out


def test_configured_secrets_are_masked_whatever_their_shape(make_settings: MakeSettings) -> None:
    stream = io.StringIO()
    admin, signing = "adminTokenWithoutShape42", "signingKeyWithoutShape4242"
    setup_logging(
        make_settings(VIVAVOCE_ADMIN_TOKEN=admin, VIVAVOCE_SECRET_KEY=signing), stream=stream
    )
    logging.getLogger("uvicorn.access").info("GET /admin?token=%s&k=%s", admin, signing)
    out = stream.getvalue()
    assert admin not in out and signing not in out
    assert "GET /admin?token=" in out
