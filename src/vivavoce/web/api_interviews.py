"""REST API for interview records: create, read, list, transcript, delete.

Who may do what:
- create: the operator (admin token), or anyone when open interviews are allowed
  (development by default, ``VIVAVOCE_OPEN_INTERVIEWS``);
- read one interview and its transcript: the operator, or the holder of that interview's
  token (``Authorization: Bearer <token>`` or ``?token=``);
- list and delete: the operator.

Every error is the one JSON shape of :mod:`vivavoce.web.errors`; bad input is a 4xx.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.interview.candidate import (
    LANGUAGE_PATTERN,
    MODEL_PATTERN,
    VOICE_PATTERN,
    CandidateContext,
    Difficulty,
    InterviewSettings,
)
from vivavoce.runtime import Runtime
from vivavoce.store import interviews as store
from vivavoce.store.export import transcript_filename, transcript_markdown, transcript_text
from vivavoce.store.models import Interview, Turn
from vivavoce.tokens import InvalidInterviewToken, verify_interview_token
from vivavoce.web import api_interview_list, api_resume
from vivavoce.web.deps import AdminDep, RuntimeDep, SessionDep, bearer_token, is_admin
from vivavoce.web.errors import ApiError
from vivavoce.web.links import create_with_link
from vivavoce.web.voice import stop_relay_for_deletion

__all__ = [
    "ERROR_RESPONSES",
    "ErrorBody",
    "authorize_interview",
    "candidate_url",
    "install",
    "on_shutdown",
    "on_startup",
    "request_token",
    "router",
]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The one error shape of the whole API."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "Malformed request",
        401: "Missing or invalid credentials",
        403: "Not allowed",
        404: "No such interview",
        409: "Conflict with the interview's state",
        422: "Invalid input",
    }.items()
}

router = APIRouter(prefix="/api", tags=["interviews"], responses=ERROR_RESPONSES)


# --- request and response bodies --------------------------------------------------------


class SettingsIn(BaseModel):
    """Optional per-interview settings; unset values come from the service settings."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        default=None, pattern=MODEL_PATTERN, description="Realtime model (operator only)."
    )
    voice: str | None = Field(default=None, pattern=VOICE_PATTERN)
    language: str | None = Field(default=None, pattern=LANGUAGE_PATTERN, examples=["en", "de-CH"])
    difficulty: Difficulty | None = None
    max_duration_s: int | None = Field(
        default=None,
        ge=60,
        le=3500,
        description="Capped at the service's VIVAVOCE_MAX_INTERVIEW_SECONDS.",
    )


class CreateInterviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate: CandidateContext
    settings: SettingsIn | None = None
    note: str | None = Field(
        default=None, max_length=2000, description="Private note for the operators (operator only)."
    )
    reference: str | None = Field(
        default=None, max_length=200, description="The candidate's email or your reference (operator only)."
    )


class CreatedInterview(BaseModel):
    id: str
    status: str
    token: str = Field(description="Per-interview token (Bearer or ?token=).")
    token_expires_at: datetime
    candidate_url: str = Field(description="The link to send the candidate.")
    settings: InterviewSettings = Field(description="The settings the interview will run with.")


class UsageOut(BaseModel):
    input_text_tokens: int
    input_audio_tokens: int
    input_cached_tokens: int
    output_text_tokens: int
    output_audio_tokens: int
    cost_usd: float


class InterviewOut(BaseModel):
    id: str
    status: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    error_code: str | None
    model: str | None
    candidate: dict[str, Any]
    settings: dict[str, Any]
    usage: UsageOut
    simulated: bool = Field(
        default=False,
        description="Ran against the built-in simulator: the candidate's words were not "
        "transcribed (the candidate lines are examples) and nothing was billed.",
    )


class TurnOut(BaseModel):
    sequence: int
    speaker: str
    text: str
    started_at: datetime | None
    ended_at: datetime | None
    audio_ms: int | None
    state: str = Field(description="complete, interrupted (the candidate cut in) or partial.")
    full_text: str | None = Field(
        default=None,
        description="An interrupted interviewer turn's whole text; `text` is what was heard.",
    )


class TranscriptOut(BaseModel):
    interview_id: str
    status: str
    turns: list[TurnOut]


