"""The evaluation API and its background worker.

- ``GET /api/interviews/{id}/evaluation`` — the operator, or the holder of that
  interview's token (the same rule as the interview itself). Candidates get a message
  written for them; the operator also gets the failure reason, tokens and cost.
- ``POST /api/interviews/{id}/evaluation`` — the operator re-runs the evaluation.

:func:`on_startup` loads the rubric (``VIVAVOCE_RUBRIC_FILE`` or the shipped one; a broken
file stops the start with the line at fault) and starts the worker, which also picks up
jobs left by a restart. ``runtime.options.evaluation`` may hold
:class:`~vivavoce.evaluation.runner.EvaluationOptions` (tests shrink the delays).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import openai
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field

from vivavoce.evaluation.jobs import (
    EVALUABLE_INTERVIEW_STATUSES,
    EvaluationBusy,
    InterviewNotEvaluable,
    enqueue_evaluation,
    get_evaluation,
    request_rerun,
)
from vivavoce.evaluation.model_call import CallFailure
from vivavoce.evaluation.rubric import load_rubric
from vivavoce.evaluation.runner import ClientFactory, EvaluationOptions
from vivavoce.evaluation.worker import EvaluationWorker
from vivavoce.openai_client import MissingKeyError, make_async_client
from vivavoce.runtime import Runtime
from vivavoce.store.models import Evaluation, Interview, utcnow
from vivavoce.web.api_interviews import ERROR_RESPONSES, authorize_interview
from vivavoce.web.deps import AdminDep, RuntimeDep, is_admin
from vivavoce.web.errors import ApiError
from vivavoce.web.voice import ensure_simulator

__all__ = [
    "EvaluationOut",
    "client_factory",
    "install",
    "on_shutdown",
    "on_startup",
    "router",
]

router = APIRouter(prefix="/api", tags=["evaluation"], responses=ERROR_RESPONSES)

Status = Literal["pending", "running", "done", "failed", "insufficient"]


class EvaluationOut(BaseModel):
    """An interview's evaluation and where it stands."""

    interview_id: str
    status: Status
    message: str = Field(description="What the status means, written for the candidate.")
    progress: float | None = Field(
        description="0-1, an estimate for a progress bar (time running against a typical "
        "evaluation); null when it failed."
    )
    overall_score: int | None = Field(description="0-100, computed from dimension scores.")
    low_confidence: bool
    invented_quotes: int = Field(description="Quotes dropped: not found in the transcript.")
    result: dict[str, Any] | None = Field(
        description="Dimensions, per-question feedback, strengths, improvements, plan."
    )
    attempts: int
    model: str | None
    error: str | None = Field(description="Why it failed (operator only).")
    input_tokens: int | None = Field(description="Operator only.")
    output_tokens: int | None = Field(description="Operator only.")
    cost_usd: float | None = Field(description="Operator only.")
    created_at: datetime
    updated_at: datetime


def _message(row: Evaluation) -> str:
    if row.status == "done":
        if row.low_confidence:
            return (
                "Your feedback is ready. Some quotes the evaluator cited could not be found "
                "in your transcript and were removed, so read this feedback with some care."
            )
        return "Your feedback is ready."
    if row.status == "insufficient":
        explanation = (row.result or {}).get("explanation")
        return str(explanation) if explanation else "The interview was too short to evaluate."
    if row.status == "failed":
        return (
            "We could not evaluate this interview. The organiser can see why and run the "
            "evaluation again."
        )
    if row.status == "pending" and row.error:
        return "Your interview is being evaluated; it is taking a little longer than usual."
    return "Your interview is being evaluated. This usually takes under a minute."


# A typical evaluation takes about this long; progress creeps towards 0.9 over it.
_TYPICAL_SECONDS = 45.0


def _progress(row: Evaluation, now: datetime) -> float | None:
    if row.status in ("done", "insufficient"):
        return 1.0
    if row.status == "failed":
        return None
    if row.status == "pending":
        return 0.05
    elapsed = max((now - row.updated_at).total_seconds(), 0.0)  # updated when claimed
    return round(0.1 + 0.8 * min(elapsed / _TYPICAL_SECONDS, 1.0), 2)


