"""Production selects JSON logs: one object per line, carrying the interview id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fixtures.app_server import RunningApp
from tests.fixtures.database import make_runtime
from tests.fixtures.settings import MakeSettings
from tests.relay.voice_client import voice_client
from vivavoce.logs import interview_id_var, setup_logging
from vivavoce.store.database import Database


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root_logger")
@pytest.mark.parametrize(
    "env",
    [{"VIVAVOCE_ENV": "production"}, {"RAILWAY_SERVICE_ID": "svc-1"}],
    ids=["VIVAVOCE_ENV", "railway"],
)
def test_production_logs_are_json_lines_with_interview_id(
    make_settings: MakeSettings, env: dict[str, str]
) -> None:
    settings = make_settings(**env)
    assert settings.effective_log_format == "json"
    stream = io.StringIO()
    setup_logging(settings, stream=stream)
    log = logging.getLogger("vivavoce.test_deploy")
    token = interview_id_var.set("interview-123")
    try:
        log.info("turn stored\nwith a line break")
    finally:
        interview_id_var.reset(token)
    log.warning("no interview here")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # the line break stayed inside the JSON string
    first, second = (json.loads(line) for line in lines)
    assert first["interview_id"] == "interview-123"
    assert first["message"] == "turn stored\nwith a line break"
    assert first["level"] == "info" and first["logger"] == "vivavoce.test_deploy"
    assert "interview_id" not in second


def test_development_keeps_text_logs_unless_asked(make_settings: MakeSettings) -> None:
    assert make_settings().effective_log_format == "text"
    assert make_settings(VIVAVOCE_LOG_FORMAT="json").effective_log_format == "json"
    assert (
        make_settings(VIVAVOCE_ENV="production", VIVAVOCE_LOG_FORMAT="text").effective_log_format
        == "text"
    )


@pytest.mark.usefixtures("restore_root_logger")
def test_json_lines_leave_out_uvicorns_colour_copy(make_settings: MakeSettings) -> None:
    stream = io.StringIO()
    setup_logging(make_settings(VIVAVOCE_ENV="production"), stream=stream)
    logging.getLogger("uvicorn.error").info(
        "Started server", extra={"color_message": "\x1b[1mStarted\x1b[0m server"}
    )
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["message"] == "Started server"
    assert "color_message" not in line and "\x1b" not in stream.getvalue()


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("restore_root_logger")
async def test_lines_written_while_serving_an_interview_carry_its_id(
    make_settings: MakeSettings, make_app_server: Callable[..., RunningApp]
) -> None:
    """A whole interview over real sockets (app ↔ fake OpenAI) with JSON logs: every
    line of ours written while serving it names it."""
    stream = io.StringIO()
    setup_logging(make_settings(VIVAVOCE_LOG_FORMAT="json"), stream=stream)
    app = make_app_server()
    async with voice_client(app.voice_url()) as client:
        started = await client.start()
        await client.send_json({"type": "end_interview"})
        await client.until("interview_ended")
        await client.until_closed()
    interview_id = started["interview_id"]
    records = _json_lines(stream)
    # From the browser's connection on (in this flow nothing of ours is logged before
    # the interview is created).
    first = next(i for i, r in enumerate(records) if '"WebSocket /voice' in r["message"])
    ours = [r for r in records[first:] if r["logger"].startswith("vivavoce.")]
    assert any(r["logger"] == "vivavoce.relay" for r in ours)
    assert [r for r in ours if r.get("interview_id") != interview_id] == []


@pytest.mark.usefixtures("restore_root_logger")
async def test_evaluation_queueing_lines_carry_the_interview_id(
    make_settings: MakeSettings, db: Database
) -> None:
    # The relay's database writer queues the evaluation; its task started before the
    # interview was known, so the id must be passed with the line, not inherited.
    from vivavoce.web.voice_store import start_evaluation

    stream = io.StringIO()
    settings = make_settings(VIVAVOCE_LOG_FORMAT="json")
    setup_logging(settings, stream=stream)
    await start_evaluation(make_runtime(settings, db), "no-such-interview")
    (line,) = [r for r in _json_lines(stream) if "not queued for evaluation" in r["message"]]
    assert line["interview_id"] == "no-such-interview"