def _interview_out(i: Interview) -> InterviewOut:
    return InterviewOut(
        id=i.id,
        status=i.status,
        created_at=i.created_at,
        started_at=i.started_at,
        ended_at=i.ended_at,
        end_reason=i.end_reason,
        error_code=i.error_code,
        model=i.model,
        candidate=i.candidate,
        settings=i.settings,
        usage=UsageOut(
            input_text_tokens=i.input_text_tokens,
            input_audio_tokens=i.input_audio_tokens,
            input_cached_tokens=i.input_cached_tokens,
            output_text_tokens=i.output_text_tokens,
            output_audio_tokens=i.output_audio_tokens,
            cost_usd=i.cost_usd,
        ),
        simulated=bool(i.simulated),
    )


def _turn_out(t: Turn) -> TurnOut:
    return TurnOut(
        sequence=t.sequence,
        speaker=t.speaker,
        text=t.text,
        started_at=t.started_at,
        ended_at=t.ended_at,
        audio_ms=t.audio_ms,
        state=t.state,
        full_text=t.full_text,
    )


# --- helpers others use too -------------------------------------------------------------


def candidate_url(runtime: Runtime, request: Request, token: str) -> str:
    """``{base}/i/{token}``: base is VIVAVOCE_PUBLIC_URL, else the request's own base URL
    (behind a proxy uvicorn's proxy headers make that the public one)."""
    base = runtime.settings.public_url or str(request.base_url)
    return f"{base.rstrip('/')}/i/{token}"


def request_token(request: Request) -> str | None:
    """The per-interview token from ``Authorization: Bearer`` or ``?token=``."""
    return bearer_token(request) or request.query_params.get("token") or None


def authorize_interview(request: Request, runtime: Runtime, interview_id: str) -> None:
    """Allow the operator, or the holder of this interview's token.

    Raises ApiError 401 (no/invalid/expired token) or 403 (a token for another interview).
    """
    if is_admin(request, runtime):
        return
    token = request_token(request)
    if not token:
        raise ApiError(
            401,
            "unauthorized",
            "This needs the interview's token ('Authorization: Bearer <token>' or ?token=) "
            "or the admin token.",
        )
    try:
        allowed = verify_interview_token(runtime.secret_key, token)
    except InvalidInterviewToken as exc:
        code = "token_expired" if exc.reason == "expired" else "invalid_token"
        raise ApiError(401, code, str(exc)) from None
    if allowed != interview_id:
        raise ApiError(403, "forbidden", "This token is for a different interview.")


def _not_found(interview_id: str) -> ApiError:
    return ApiError(404, "not_found", "No interview with this id.", {"id": interview_id[:64]})


def _valid_id(interview_id: str) -> str:
    # Ids are UUIDs; anything else cannot exist (and must not reach the database driver,
    # which would reject e.g. NUL characters with an error of its own).
    try:
        return str(uuid.UUID(interview_id))
    except ValueError:
        raise _not_found(interview_id) from None


async def _load(session: AsyncSession, interview_id: str) -> Interview:
    interview = await store.get_interview(session, _valid_id(interview_id))
    if interview is None:
        raise _not_found(interview_id)
    return interview


# The service setting each interview setting defaults to.
_SETTING_VARIABLES = {
    "model": "VIVAVOCE_REALTIME_MODEL",
    "voice": "VIVAVOCE_VOICE",
    "max_duration_s": "VIVAVOCE_MAX_INTERVIEW_SECONDS",
}


def _raise_if_misconfigured(exc: ValidationError, overrides: dict[str, Any]) -> None:
    """A default taken from the service's own settings is invalid: that is the operator's
    to fix, not the caller's, so it is a 503 naming the variable (never the value)."""
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        if name in _SETTING_VARIABLES and name not in overrides:
            raise ApiError(
                503,
                "service_misconfigured",
                f"The service's {_SETTING_VARIABLES[name]} is not valid ({error['msg']}); "
                "the operator needs to fix it. Interviews cannot be created until then.",
            ) from None


# --- endpoints ---------------------------------------------------------------------------