def _for_candidate(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The result without the invented quotes themselves (they are not the candidate's
    words; the count stays)."""
    if result is None or not isinstance(result.get("evidence"), dict):
        return result
    evidence = {k: v for k, v in result["evidence"].items() if k != "invented_examples"}
    return {**result, "evidence": evidence}


def _out(row: Evaluation, *, admin: bool) -> EvaluationOut:
    status: Status = row.status  # type: ignore[assignment]  # CHECK constraint in the db
    return EvaluationOut(
        interview_id=row.interview_id,
        status=status,
        message=_message(row),
        progress=_progress(row, utcnow()),
        overall_score=row.overall_score,
        low_confidence=row.low_confidence,
        invented_quotes=row.invented_quotes,
        result=row.result if admin else _for_candidate(row.result),
        attempts=row.attempts,
        model=row.model,
        error=row.error if admin else None,
        input_tokens=row.input_tokens if admin else None,
        output_tokens=row.output_tokens if admin else None,
        cost_usd=row.cost_usd if admin else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _valid_id(interview_id: str) -> str:
    try:
        return str(uuid.UUID(interview_id))
    except ValueError:
        raise ApiError(404, "not_found", "No interview with this id.") from None


@router.get("/interviews/{interview_id}/evaluation", response_model=EvaluationOut)
async def read_evaluation(
    interview_id: str, request: Request, runtime: RuntimeDep
) -> EvaluationOut:
    """The evaluation (operator, or that interview's token)."""
    authorize_interview(request, runtime, interview_id)
    interview_id = _valid_id(interview_id)
    row = await get_evaluation(runtime.db, interview_id=interview_id)
    if row is None:
        async with runtime.db.session() as s:
            interview = await s.get(Interview, interview_id)
        if interview is None:
            raise ApiError(404, "not_found", "No interview with this id.")
        if interview.status not in EVALUABLE_INTERVIEW_STATUSES:
            raise ApiError(
                404,
                "evaluation_not_started",
                "The evaluation starts when the interview ends.",
                {"interview_status": interview.status},
            )
        # Ended without a job (the relay stopped between ending it and enqueueing):
        # enqueueing is idempotent, so put the interview where it should be.
        row = await enqueue_evaluation(runtime.db, interview_id)
    return _out(row, admin=is_admin(request, runtime))


@router.post(
    "/interviews/{interview_id}/evaluation", response_model=EvaluationOut, status_code=202
)
async def rerun_evaluation(interview_id: str, _admin: AdminDep, runtime: RuntimeDep) -> EvaluationOut:
    """Run the evaluation again from scratch (operator only). 409 while it is running or
    before the interview has ended."""
    try:
        row = await request_rerun(runtime.db, interview_id=_valid_id(interview_id))
    except InterviewNotEvaluable as exc:
        if exc.reason == "not_found":
            raise ApiError(404, "not_found", "No interview with this id.") from None
        raise ApiError(409, "interview_not_ended", str(exc)) from None
    except EvaluationBusy as exc:
        raise ApiError(409, "evaluation_running", str(exc)) from None
    return _out(row, admin=True)


async def _simulator_base_url(runtime: Runtime) -> str:
    """The built-in simulator's REST base URL, starting it if no interview has yet.

    The simulator belongs to the relay (web/voice.py starts it lazily and keeps it in
    ``runtime.simulator``); we use its starter so there is only ever one. Raises CallFailure
    (transient) when it cannot be started.
    """
    try:
        await ensure_simulator(runtime)
        base_url = runtime.simulator.base_url if runtime.simulator is not None else None
    except RuntimeError:  # it could not start, or stopped meanwhile
        base_url = None
    if base_url is None:
        raise CallFailure(
            "connection",
            "The built-in simulator is not running, so the evaluation cannot run yet.",
            transient=True,
        )
    return base_url


def client_factory(runtime: Runtime, options: EvaluationOptions) -> ClientFactory:
    """Builds the SDK client at job time, so a reloaded key is used by the next job; in
    simulator mode the evaluation goes to the simulator's ``/v1/responses``."""

    async def make() -> openai.AsyncOpenAI:
        settings = runtime.settings
        base_url: str | None = None
        api_key = runtime.api_key
        if settings.use_simulator:
            # Imported here, as the relay does: the simulator pulls in the fake server,
            # which an app talking to OpenAI never needs.
            from vivavoce.simulator import SIMULATOR_KEY

            base_url = await _simulator_base_url(runtime)
            api_key = SIMULATOR_KEY
        try:
            return make_async_client(
                settings,
                api_key=api_key or "",
                base_url=base_url,
                timeout=options.request_timeout_s,
                max_retries=0,  # the job retries, with attempts counted in the database
            )
        except MissingKeyError:
            raise CallFailure(
                "auth",
                "No OpenAI key is configured (OPENAI_API_KEY), so the interview cannot be "
                "evaluated. Set the key, then re-run the evaluation.",
                transient=False,
            ) from None

    return make


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    """Load the rubric (raises RubricError naming the line at fault) and start the worker."""
    rubric = load_rubric(runtime.settings.rubric_file)
    options = runtime.options.evaluation or EvaluationOptions()
    worker = EvaluationWorker(
        runtime.db,
        rubric=rubric,
        model=runtime.settings.evaluation_model,
        client_factory=client_factory(runtime, options),
        options=options,
    )
    runtime.evaluation_worker = worker
    worker.start()


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    worker, runtime.evaluation_worker = runtime.evaluation_worker, None
    if worker is not None:
        await worker.stop()
