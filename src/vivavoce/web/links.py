"""Candidate links the operator can show again and re-issue.

A new interview stores the nonce and expiry of its link (``token_nonce``,
``token_expires_at``); signing is deterministic, so those give the very same link back
(:func:`current_link`). Re-issuing (:func:`reissue_link`) stores a new nonce and expiry:
the old link's nonce no longer matches, and :mod:`vivavoce.web.link_guard` refuses it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.store import interviews as store
from vivavoce.store.models import Interview
from vivavoce.tokens import DEFAULT_MAX_AGE_S, issue_interview_token, new_nonce

__all__ = ["LINK_STATUSES", "create_with_link", "current_link", "reissue_link"]

# A link is worth showing while its interview can still run (not taken, or resumable).
LINK_STATUSES = ("created", "live")


def _expiry(now: float | None = None) -> int:
    return int((time.time() if now is None else now) + DEFAULT_MAX_AGE_S)


async def create_with_link(
    s: AsyncSession,
    secret_key: str,
    *,
    candidate: CandidateContext,
    settings: InterviewSettings,
    note: str | None = None,
    reference: str | None = None,
) -> tuple[Interview, str, datetime]:
    """A new interview with its link stored in the same row: (interview, token, expiry)."""
    nonce, expires = new_nonce(), _expiry()
    interview = await store.create_interview(
        s,
        candidate=candidate,
        settings=settings,
        note=note,
        reference=reference,
        token_nonce=nonce,
        token_expires_at=datetime.fromtimestamp(expires, UTC),
    )
    token = issue_interview_token(secret_key, interview.id, nonce=nonce, expires_at=expires)
    return interview, token, datetime.fromtimestamp(expires, UTC)


def current_link(secret_key: str, interview: Interview) -> tuple[str, datetime] | None:
    """The interview's current link and its expiry, or None when it cannot be shown
    again (issued before links were kept: re-issue it)."""
    if interview.token_nonce is None or interview.token_expires_at is None:
        return None
    expires = int(interview.token_expires_at.timestamp())
    token = issue_interview_token(
        secret_key, interview.id, nonce=interview.token_nonce, expires_at=expires
    )
    return token, interview.token_expires_at


async def reissue_link(
    s: AsyncSession, secret_key: str, interview_id: str
) -> tuple[str, datetime] | None:
    """A new link (new nonce, a fresh week) for an interview that can still run; the old
    link stops working. None when the interview is gone or has been taken (compare-and-set
    on the status, so a link is never re-issued for an interview that just ended)."""
    nonce, expires = new_nonce(), _expiry()
    at = datetime.fromtimestamp(expires, UTC)
    result = await s.execute(
        update(Interview)
        .where(Interview.id == interview_id, Interview.status.in_(LINK_STATUSES))
        .values(token_nonce=nonce, token_expires_at=at)
    )
    await s.commit()
    if getattr(result, "rowcount", 0) != 1:
        return None
    return issue_interview_token(secret_key, interview_id, nonce=nonce, expires_at=expires), at
