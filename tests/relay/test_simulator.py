"""The built-in simulator: an interview with no OpenAI key, clearly labelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import link_interview, stored
from tests.relay.voice_client import VoiceClient, voice_client
from vivavoce.simulator import (
    SIMULATOR_NOTICE,
    Simulator,
    interviewer_responder,
    questions_from_instructions,
)
from vivavoce.testing.realtime_items import ConversationView


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
    simulator = app.runtime.simulator
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


def test_a_resumed_conversation_is_welcomed_back_not_greeted_again() -> None:
    greeting = interviewer_responder(view())
    asked = ("assistant", greeting)
    answer = ("user", "I study maths.")
    second = ("assistant", "Thank you. Next question: Q two?")
    # The drop came after an answer: the next question, welcomed back, still the simulator.
    line = interviewer_responder(view(earlier_turns=(asked, answer)))
    assert line.startswith("Welcome back, Ada!") and "simulator" in line
    assert line.endswith("Let's continue with the next question: Q two?")
    assert "Hello" not in line and "First question" not in line
    # The drop came after a question: that question again, once.
    assert interviewer_responder(view(earlier_turns=(asked, answer, second))).endswith(
        "Let's pick up where we stopped: Q two?")
    assert interviewer_responder(view(earlier_turns=(asked,))).endswith(
        "Let's pick up where we stopped: Q one?")
    # An answer with no words in it answered nothing.
    assert interviewer_responder(view(earlier_turns=(asked, ("user", " ")))).endswith(
        "Let's pick up where we stopped: Q one?")
    # Everything was asked and answered before the drop.
    done = interviewer_responder(view(earlier_turns=(asked, answer, second, ("user", "Yes."))))
    assert done.startswith("Welcome back, Ada!") and "all my questions" in done
    # Later turns of the resumed session count the earlier answers too.
    later = view(assistant_turns=1, user_turns=1, last_user_transcript="Yes.",
                 earlier_turns=(asked, answer, second))
    assert "all my questions" in interviewer_responder(later)
    nudge = view(assistant_turns=1, user_turns=0, last_user_transcript="",
                 earlier_turns=(asked, answer))
    assert interviewer_responder(nudge) == "Take your time. The question was: Q two?"
    # A system message alone carries no conversation over: a fresh greeting.
    assert interviewer_responder(view(earlier_turns=(("system", "Be kind."),))) == greeting


async def _hear_out(client: VoiceClient, simulator: Simulator) -> None:
    """Wait for the whole reply to be heard (speaking earlier would interrupt it)."""
    await client.until("usage")
    await client.until_audio(sum(r.audio_ms for r in simulator.fake.last_session.responses))
    await client.played_everything()


async def test_a_dropped_link_interview_on_the_simulator_continues_where_it_stopped(
    make_app_server: Callable[..., RunningApp],
) -> None:
    app = make_app_server(api_key="", VIVAVOCE_SIMULATOR="1", OPENAI_BASE_URL="")
    app.runtime.api_key = None
    interview_id, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as client:
        started = await client.start({})
        assert started["simulator"] is True and started["resumed"] is False
        simulator = app.runtime.simulator
        greeting = await final_text(client)
        await _hear_out(client, simulator)
        await client.say()
        await client.until("student_transcription")
        asked = await final_text(client)
        await client.until("usage")
        client.ws.transport.abort()  # the candidate's network drops
    first_session = simulator.fake.last_session
    for _ in range(500):  # hang guard: the relay stores the turns and closes upstream
        interview, turns = await stored(app.database_url, interview_id)
        if first_session.close_code is not None and len(turns) == 3:
            break
        await asyncio.sleep(0.01)
    assert interview.status == "live" and [t.speaker for t in turns] == [
        "interviewer", "candidate", "interviewer"]
    questions = questions_from_instructions(first_session.session_config["instructions"])
    assert len(questions) >= 3
    assert greeting.endswith(f"First question: {questions[0]}")
    assert asked == f"Thank you. Next question: {questions[1]}"

    # The same link again: the interview resumes, and the simulator goes on with the
    # question the drop left open instead of greeting and starting over.
    async with voice_client(app.voice_url(token)) as client:
        started = await client.start({})
        assert started["resumed"] is True and started["interview_id"] == interview_id
        assert started["simulator"] is True
        welcome = await final_text(client)
        await _hear_out(client, simulator)
        await client.say()
        await client.until("student_transcription")
        following = await final_text(client)
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
    resumed_session = simulator.fake.last_session
    assert resumed_session is not first_session and not app.fake.fake.sessions  # type: ignore[union-attr]
    assert welcome == ("Welcome back, Grace! This is still the vivavoce simulator. "
                       f"Let's pick up where we stopped: {questions[1]}")
    assert "Hello" not in welcome and questions[0] not in welcome
    # The answer to it counts after the earlier one: the third question, not the second.
    assert following == f"Thank you. Next question: {questions[2]}"
    interview, turns = await stored(app.database_url, interview_id)
    assert (interview.status, interview.end_reason) == ("ended", "candidate_ended")
    assert [t.sequence for t in turns] == list(range(len(turns)))
    assert [t.text for t in turns if t.speaker == "interviewer"][-2:] == [welcome, following]