@router.post(
    "/interviews",
    status_code=201,
    response_model=CreatedInterview,
    responses={
        503: {"model": ErrorBody, "description": "A service setting is not valid (named)"}
    },
)
async def create_interview(
    body: CreateInterviewIn, request: Request, runtime: RuntimeDep, session: SessionDep
) -> CreatedInterview:
    """Create an interview; returns its token and the link for the candidate.

    ``candidate`` accepts the original client's names (``major``, ``year``,
    ``resumeText``, ``targetRole``) as well as ``field``, ``level``, ``resume_text``,
    ``target_role``.
    """
    admin = is_admin(request, runtime)
    if not admin and not runtime.settings.allow_open_interviews:
        raise ApiError(
            401,
            "unauthorized",
            "Creating interviews needs the admin token ('Authorization: Bearer "
            "<VIVAVOCE_ADMIN_TOKEN>'); open interviews are switched off.",
        )
    overrides = body.settings.model_dump(exclude_none=True) if body.settings else {}
    if "model" in overrides and not admin:
        raise ApiError(403, "forbidden", "Only the operator can choose the model.")
    if (body.note or body.reference) and not admin:
        raise ApiError(403, "forbidden", "Only the operator can add a note or a reference.")
    # The operator's limit wins; the effective value is in the response.
    limit = runtime.settings.max_interview_seconds
    if overrides.get("max_duration_s", 0) > limit:
        overrides["max_duration_s"] = limit
    try:
        settings = InterviewSettings.with_defaults(
            model=runtime.settings.realtime_model,
            voice=runtime.settings.voice,
            max_duration_s=limit,
            overrides=overrides,
        )
    except ValidationError as exc:
        _raise_if_misconfigured(exc, overrides)
        raise ApiError(
            422,
            "invalid_input",
            "The interview settings are not valid.",
            [
                {"loc": ["body", "settings", *map(str, e["loc"])], "msg": e["msg"]}
                for e in exc.errors()
            ],
        ) from None
    interview, token, expires = await create_with_link(
        session,
        runtime.secret_key,
        candidate=body.candidate,
        settings=settings,
        note=(body.note or "").strip() or None,
        reference=(body.reference or "").strip() or None,
    )
    return CreatedInterview(
        id=interview.id,
        status=interview.status,
        token=token,
        token_expires_at=expires,
        candidate_url=candidate_url(runtime, request, token),
        settings=settings,
    )


@router.get("/interviews/{interview_id}", response_model=InterviewOut)
async def get_interview(
    interview_id: str, request: Request, runtime: RuntimeDep, session: SessionDep
) -> InterviewOut:
    """One interview (operator, or that interview's token)."""
    authorize_interview(request, runtime, interview_id)
    return _interview_out(await _load(session, interview_id))


@router.get(
    "/interviews/{interview_id}/transcript",
    response_model=TranscriptOut,
    responses={
        200: {
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "text/markdown": {"schema": {"type": "string"}},
            }
        }
    },
)
async def get_transcript(
    interview_id: str,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    format: Annotated[Literal["json", "text", "markdown"], Query()] = "json",
) -> Any:
    """The transcript as JSON, or as a plain-text / Markdown download."""
    authorize_interview(request, runtime, interview_id)
    interview = await _load(session, interview_id)
    turns = await store.list_turns(session, interview.id)
    if format == "json":
        return TranscriptOut(
            interview_id=interview.id, status=interview.status, turns=[_turn_out(t) for t in turns]
        )
    if format == "text":
        body, media, ext = transcript_text(interview, turns), "text/plain", "txt"
    else:
        body, media, ext = transcript_markdown(interview, turns), "text/markdown", "md"
    filename = transcript_filename(interview, ext)
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.delete("/interviews/{interview_id}", status_code=204)
async def delete_interview(
    interview_id: str,
    _admin: AdminDep,
    runtime: RuntimeDep,
    session: SessionDep,
    force: Annotated[bool, Query(description="Delete even while it is live.")] = False,
) -> Response:
    """Delete the interview and everything about it (operator only). A live one (with
    ``force``) is first ended on this instance: its candidate is told it was removed."""
    interview = await _load(session, interview_id)
    if interview.status == "live" and not force:
        raise ApiError(
            409,
            "interview_live",
            "The interview is live. End it first, or repeat with ?force=true.",
        )
    found = interview.id
    # No transaction held open while the relay stops (it may take a few seconds).
    await session.rollback()
    # Any status: a link still connecting has a relay too, which would write to it.
    await stop_relay_for_deletion(runtime, found)
    await store.delete_interview(session, found)
    return Response(status_code=204)


def install(app: FastAPI, runtime: Runtime) -> None:
    # The list first: its GET /api/interviews shares the prefix.
    api_interview_list.install(app, runtime)
    app.include_router(router)
    api_resume.install(app, runtime)


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    return None


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    # The résumé parser processes belong to the upload route installed above.
    await api_resume.on_shutdown(app, runtime)
