"""The operator's invites beyond creating one: show a link again, re-issue it (the old one
stops working), and bulk invites from a CSV that give back a CSV of links.

Every route here is the operator's (admin token or cookie). The re-issued link check
itself is :mod:`vivavoce.web.link_guard`, installed here in front of every route.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from vivavoce.interview.candidate import InterviewSettings
from vivavoce.runtime import Runtime
from vivavoce.store import interviews as store
from vivavoce.web.api_interviews import ERROR_RESPONSES, candidate_url
from vivavoce.web.bulk_invites import parse_bulk_csv
from vivavoce.web.csv_export import csv_document
from vivavoce.web.deps import AdminDep, RuntimeDep, SessionDep
from vivavoce.web.errors import ApiError
from vivavoce.web.link_guard import LinkGuard
from vivavoce.web.links import LINK_STATUSES, create_with_link, current_link, reissue_link
from vivavoce.web.pages import link_problem

__all__ = ["LinkOut", "install", "on_shutdown", "on_startup", "router"]

router = APIRouter(prefix="/api", tags=["invites"], responses=ERROR_RESPONSES)

# The CSV of candidates: one request body, well under the service's body limit.
_MAX_CSV_BYTES = 512 * 1024


class LinkOut(BaseModel):
    id: str
    status: str
    candidate_name: str | None
    reference: str | None
    note: str | None
    token: str
    token_expires_at: datetime
    candidate_url: str


async def _link_interview(session: Any, interview_id: str) -> Any:
    try:
        found = await store.get_interview(session, str(uuid.UUID(interview_id)))
    except ValueError:
        found = None
    if found is None:
        raise ApiError(404, "not_found", "No interview with this id.", {"id": interview_id[:64]})
    if found.status not in LINK_STATUSES:
        raise ApiError(
            409,
            "link_used",
            "This interview has taken place; its link no longer starts anything. Invite "
            "the candidate again for a new interview.",
        )
    return found


def _out(runtime: Runtime, request: Request, interview: Any, token: str, at: datetime) -> LinkOut:
    candidate = interview.candidate if isinstance(interview.candidate, dict) else {}
    return LinkOut(
        id=interview.id,
        status=interview.status,
        candidate_name=candidate.get("name"),
        reference=interview.reference,
        note=interview.note,
        token=token,
        token_expires_at=at,
        candidate_url=candidate_url(runtime, request, token),
    )


@router.get("/interviews/{interview_id}/link", response_model=LinkOut)
async def get_link(
    interview_id: str, _admin: AdminDep, request: Request, runtime: RuntimeDep,
    session: SessionDep,
) -> LinkOut:
    """The current link of an interview not yet taken (or resumable), again."""
    interview = await _link_interview(session, interview_id)
    link = current_link(runtime.secret_key, interview)
    if link is None:
        raise ApiError(
            409,
            "link_not_kept",
            "This link was issued before vivavoce kept links, so it cannot be shown again. "
            "Re-issue it to get a new one.",
        )
    return _out(runtime, request, interview, *link)


@router.post("/interviews/{interview_id}/reissue", response_model=LinkOut)
async def reissue(
    interview_id: str, _admin: AdminDep, request: Request, runtime: RuntimeDep,
    session: SessionDep,
) -> LinkOut:
    """A new link for the interview; the previous one stops working at once."""
    interview = await _link_interview(session, interview_id)
    link = await reissue_link(session, runtime.secret_key, interview.id)
    if link is None:
        await _link_interview(session, interview_id)  # gone or taken meanwhile: say which
        raise ApiError(409, "link_used", "The interview changed meanwhile; try again.")
    fresh = await store.get_interview(session, interview.id)
    return _out(runtime, request, fresh or interview, *link)


async def _csv_bytes(request: Request) -> bytes:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=2)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(
                    422, "invalid_input", "Send the CSV as a multipart form field named 'file'.",
                    [{"loc": ["body", "file"], "msg": "Field required"}],
                )
            data = await upload.read(_MAX_CSV_BYTES + 1)
        finally:
            await form.close()
    else:
        data = await request.body()
    if len(data) > _MAX_CSV_BYTES:
        raise ApiError(413, "too_large", f"The CSV is larger than {_MAX_CSV_BYTES // 1024} KB.")
    return data


@router.post(
    "/invites/bulk",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "One line per candidate with the link"}},
)
async def bulk_invites(
    _admin: AdminDep, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Invite many: a CSV (``text/csv`` body or multipart ``file``) with the columns
    ``name``, ``email`` or ``reference``, ``field``, ``level``, ``role`` (and optional
    ``note``). All rows are checked first; any bad row is a 422 listing every bad line
    and nothing is created. Otherwise the answer is a CSV of the links."""
    rows, problems = parse_bulk_csv(await _csv_bytes(request))
    if problems:
        raise ApiError(
            422,
            "invalid_csv",
            f"{len(problems)} line(s) of the CSV have problems; nothing was created. "
            + " ".join(f"Line {p.line}: {' '.join(p.problems)}" for p in problems[:5]),
            [p.as_detail() for p in problems],
        )
    try:
        service = runtime.settings
        settings = InterviewSettings.with_defaults(
            model=service.realtime_model, voice=service.voice,
            max_duration_s=service.max_interview_seconds,
        )
    except ValidationError:
        raise ApiError(
            503, "service_misconfigured",
            "A service setting for interviews is not valid; the operator needs to fix it.",
        ) from None
    out = []
    for row in rows:
        interview, token, expires = await create_with_link(
            session, runtime.secret_key, candidate=row.candidate, settings=settings,
            note=row.note, reference=row.reference,
        )
        out.append([
            row.line, row.candidate.name, row.reference, row.candidate.field,
            row.candidate.level, row.candidate.target_role, interview.id,
            candidate_url(runtime, request, token),
            expires.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        ])
    header = ["line", "name", "reference", "field", "level", "role", "id", "link",
              "link expires (UTC)"]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(
        csv_document(header, out),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="invites-{stamp}.csv"'},
    )


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)

    def revoked_page(request: Request, message: str) -> Response:
        response = link_problem(request, message, expired=True)
        return response

    app.add_middleware(LinkGuard, runtime=runtime, page=revoked_page)


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    return None


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    return None
