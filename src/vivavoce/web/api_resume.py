"""``POST /api/resume``: a résumé file in, clean text and best-effort fields out.

Allowed for the operator, the holder of an interview token, or anyone when open
interviews are allowed (the original client's start page has no token) or in development
on loopback; limited per address and per interview, and files that hit a parsing limit
are refused at once the next time (web/resume_guard.py).
"""

from __future__ import annotations

from typing import Literal

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from vivavoce.resume import (
    MAX_BYTES,
    ReaderLimits,
    ResumeError,
    ResumeFields,
    ResumeReader,
    guess_fields,
    read_resume,
)
from vivavoce.runtime import Runtime
from vivavoce.web import resume_guard
from vivavoce.web.deps import RuntimeDep
from vivavoce.web.errors import ApiError, error_body

__all__ = ["ResumeOut", "install", "on_shutdown", "router"]

router = APIRouter(prefix="/api", tags=["resume"])

# A busy answer says when to try again: about what a typical parse takes, with margin.
_RETRY_AFTER_S = 5


class ResumeOut(BaseModel):
    kind: Literal["pdf", "docx", "txt"]
    text: str
    truncated: bool
    pages: int | None
    chars: int
    fields: ResumeFields


def _too_large() -> ApiError:
    return ApiError(
        413, "too_large", f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."
    )


_UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "PDF, DOCX or TXT, at most 5 MB.",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/resume",
    response_model=ResumeOut,
    openapi_extra=_UPLOAD_SCHEMA,
    responses={
        status: {"description": text}
        for status, text in {
            400: "Malformed upload",
            401: "Not allowed",
            413: "File too large",
            415: "Not a PDF, DOCX or text file",
            422: "Encrypted, damaged, text-less, too slow or too memory-hungry file, or no file",
            429: "Too many uploads from this address or for this interview (Retry-After)",
            503: "Too many résumés being read at once (busy, with Retry-After), or none can be",
        }.items()
    },
)
async def upload_resume(request: Request, runtime: RuntimeDep) -> ResumeOut | JSONResponse:
    """Extract text from a résumé (judged by content, not by its name or type) and guess
    name, field, level and skills for the candidate to correct."""
    who = resume_guard.uploader(request, runtime)
    refused = await resume_guard.check_rate(request, runtime, who)
    if refused is not None:
        return refused
    # The request as a whole (Content-Length, or counted while chunks arrive) is bounded
    # by vivavoce.web.limits before this runs; here only the file itself is measured.
    form = await request.form(max_files=1, max_fields=5)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422,
                "invalid_input",
                "Send the résumé as a multipart form field named 'file'.",
                [{"loc": ["body", "file"], "msg": "Field required"}],
            )
        data = await upload.read(MAX_BYTES + 1)
    finally:
        await form.close()
    if len(data) > MAX_BYTES:
        raise _too_large()
    digest = resume_guard.file_hash(data)
    known = await resume_guard.known_reject(runtime, digest)
    if known is not None:
        raise known
    reader = runtime.resume_reader
    assert reader is not None  # install() made it before the first request
    try:
        # In a separate process, killed at the deadline, memory-limited, a few at once
        # (vivavoce.resume.isolated); the event loop only awaits it.
        result = await reader.read(data, parse=read_resume)
    except ResumeError as exc:
        if exc.code == "busy":
            # ApiError carries no headers; the body is the same one error shape.
            return JSONResponse(
                error_body(exc.code, exc.message),
                status_code=exc.status,
                headers={"Retry-After": str(_RETRY_AFTER_S)},
            )
        await resume_guard.remember(runtime, digest, exc)
        raise ApiError(exc.status, exc.code, exc.message) from None
    fields = guess_fields(result.text)
    return ResumeOut(
        kind=result.kind,
        text=result.text,
        truncated=result.truncated,
        pages=result.pages,
        chars=len(result.text),
        fields=fields,
    )


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)
    # Its parser processes start on the first upload and stop when the reader is
    # collected or the server exits (each one ends when its stdin closes).
    runtime.resume_reader = ResumeReader(ReaderLimits.from_settings(runtime.settings))


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    """Stop the parser processes now rather than when the reader is collected."""
    reader = runtime.resume_reader
    if reader is not None:
        await anyio.to_thread.run_sync(reader.close)
