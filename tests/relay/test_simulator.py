"""The built-in simulator: an interview with no OpenAI key, clearly labelled."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import stored
from tests.relay.voice_client import voice_client
from vivavoce.simulator import SIMULATOR_NOTICE, interviewer_responder
from vivavoce.testing.realtime_conversation import ConversationView


async def final_text(client) -> str:  # type: ignore[no-untyped-def]
    while True:
        message = await client.until("ai_transcription")
        if message["is_final"]:
            return str(message["text"])


async def test_simulator_asks_bank_questions_one_per_turn(
    make_app_server: Callable[..., RunningApp], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="vivavoce")
    app = make_app_server(api_key="", VIVAVOCE_SIMULATOR="1", OPENAI_BASE_URL="")
    app.runtime.api_key = None
    async with voice_client(app.voice_url(), refused=True) as client:
        hello = await client.receive_one()
        assert isinstance(hello, dict) and hello["simulator"] is True
        assert "simulator" in hello["message"] and "not an AI" in hello["message"]
        started = await client.start()
        assert started["simulator"] is True
        greeting = await final_text(client)
        assert "vivavoce simulator" in greeting and "First question:" in greeting
        await client.until("usage")
        await client.say()
        await client.until("student_transcription")
        follow_up = await final_text(client)
        assert follow_up.startswith("Thank you. Next question:")
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    simulator = app.runtime.extras["simulator"]
    # It is the simulator that was called, not the fake OpenAI the fixture runs.
    assert simulator.fake.sessions and not app.fake.fake.sessions  # type: ignore[union-attr]
    instructions = simulator.fake.last_session.session_config["instructions"]
    first_question = greeting.split("First question: ", 1)[1]
    assert f"1. {first_question}" in instructions
    assert "built-in simulator" in instructions
    _, turns = await stored(app.database_url, started["interview_id"])
    assert [t.speaker for t in turns] == ["interviewer", "candidate", "interviewer"]
    # The operator is told at start-up, when the simulator starts, and on every line
    # about the interview.
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("vivavoce")]
    assert sum(SIMULATOR_NOTICE in line for line in lines) >= 2
    relay_lines = [r.getMessage() for r in caplog.records if r.name == "vivavoce.relay"]
    assert relay_lines and all("simulator=yes" in line for line in relay_lines)


def view(**overrides: object) -> ConversationView:
    values: dict[str, object] = {
        "assistant_turns": 0, "user_turns": 0, "last_user_transcript": None,
        "instructions": "- Name: Ada\n\nQuestions to draw from (x):\n1. Q one?\n2. Q two?",
        "response_instructions": None, "history": (),
    }
    values.update(overrides)
    return ConversationView(**values)  # type: ignore[arg-type]


def test_responder_walks_the_questions_then_stops() -> None:
    assert "Hello, Ada" in interviewer_responder(view())
    assert interviewer_responder(view(assistant_turns=1, user_turns=1,
                                      last_user_transcript="x")).endswith("Q two?")
    assert "all my questions" in interviewer_responder(
        view(assistant_turns=2, user_turns=2, last_user_transcript="y"))
    assert interviewer_responder(
        view(assistant_turns=1, user_turns=0, last_user_transcript="")
    ) == "Take your time. The question was: Q one?"
    goodbye = interviewer_responder(view(
        assistant_turns=3, response_instructions="The time for this interview is up."))
    assert "simulator" in goodbye
