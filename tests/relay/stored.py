"""Read what the app stored, and store a link interview as the operator's API does, from
the test's own event loop (a separate engine)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.store.database import Database
from vivavoce.store.interviews import create_interview, get_interview, list_interviews, list_turns
from vivavoce.store.models import Interview, Turn
from vivavoce.tokens import issue_interview_token

if TYPE_CHECKING:
    from tests.fixtures.app_server import RunningApp

__all__ = [
    "link_interview",
    "only_interview",
    "stored",
    "stored_after_live",
    "stored_kept_after_network_loss",
]


async def link_interview(
    app: RunningApp, name: str = "Grace", major: str = "Finance"
) -> tuple[str, str]:
    """A link (token) interview, stored the way the operator's API stores it: (id, token)."""
    db = Database(app.database_url)
    try:
        async with db.session() as s:
            created = await create_interview(
                s, candidate=CandidateContext(name=name, major=major),
                settings=InterviewSettings.with_defaults(
                    model=app.runtime.settings.realtime_model, voice=app.runtime.settings.voice,
                    max_duration_s=app.runtime.settings.max_interview_seconds))
    finally:
        await db.dispose()
    return created.id, issue_interview_token(app.runtime.secret_key, created.id)


async def stored(database_url: str, interview_id: str) -> tuple[Interview, list[Turn]]:
    db = Database(database_url)
    try:
        async with db.session() as s:
            interview = await get_interview(s, interview_id)
            assert interview is not None, f"interview {interview_id} was not stored"
            return interview, await list_turns(s, interview_id)
    finally:
        await db.dispose()


async def only_interview(database_url: str) -> Interview:
    db = Database(database_url)
    try:
        async with db.session() as s:
            page, total = await list_interviews(s)
            assert total == 1, f"expected one interview, found {total}"
            return page[0]
    finally:
        await db.dispose()


async def stored_after_live(database_url: str, interview_id: str) -> Interview:
    """The stored interview once it has ended (the relay stores the end just after the
    sockets close; on a busy machine even its ``live`` mark may still be on its way when
    the browser is told the interview started, so ``created`` is waited out too). Polls
    with a hang guard of a few seconds, no timing assert."""
    for _ in range(200):
        interview, _ = await stored(database_url, interview_id)
        if interview.status not in ("created", "live"):
            break
        await asyncio.sleep(0.02)
    return interview


async def stored_kept_after_network_loss(
    database_url: str, interview_id: str, error: dict[str, Any], ended: dict[str, Any]
) -> list[Turn]:
    """A link's interview that lost OpenAI for good (network_unreachable): the browser was
    told it is retryable, and the row stays live and resumable with the cause recorded.
    Returns its stored turns."""
    assert (error["cause"], error["retryable"]) == ("network_unreachable", True)
    assert (ended["reason"], ended["retryable"]) == ("network_unreachable", True)
    for _ in range(1000):  # a hang guard, not a timing assertion
        interview, turns = await stored(database_url, interview_id)
        if interview.error_code == "network_unreachable":
            assert (interview.status, interview.ended_at) == ("live", None)
            return turns
        await asyncio.sleep(0.01)
    raise AssertionError("the cause was never recorded")
