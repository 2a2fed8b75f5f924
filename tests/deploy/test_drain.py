"""SIGTERM drains ``/voice`` (web/graceful.py): a real ``vivavoce serve`` process with a
live link interview and a live open interview is told to stop.

The link's browser gets the retryable ``server_restarting`` error and
``interview_ended`` (retryable, ``server_shutdown``), and its interview stays resumable
(a new process resumes it); the open interview ends ``server_shutdown``, not
``browser_disconnected``; every turn either browser was shown is stored; the process
drains within its drain timeout and exits.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.processes import ServeProcess, base_env, serve_process
from tests.relay.voice_client import CONTEXT, VoiceClient, voice_client
from vivavoce.store.database import Database
from vivavoce.store.interviews import get_interview, list_interviews, list_turns
from vivavoce.store.models import Interview, Turn

pytestmark = [pytest.mark.slow]

ADMIN_TOKEN = "drain-admin-token-0123456789abcdef"
SECRET_KEY = "drain-secret-key-0123456789abcdefghij"
HANG_GUARD_S = 60


async def _final_ai_text(client: VoiceClient) -> str:
    while True:
        message = await client.until("ai_transcription")
        if message["is_final"]:
            return str(message["text"])


async def _answered(client: VoiceClient) -> None:
    """The opening line, one answer of the candidate, transcribed."""
    await _final_ai_text(client)
    await client.say()
    await client.until("student_transcription")


def _shown(client: VoiceClient) -> list[str]:
    """The final lines the browser was shown, of both speakers."""
    return [
        m["text"]
        for m in client.messages
        if (m.get("type") == "ai_transcription" and m.get("is_final"))
        or m.get("type") == "student_transcription"
    ]


def _texts(turns: list[Turn]) -> list[str]:
    """Each stored turn's words (an interviewer line cut by the candidate is stored with
    what was heard, and the whole line as ``full_text``)."""
    return [t.full_text or t.text for t in turns]


def _assert_usage_stored(interview: Interview, client: VoiceClient) -> None:
    """The tokens stored are exactly the totals the browser was last shown: no reply's
    usage was left unwritten by the drain (a reply's usage goes with its turn's write)."""
    shown = [m for m in client.messages if m.get("type") == "usage"][-1]
    for column in ("input_text_tokens", "input_audio_tokens", "input_cached_tokens",
                   "output_text_tokens", "output_audio_tokens"):
        assert getattr(interview, column) == shown[column], column


async def _rows(url: str, interview_id: str) -> tuple[Interview, list[Turn]]:
    db = Database(url)
    try:
        async with db.session() as s:
            interview = await get_interview(s, interview_id)
            assert interview is not None
            return interview, await list_turns(s, interview_id)
    finally:
        await db.dispose()


async def _open_interview_id(url: str, link_id: str) -> str:
    db = Database(url)
    try:
        async with db.session() as s:
            page, _ = await list_interviews(s)
    finally:
        await db.dispose()
    (other,) = [i.id for i in page if i.id != link_id]
    return other


def _ws(server: ServeProcess, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + "/voice" + query


@pytest.mark.parametrize("args", [(), ("--workers", "2")], ids=["one-process", "workers"])
async def test_sigterm_drains_link_and_open_interviews(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    env = base_env(
        tmp_path,
        VIVAVOCE_ADMIN_TOKEN=ADMIN_TOKEN,
        VIVAVOCE_SECRET_KEY=SECRET_KEY,
        VIVAVOCE_SIMULATOR="1",
        VIVAVOCE_OPEN_INTERVIEWS="1",
        VIVAVOCE_DRAIN_TIMEOUT_SECONDS="20",
    )
    database_url = f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'vivavoce.db').resolve()}"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with serve_process(env, tmp_path, name="drain", args=args) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            created = await http.post(
                f"{server.url}/api/interviews",
                headers=admin,
                json={"candidate": {"name": "Ada Lovelace"}},
            )
            assert created.status_code == 201, created.text
        link: dict[str, Any] = created.json()
        async with (
            voice_client(_ws(server, f"?token={link['token']}")) as on_link,
            voice_client(_ws(server)) as on_open,
            voice_client(_ws(server)) as idle,  # connected, never started
        ):
            await on_link.start({})
            await on_open.start(CONTEXT)
            await _answered(on_link)
            await _answered(on_open)

            server.process.send_signal(signal.SIGTERM)

            error = await on_link.until("error")
            assert (error["code"], error["fatal"], error["retryable"]) == (
                "server_restarting",
                True,
                True,
            )
            assert "restarting" in error["message"] and "same link" in error["message"]
            link_ended = await on_link.until("interview_ended")
            assert (link_ended["reason"], link_ended["retryable"]) == ("server_shutdown", True)
            assert await on_link.until_closed() == 1000
            open_ended = await on_open.until("interview_ended")
            assert open_ended["reason"] == "server_shutdown"
            assert "retryable" not in open_ended
            assert "error" not in on_open.types()
            assert await on_open.until_closed() == 1000
            idle_ended = await idle.until("interview_ended")
            assert (idle_ended["reason"], idle_ended["interview_id"]) == ("server_shutdown", None)
            assert await idle.until_closed() == 1000
        # uvicorn re-raises the signal it handled once it has stopped: -SIGTERM.
        assert server.process.wait(HANG_GUARD_S) in (0, -signal.SIGTERM)
        output = server.output()
        assert "/voice drained" in output, output
        assert "did not finish draining" not in output

    # The rows: the link's interview is kept (live, this attempt stopped by the
    # restart), the open one ended server_shutdown; every turn shown is stored, once.
    interview, turns = await _rows(database_url, link["id"])
    assert (interview.status, interview.end_reason, interview.error_code) == (
        "live",
        "server_shutdown",
        None,
    )
    assert interview.owner_id is None  # its lease was given back
    for text in _shown(on_link):
        assert text in _texts(turns), (text, turns)
    assert [t.sequence for t in turns] == list(range(len(turns)))
    _assert_usage_stored(interview, on_link)
    open_id = await _open_interview_id(database_url, link["id"])
    opened, open_turns = await _rows(database_url, open_id)
    assert (opened.status, opened.end_reason) == ("ended", "server_shutdown")
    for text in _shown(on_open):
        assert text in _texts(open_turns), (text, open_turns)
    assert [t.sequence for t in open_turns] == list(range(len(open_turns)))
    _assert_usage_stored(opened, on_open)

    # The same link continues the interview on the restarted server.
    before_restart = interview.output_audio_tokens
    with serve_process(env, tmp_path, name="restarted") as server:
        async with voice_client(_ws(server, f"?token={link['token']}")) as on_link:
            started = await on_link.start({})
            assert (started["interview_id"], started["resumed"]) == (link["id"], True)
            await _final_ai_text(on_link)  # the welcome back, and its usage
            resumed_usage = await on_link.until("usage")
            await on_link.send_json({"type": "end_interview"})
            assert (await on_link.until("interview_ended"))["reason"] == "candidate_ended"
    interview, resumed_turns = await _rows(database_url, link["id"])
    assert interview.status == "ended"
    # Both sessions' usage, each reply's once (the resumed session counts from zero).
    assert interview.output_audio_tokens == (
        before_restart + [m for m in on_link.messages if m.get("type") == "usage"][-1][
            "output_audio_tokens"]) > before_restart
    assert resumed_usage["output_audio_tokens"] > 0
    assert [t.text for t in resumed_turns[: len(turns)]] == [t.text for t in turns]
