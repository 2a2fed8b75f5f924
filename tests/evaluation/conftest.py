"""Fixtures for the evaluation tests: the shipped rubric, a worker wired to the fake, and
one database per backend for the whole session.

Creating, migrating and dropping a PostgreSQL database costs about three seconds; these
tests only need their own rows, so each backend's database is made once and every test
starts from empty tables instead (same real SQLite and PostgreSQL, far less waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import openai
import pytest
from sqlalchemy import delete

from tests.fixtures.database import _postgres_database
from tests.fixtures.fake_openai import RunningFake
from vivavoce.evaluation.jobs import get_evaluation
from vivavoce.evaluation.rubric import Rubric, load_rubric
from vivavoce.evaluation.runner import EvaluationOptions
from vivavoce.evaluation.worker import EvaluationWorker
from vivavoce.store.database import Database
from vivavoce.store.models import Evaluation, Interview, Turn
from vivavoce.testing.fake_responses import ResponsesBehaviour, responses_behaviour
from vivavoce.testing.scenarios import scenario_key

# Small delays so retries are quick; a request timeout generous enough that a busy machine
# does not turn a slow answer into a timeout (the timeout tests set their own).
FAST = EvaluationOptions(
    request_timeout_s=10.0, max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05,
    poll_interval_s=0.05,
)
SETTLED = ("done", "failed", "insufficient")


def _migrate(url: str) -> None:
    async def run() -> None:
        database = Database(url)
        try:
            await database.migrate()
        finally:
            await database.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def _sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("evaluation-db") / "vivavoce.db"
    url = f"sqlite+aiosqlite:///{path}"
    _migrate(url)
    return url


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    # The shared fixture's generator holds no connection between its steps, so each step
    # can run on its own event loop.
    steps = _postgres_database()
    url = asyncio.run(steps.__anext__())
    _migrate(url)
    try:
        yield url
    finally:
        with contextlib.suppress(StopAsyncIteration):
            asyncio.run(steps.__anext__())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The session's migrated database of this backend (tables emptied by ``db``)."""
    url: str = request.getfixturevalue(f"_{request.param}_url")
    return url


async def _empty(database: Database) -> None:
    async with database.session() as s:
        for table in (Evaluation, Turn, Interview):
            await s.execute(delete(table))
        await s.commit()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The backend's database with no interviews, turns or evaluations."""
    database = Database(database_url)
    await _empty(database)
    try:
        yield database
    finally:
        await _empty(database)
        await database.dispose()


@pytest.fixture(scope="session")
def rubric() -> Rubric:
    return load_rubric()


@pytest.fixture
def behaviour(fake_openai: RunningFake) -> ResponsesBehaviour:
    """The fake's /v1/responses faults and the requests it received."""
    return responses_behaviour(fake_openai.fake)


MakeWorker = Callable[..., EvaluationWorker]


@pytest.fixture
def make_worker(fake_openai: RunningFake, rubric: Rubric) -> MakeWorker:
    """make_worker(db, scenario="ok") -> a worker (not started) calling the fake."""

    def make(db: Database, scenario: str = "ok", options: EvaluationOptions = FAST) -> EvaluationWorker:
        async def client() -> openai.AsyncOpenAI:
            return openai.AsyncOpenAI(
                api_key=scenario_key(scenario), base_url=fake_openai.base_url,
                max_retries=0, timeout=options.request_timeout_s,
            )

        return EvaluationWorker(db, rubric=rubric, model="gpt-5-mini", client_factory=client,
                                options=options)

    return make


async def settle(worker: EvaluationWorker, db: Database, interview_id: str,
                 max_runs: int = 20) -> Evaluation:
    """Run the worker's jobs until this interview's evaluation has a final status."""
    for _ in range(max_runs * 20):
        row = await get_evaluation(db, interview_id=interview_id)
        assert row is not None
        if row.status in SETTLED:
            return row
        if not await worker.run_once():
            await asyncio.sleep(0.01)  # a retry is backing off
    raise AssertionError(f"evaluation did not settle: {row.status} {row.error}")
