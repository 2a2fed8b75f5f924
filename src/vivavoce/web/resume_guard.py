"""Who may upload a résumé, how often, and which files are refused at once.

- Allowed for the operator, the holder of an interview's token, and anyone only when
  open interviews are on (the public start page needs it) or in development on loopback.
- Counted per client address and per interview in ``rate_counters`` (shared by every
  worker and instance): past ``VIVAVOCE_RESUME_UPLOADS_PER_ADDRESS`` /
  ``…_PER_INTERVIEW`` in ``VIVAVOCE_RESUME_UPLOAD_WINDOW_SECONDS`` the answer is 429 with
  ``Retry-After``. The operator is not counted.
- A file that ran into a parsing limit (time, memory) is remembered by its SHA-256 in
  ``resume_rejects``: the same bytes are refused at once with the same answer, so one
  small hostile PDF cannot keep a parser busy for everyone again and again.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta

from fastapi.responses import JSONResponse
from starlette.requests import Request

from vivavoce import metrics
from vivavoce.resume import ResumeError
from vivavoce.runtime import Runtime
from vivavoce.store import security as store
from vivavoce.store.models import utcnow
from vivavoce.tokens import InvalidInterviewToken, verify_interview_token
from vivavoce.web.auth_guard import client_subject
from vivavoce.web.deps import bearer_token, is_admin
from vivavoce.web.errors import ApiError, error_body

__all__ = ["LIMIT_CODES", "Uploader", "check_rate", "file_hash", "known_reject", "remember", "uploader"]

# The parsing limits whose files are remembered (a file that is merely not a résumé is
# cheap to refuse again and is not).
LIMIT_CODES = frozenset({"too_complex", "too_much_memory"})


class Uploader:
    """Who is uploading: the operator, an interview (by id), or an open-interview visitor."""

    def __init__(self, admin: bool, interview_id: str | None) -> None:
        self.admin = admin
        self.interview_id = interview_id


def uploader(request: Request, runtime: Runtime) -> Uploader:
    """Raises ApiError 401 when the upload is not allowed."""
    if is_admin(request, runtime):
        return Uploader(True, None)
    token = bearer_token(request) or request.query_params.get("token")
    if token:
        try:
            return Uploader(False, verify_interview_token(runtime.secret_key, token))
        except InvalidInterviewToken:
            pass
    settings = runtime.settings
    if settings.allow_open_interviews or settings.local_development:
        return Uploader(False, None)
    raise ApiError(
        401, "unauthorized", "Uploading a résumé needs an interview token or the admin token."
    )


def _too_many(limit: str, retry_after: int, message: str) -> JSONResponse:
    metrics.rate_limited(limit)
    return JSONResponse(
        error_body("rate_limited", message),
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )


async def check_rate(request: Request, runtime: Runtime, who: Uploader) -> JSONResponse | None:
    """Count this upload; the 429 answer when a limit is passed (None: go on)."""
    if who.admin:
        return None
    settings = runtime.settings
    window = settings.resume_upload_window_seconds
    now = utcnow()
    checks = [("resume_address", client_subject(request), settings.resume_uploads_per_address)]
    if who.interview_id is not None:
        checks.append(("resume_interview", who.interview_id[:128],
                       settings.resume_uploads_per_interview))
    async with runtime.db.session() as db:
        for kind, subject, limit in checks:
            count, first_at = await store.bump(db, kind, subject, now, window)
            if count > limit:
                wait = max(1, math.ceil(
                    (first_at + timedelta(seconds=window) - now).total_seconds()))
                whom = "this address" if kind == "resume_address" else "this interview"
                return _too_many(
                    kind, wait,
                    f"Too many résumé uploads from {whom}; try again in {wait} s, or paste "
                    "the text instead.",
                )
    return None


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def known_reject(runtime: Runtime, digest: str) -> ApiError | None:
    """The stored answer for a file that hit a parsing limit before (None: not known)."""
    async with runtime.db.session() as db:
        row = await store.find_reject(db, digest)
    if row is None:
        return None
    return ApiError(row.status, row.code, row.message)


async def remember(runtime: Runtime, digest: str, exc: ResumeError) -> None:
    if exc.code not in LIMIT_CODES:
        return
    async with runtime.db.session() as db:
        await store.remember_reject(db, digest, exc.status, exc.code, exc.message, utcnow())
