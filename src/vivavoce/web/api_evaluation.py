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
from vivavoce.evaluation.offline import OFFLINE_LABEL, SIMULATED_NOTE
from vivavoce.evaluation.rubric import load_rubric
from vivavoce.evaluation.runner import ClientFactory, EvaluationOptions
from vivavoce.evaluation.worker import EvaluationWorker
from vivavoce.openai_client import MissingKeyError, make_async_client
from vivavoce.runtime import Runtime
from vivavoce.store.models import Evaluation, Interview, utcnow
from vivavoce.web.api_budget import budget_allows_spending
from vivavoce.web.api_interviews import ERROR_RESPONSES, authorize_interview
from vivavoce.web.deps import AdminDep, RuntimeDep, is_admin
from vivavoce.web.errors import ApiError

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
    method: Literal["model", "offline"] | None = Field(
        description="How it was judged: 'model' (the evaluation model, with the offline "
        "signals beside it) or 'offline' (rule-based, no AI). Null until it is done."
    )
    method_label: str | None = Field(description="The method in words, for a page.")
    simulated: bool = Field(
        description="The interview ran against the built-in simulator: the candidate's "
        "words were not transcribed and its candidate lines are examples."
    )
    simulated_note: str | None = Field(description="What `simulated` means, in words.")
    attempts: int
    model: str | None
    error: str | None = Field(description="Why it failed (operator only).")
    input_tokens: int | None = Field(description="Operator only.")
    output_tokens: int | None = Field(description="Operator only.")
    cost_usd: float | None = Field(description="Operator only.")
    created_at: datetime
    updated_at: datetime


def _next_step(can_start_new: bool) -> str:
    """What to do after a too-short interview. Only someone who can start an interview
    (open interviews) is told to; a link holder cannot, and asks the organiser."""
    if can_start_new:
        return (" When you are ready, start a new interview from the start page and answer "
                "a few questions in a sentence or more each; feedback follows right after.")
    return (" If you would like feedback, ask the organiser who sent your link for a new "
            "one.")


def _message(row: Evaluation, *, can_start_new: bool = False) -> str:
    if row.status == "done":
        if row.low_confidence:
            return (
                "Your feedback is ready. Some quotes the evaluator cited could not be found "
                "in your transcript and were removed, so read this feedback with some care."
            )
        return "Your feedback is ready."
    if row.status == "insufficient":
        explanation = (row.result or {}).get("explanation")
        text = str(explanation) if explanation else "The interview was too short to evaluate."
        return text + _next_step(can_start_new)
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


_MODEL_LABEL = "AI evaluation, checked against your words by rule-based signals"


def _method(row: Evaluation) -> tuple[Literal["model", "offline"] | None, str | None]:
    result = row.result or {}
    if row.status != "done":
        return None, None
    if result.get("method") == "offline":
        return "offline", OFFLINE_LABEL
    return "model", _MODEL_LABEL


def _out(row: Evaluation, *, admin: bool, simulated: bool = False,
         can_start_new: bool = False) -> EvaluationOut:
    status: Status = row.status  # type: ignore[assignment]  # CHECK constraint in the db
    method, label = _method(row)
    return EvaluationOut(
        interview_id=row.interview_id,
        status=status,
        message=_message(row, can_start_new=can_start_new),
        method=method,
        method_label=label,
        simulated=simulated,
        simulated_note=SIMULATED_NOTE if simulated else None,
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
    async with runtime.db.session() as s:
        interview = await s.get(Interview, interview_id)
    if interview is None:
        raise ApiError(404, "not_found", "No interview with this id.")
    row = await get_evaluation(runtime.db, interview_id=interview_id)
    if row is None:
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
    simulated = bool(interview.simulated) or bool((row.result or {}).get("simulated"))
    return _out(row, admin=is_admin(request, runtime), simulated=simulated,
                can_start_new=runtime.settings.allow_open_interviews)


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


def client_factory(runtime: Runtime, options: EvaluationOptions) -> ClientFactory:
    """Builds the SDK client at job time, so a reloaded key is used by the next job. (In
    simulator mode no client is needed: the evaluation is the offline one.)"""

    async def make() -> openai.AsyncOpenAI:
        settings = runtime.settings
        try:
            return make_async_client(
                settings,
                api_key=runtime.api_key or "",
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
        # The simulator mode is evaluated offline (asked per job: a reload may change it).
        offline=lambda: runtime.settings.use_simulator,
        # Spend limits: jobs wait while today's or this month's budget is spent.
        budget_allows=lambda: budget_allows_spending(runtime),
    )
    runtime.evaluation_worker = worker
    worker.start()


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    worker, runtime.evaluation_worker = runtime.evaluation_worker, None
    if worker is not None:
        await worker.stop()
