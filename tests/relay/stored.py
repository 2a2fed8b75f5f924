"""Read what the app stored, from the test's own event loop (a separate engine)."""

from __future__ import annotations

import asyncio

from vivavoce.store.database import Database
from vivavoce.store.interviews import get_interview, list_interviews, list_turns
from vivavoce.store.models import Interview, Turn

__all__ = ["only_interview", "stored", "stored_after_live"]


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
