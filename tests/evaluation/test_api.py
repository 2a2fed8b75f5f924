"""The evaluation API and the worker inside the app, against the fake on a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.evaluation.conftest import FAST
from tests.evaluation.helpers import GOOD_TRANSCRIPT, make_interview
from tests.fixtures.database import ADMIN_TOKEN, SECRET_KEY, make_runtime
from tests.fixtures.fake_openai import RunningFake
from vivavoce.config import Settings
from vivavoce.evaluation.jobs import claim_next, enqueue_evaluation
from vivavoce.evaluation.rubric import RubricError
from vivavoce.store.database import Database
from vivavoce.store.models import Evaluation, utcnow
from vivavoce.testing.fake_responses import ResponsesBehaviour
from vivavoce.testing.scenarios import scenario_key
from vivavoce.tokens import issue_interview_token
from vivavoce.web.app import create_app

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
Start = Callable[..., Any]


@pytest.fixture
async def start_app(
    database_url: str, make_settings: Callable[..., Settings], fake_openai: RunningFake
) -> AsyncIterator[Start]:
    """start_app(**ENV) -> an httpx client on a started app whose key reaches the fake."""
    async with AsyncExitStack() as stack:

        async def start(**environ: str) -> httpx.AsyncClient:
            settings = make_settings(
                **{"VIVAVOCE_SIMULATOR": "0", "OPENAI_BASE_URL": fake_openai.base_url, **environ}
            )
            database = Database(database_url)
            # Disposed even when the start fails (the lifespan only disposes after a start).
            stack.push_async_callback(database.dispose)
            runtime = make_runtime(settings, database, api_key=scenario_key("ok"))
            runtime.options.evaluation = FAST
            app = create_app(runtime=runtime)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                       base_url="http://testserver")
            client.runtime = runtime  # type: ignore[attr-defined]
            return await stack.enter_async_context(client)

        yield start


async def _until_settled(client: httpx.AsyncClient, interview_id: str) -> dict[str, Any]:
    for _ in range(400):
        response = await client.get(f"/api/interviews/{interview_id}/evaluation", headers=ADMIN)
        body: dict[str, Any] = response.json()
        if body["status"] in ("done", "failed", "insufficient"):
            return body
        await asyncio.sleep(0.025)
    raise AssertionError(f"evaluation did not settle: {body}")


async def test_an_ended_interview_is_evaluated_and_shown_to_its_candidate(
    db: Database, start_app: Start
) -> None:
    client = await start_app()
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)  # what the relay does when it ends
    admin_view = await _until_settled(client, interview_id)
    assert admin_view["status"] == "done", admin_view["error"]
    assert 0 <= admin_view["overall_score"] <= 100
    assert admin_view["cost_usd"] > 0 and admin_view["input_tokens"] > 0

    token = issue_interview_token(SECRET_KEY, interview_id)
    mine = await client.get(f"/api/interviews/{interview_id}/evaluation",
                            headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200
    body = mine.json()
    assert body["message"] == "Your feedback is ready."
    assert body["progress"] == 1.0
    assert body["result"]["dimensions"] == admin_view["result"]["dimensions"]
    assert body["cost_usd"] is None and body["error"] is None  # the operator's business


async def test_simulator_mode_is_evaluated_offline_and_says_so(
    db: Database, start_app: Start, behaviour: ResponsesBehaviour
) -> None:
    client = await start_app(VIVAVOCE_SIMULATOR="1")
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    body = await _until_settled(client, interview_id)
    assert body["status"] == "done", body["error"]
    # No model was asked: neither the OpenAI stand-in nor a simulator's /v1/responses.
    assert behaviour.requests == []
    assert client.runtime.simulator is None  # type: ignore[attr-defined]
    assert body["method"] == "offline"
    assert body["method_label"] == "offline evaluation — rule-based, no AI"
    assert body["model"] == "offline" and body["cost_usd"] == 0 and body["input_tokens"] == 0
    assert body["simulated"] is True and "not transcribed" in body["simulated_note"]
    result = body["result"]
    assert result["method"] == "offline" and result["simulated"] is True
    # Real feedback, not placeholders: the signals are cited with the candidate's words.
    assert not any(s.startswith("Strengths 1") for s in result["strengths"])
    assert any("300" in q["text"] or "forty" in q["text"]
               for cited in result["cited"]["strengths"] for q in cited)
    justification = {d["key"]: d["justification"] for d in result["dimensions"]}
    assert "numbers" in justification["evidence"] and "STAR" in justification["structure"]
    assert result["signals"]["english_signals"] is True


async def test_with_a_key_the_signals_sit_beside_the_model(
    db: Database, start_app: Start
) -> None:
    client = await start_app()
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    body = await _until_settled(client, interview_id)
    assert body["status"] == "done", body["error"]
    assert body["method"] == "model" and body["simulated"] is False
    assert body["simulated_note"] is None
    result = body["result"]
    assert result["method"] == "model"
    assert len(result["signals"]["answers"]) == 3
    assert result["cap"]["formula"].startswith("score = min(model score, cap)")


async def test_access_needs_the_interview_token_or_admin(db: Database, start_app: Start) -> None:
    client = await start_app()
    mine = await make_interview(db, GOOD_TRANSCRIPT)
    other = await make_interview(db, GOOD_TRANSCRIPT)
    url = f"/api/interviews/{mine}/evaluation"
    assert (await client.get(url)).json()["error"]["code"] == "unauthorized"
    wrong = await client.get(url, headers={"Authorization": f"Bearer {issue_interview_token(SECRET_KEY, other)}"})
    assert wrong.status_code == 403
    bad = await client.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_token"
    unknown = await client.get("/api/interviews/not-a-uuid/evaluation", headers=ADMIN)
    assert unknown.status_code == 404


async def test_before_the_end_there_is_no_evaluation_yet(db: Database, start_app: Start) -> None:
    client = await start_app()
    live = await make_interview(db, GOOD_TRANSCRIPT, status="live")
    response = await client.get(f"/api/interviews/{live}/evaluation", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "evaluation_not_started"
    rerun = await client.post(f"/api/interviews/{live}/evaluation", headers=ADMIN)
    assert rerun.status_code == 409 and rerun.json()["error"]["code"] == "interview_not_ended"


async def test_an_ended_interview_without_a_job_gets_one(db: Database, start_app: Start) -> None:
    client = await start_app()
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)  # ended, never enqueued
    first = await client.get(f"/api/interviews/{interview_id}/evaluation", headers=ADMIN)
    assert first.status_code == 200 and first.json()["status"] in ("pending", "running", "done")
    assert (await _until_settled(client, interview_id))["status"] == "done"


async def test_the_operator_reruns_a_failed_evaluation(
    db: Database, start_app: Start, behaviour: ResponsesBehaviour
) -> None:
    behaviour.faults.append("refusal")
    client = await start_app()
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    failed = await _until_settled(client, interview_id)
    assert failed["status"] == "failed" and "declined" in failed["error"]
    url = f"/api/interviews/{interview_id}/evaluation"
    token = issue_interview_token(SECRET_KEY, interview_id)
    candidate = await client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert candidate.json()["error"] is None and "organiser" in candidate.json()["message"]
    assert (await client.post(url, headers={"Authorization": f"Bearer {token}"})).status_code == 401

    rerun = await client.post(url, headers=ADMIN)
    assert rerun.status_code == 202 and rerun.json()["status"] == "pending"
    done = await _until_settled(client, interview_id)
    assert done["status"] == "done"
    assert done["cost_usd"] > failed["cost_usd"]  # both runs were paid for


async def test_rerun_while_running_is_a_conflict(db: Database, start_app: Start) -> None:
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    # Another instance holds the job (claimed here, before this app's worker starts).
    assert await claim_next(db, lease=timedelta(minutes=5)) is not None
    client = await start_app()
    response = await client.post(f"/api/interviews/{interview_id}/evaluation", headers=ADMIN)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "evaluation_running"
    running = await client.get(f"/api/interviews/{interview_id}/evaluation", headers=ADMIN)
    assert running.json()["status"] == "running"
    assert 0.1 <= running.json()["progress"] < 1


async def test_jobs_left_by_a_restart_are_picked_up(db: Database, start_app: Start) -> None:
    pending = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, pending)
    interrupted = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interrupted)
    # A worker died mid-job: running, with a lease that has run out.
    async with db.session() as s:
        await s.execute(
            update(Evaluation)
            .where(Evaluation.interview_id == interrupted)
            .values(status="running", attempts=1, next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        await s.commit()
    client = await start_app()
    assert (await _until_settled(client, pending))["status"] == "done"
    resumed = await _until_settled(client, interrupted)
    assert (resumed["status"], resumed["attempts"]) == ("done", 2)


async def test_a_broken_rubric_file_stops_the_start(start_app: Start, tmp_path: Path) -> None:
    broken = tmp_path / "rubric.yaml"
    broken.write_text("name: x\ndimensions:\n  - key: a\n    name: A\n    anchors: {1: only}\n")
    with pytest.raises(RubricError, match="line 5: dimensions.0.anchors: "):
        await start_app(VIVAVOCE_RUBRIC_FILE=str(broken))


async def test_a_low_confidence_evaluation_says_so_without_showing_invented_words(
    db: Database, start_app: Start, behaviour: ResponsesBehaviour
) -> None:
    behaviour.faults.extend(["invented_quotes", "invented_quotes"])
    client = await start_app()
    interview_id = await make_interview(db, GOOD_TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    admin = await _until_settled(client, interview_id)
    assert (admin["status"], admin["low_confidence"]) == ("done", True)
    assert admin["invented_quotes"] > 0 and admin["result"]["evidence"]["invented_examples"]

    token = issue_interview_token(SECRET_KEY, interview_id)
    mine = (await client.get(f"/api/interviews/{interview_id}/evaluation",
                             headers={"Authorization": f"Bearer {token}"})).json()
    assert mine["low_confidence"] is True and "with some care" in mine["message"]
    assert mine["invented_quotes"] == admin["invented_quotes"]
    assert "invented_examples" not in mine["result"]["evidence"]
    assert mine["result"]["questions"] == admin["result"]["questions"]  # real quotes only


@pytest.mark.parametrize("open_interviews", ["0", "1"])
async def test_too_short_names_the_thresholds_and_a_step_the_reader_can_take(
    db: Database, start_app: Start, open_interviews: str
) -> None:
    client = await start_app(VIVAVOCE_OPEN_INTERVIEWS=open_interviews)
    interview_id = await make_interview(db, [
        ("interviewer", "Tell me about a project you are proud of."),
        ("candidate", "I built a small compiler for class last year."),
        ("interviewer", "How did you test it?"),
        ("candidate", "I wrote many small test programs and compared outputs."),
    ])
    await enqueue_evaluation(db, interview_id)
    await _until_settled(client, interview_id)
    token = issue_interview_token(SECRET_KEY, interview_id)
    body = (await client.get(f"/api/interviews/{interview_id}/evaluation",
                             headers={"Authorization": f"Bearer {token}"})).json()
    assert body["status"] == "insufficient"
    result = body["result"]
    assert (result["answers"], result["candidate_words"]) == (2, 18)
    assert result["thresholds"] == {"min_answers": 2, "min_answer_words": 8,
                                    "min_candidate_words": 40}
    # Two answers were enough; the words were not: only that is said, with the numbers.
    assert "we heard 18 words from you in all, and feedback needs at least 40." in body["message"]
    assert "of at least 8 words" not in body["message"]
    if open_interviews == "1":
        assert "start a new interview" in body["message"]
    else:
        assert "new interview" not in body["message"] and "organiser" in body["message"]


async def test_a_simulated_interview_is_evaluated_offline_even_with_a_key(
    db: Database, start_app: Start, behaviour: ResponsesBehaviour
) -> None:
    from vivavoce.store import interviews as store

    client = await start_app()  # a key, simulator off: a re-run after setting the key
    interview_id = await make_interview(db, GOOD_TRANSCRIPT, status="live")
    async with db.session() as s:
        await store.mark_live(s, interview_id, at=utcnow(), simulated=True)
        await store.mark_ended(s, interview_id, status="ended", reason="test", at=utcnow())
    await enqueue_evaluation(db, interview_id)
    body = await _until_settled(client, interview_id)
    assert body["status"] == "done" and body["method"] == "offline"
    assert body["simulated"] is True and behaviour.requests == []  # nothing paid for
