"""The whole flow over real sockets: a candidate talks through /voice to the fake
OpenAI, ends the interview, and the evaluation (run by the app's own worker against the
fake's /v1/responses) is read over HTTP — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.evaluation.conftest import FAST
from tests.fixtures.app_server import RunningApp
from tests.fixtures.database import ADMIN_TOKEN, SECRET_KEY
from tests.fixtures.fake_openai import RunningFake
from tests.relay.voice_client import CONTEXT, VoiceClient, voice_client
from vivavoce.interview.candidate import CandidateContext
from vivavoce.runtime import RuntimeOptions
from vivavoce.testing.fake_responses import ResponsesBehaviour
from vivavoce.tokens import issue_interview_token

ANSWERS = [
    "In my internship I built a telemetry dashboard for twelve robots. I wrote the data "
    "pipeline in Python and cut the time to spot a fault from an hour to five minutes.",
    "I enjoy turning messy measurements into tools people use every day. Your team builds "
    "exactly that kind of developer tooling, and I want to learn it from you.",
]


async def _ai_turn(client: VoiceClient, app: RunningApp) -> None:
    """Wait for the interviewer's whole turn and report it played."""
    while not (await client.until("ai_transcription"))["is_final"]:
        pass
    await client.until("usage")
    session = app.fake.fake.last_session  # type: ignore[union-attr]
    await client.until_audio(sum(r.audio_ms for r in session.responses))
    await client.played_everything()


async def _interview(app: RunningApp) -> str:
    async with voice_client(app.voice_url()) as client:
        started = await client.start()
        await _ai_turn(client, app)
        for _ in ANSWERS:
            await client.say()
            assert (await client.until("student_transcription"))["is_final"]
            await _ai_turn(client, app)
        await client.send_json({"type": "end_interview"})
        await client.until("interview_ended")
        await client.until_closed()
    return str(started["interview_id"])


async def _settled(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(800):  # a guard against a hang, not a timed assert
        response = await http.get(url, headers=headers)
        if response.status_code == 200:
            body = response.json()
            if body["status"] in ("done", "failed", "insufficient"):
                return body
        await asyncio.sleep(0.025)
    raise AssertionError(f"the evaluation did not settle: {body}")


async def test_an_interview_through_the_relay_is_evaluated(
    make_app_server: Callable[..., RunningApp],
    database_url: str,
    db: object,  # empties the tables before and after
    fake_openai: RunningFake,
    behaviour: ResponsesBehaviour,
) -> None:
    fake_openai.fake.config.transcripts = list(ANSWERS)
    app = make_app_server(database_url=database_url, options=RuntimeOptions(evaluation=FAST))
    interview_id = await _interview(app)

    url = f"{app.server.http_url}/api/interviews/{interview_id}/evaluation"
    token = issue_interview_token(SECRET_KEY, interview_id)
    async with httpx.AsyncClient() as http:
        admin = await _settled(http, url, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
        mine = (await http.get(url, headers={"Authorization": f"Bearer {token}"})).json()

    assert admin["status"] == "done", admin["error"]
    assert admin["cost_usd"] > 0 and admin["model"] == app.runtime.settings.evaluation_model
    result = mine["result"]
    assert mine["overall_score"] == result["overall"]["score"] == admin["overall_score"]
    # Judged at the level the interviewer used for this candidate.
    assert result["level"] == CandidateContext.model_validate(CONTEXT).bank_level
    # Feedback per answered question, quoting what the candidate really said.
    assert len(result["questions"]) == len(ANSWERS)
    quotes = [q["text"] for question in result["questions"] for q in question["quotes"]]
    # Verbatim, with an ellipsis only where a quote was cut out of a sentence.
    assert quotes and all(any(piece.strip() in answer for answer in ANSWERS)
                          for q in quotes for piece in q.split("…"))
    assert (mine["invented_quotes"], mine["low_confidence"]) == (0, False)
    # What the model was sent is the stored transcript, not something else.
    sent = behaviour.requests[-1]["input"]
    assert all(answer in sent for answer in ANSWERS)
