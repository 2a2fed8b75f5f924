"""The interviews REST API through the whole app, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.fixtures.database import SECRET_KEY, ApiClient
from vivavoce.store import interviews as store
from vivavoce.store.models import Evaluation, Interview
from vivavoce.tokens import issue_interview_token

ORIGINAL_CONTEXT = {
    "name": "Ada Lovelace",
    "major": "Computer Science",
    "year": "Junior",
    "skills": ["Python", "Graphs"],
    "experience": "Tutor",
    "resumeText": "Ada Lovelace\nBSc in Computer Science",
    "targetRole": "Backend intern",
}


def _assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


async def _create(client: ApiClient, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/interviews", json={"candidate": ORIGINAL_CONTEXT, **extra}, headers=client.admin_headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_create_with_original_names_returns_token_and_link(api_client: ApiClient) -> None:
    created = await _create(api_client, settings={"difficulty": "hard", "max_duration_s": 600})
    uuid.UUID(created["id"])
    assert created["status"] == "created"
    assert created["candidate_url"] == f"http://testserver/i/{created['token']}"
    expires = datetime.fromisoformat(created["token_expires_at"])
    assert timedelta(days=6) < expires - datetime.now(UTC) <= timedelta(days=7)

    # The token alone is enough to read it back.
    got = await api_client.get(
        f"/api/interviews/{created['id']}", headers={"Authorization": f"Bearer {created['token']}"}
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["candidate"]["field"] == "Computer Science"
    assert body["candidate"]["level"] == "Junior"
    assert body["candidate"]["resume_text"].startswith("Ada Lovelace")
    assert body["candidate"]["target_role"] == "Backend intern"
    assert body["settings"] == {
        "model": "gpt-realtime", "voice": "marin", "language": "en",
        "difficulty": "hard", "max_duration_s": 600,
    }
    assert body["usage"]["cost_usd"] == 0.0
    query = await api_client.get(f"/api/interviews/{created['id']}?token={created['token']}")
    assert query.status_code == 200


async def test_public_url_is_used_for_the_link(make_api_client: Any) -> None:
    client: ApiClient = await make_api_client(VIVAVOCE_PUBLIC_URL="https://talk.example.org/")
    created = await _create(client)
    assert created["candidate_url"] == f"https://talk.example.org/i/{created['token']}"


async def test_an_invalid_service_setting_is_the_operators_problem(make_api_client: Any) -> None:
    tidy: ApiClient = await make_api_client(VIVAVOCE_VOICE=" Cedar")
    assert (await _create(tidy))["settings"]["voice"] == "cedar"

    client: ApiClient = await make_api_client(VIVAVOCE_REALTIME_MODEL="openai/gpt realtime")
    response = await client.post("/api/interviews", json={"candidate": {"name": "A"}})
    error = _assert_error(response, 503, "service_misconfigured")
    assert "VIVAVOCE_REALTIME_MODEL" in error["message"]
    # The operator can still pick a valid model per interview; a caller's own bad value
    # stays the caller's 422.
    chosen = await _create(client, settings={"model": "gpt-realtime-mini"})
    assert chosen["settings"]["model"] == "gpt-realtime-mini"
    bad = await client.post(
        "/api/interviews",
        json={"candidate": {"name": "A"}, "settings": {"voice": "Not A Voice!"}},
        headers=client.admin_headers,
    )
    _assert_error(bad, 422, "invalid_input")


async def test_open_interviews_off_needs_admin(make_api_client: Any) -> None:
    client: ApiClient = await make_api_client(VIVAVOCE_OPEN_INTERVIEWS="false")
    response = await client.post("/api/interviews", json={"candidate": {"name": "A"}})
    _assert_error(response, 401, "unauthorized")
    ok = await client.post(
        "/api/interviews", json={"candidate": {"name": "A"}}, headers=client.admin_headers
    )
    assert ok.status_code == 201


async def test_open_create_cannot_pick_the_model_or_exceed_the_limit(api_client: ApiClient) -> None:
    response = await api_client.post(
        "/api/interviews", json={"candidate": {"name": "A"}, "settings": {"model": "gpt-realtime-2"}}
    )
    _assert_error(response, 403, "forbidden")
    too_long = await api_client.post(
        "/api/interviews", json={"candidate": {"name": "A"}, "settings": {"max_duration_s": 3400}}
    )
    assert too_long.status_code == 201  # capped at VIVAVOCE_MAX_INTERVIEW_SECONDS
    assert too_long.json()["settings"]["max_duration_s"] == 1800
    admin_model = await api_client.post(
        "/api/interviews",
        json={"candidate": {"name": "A"}, "settings": {"model": "gpt-realtime-2"}},
        headers=api_client.admin_headers,
    )
    assert admin_model.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"candidate": {}},
        {"candidate": {"name": "A", "skills": 7}},
        {"candidate": {"name": "A"}, "settings": {"voice": "Bad Voice"}},
        {"candidate": {"name": "A"}, "settings": {"unknown": 1}},
        {"candidate": {"name": "A"}, "settings": {"max_duration_s": 5}},
        {"candidate": {"name": "x" * 500}},
        [],
        "text",
    ],
)
async def test_invalid_bodies_are_422(api_client: ApiClient, body: Any) -> None:
    response = await api_client.post("/api/interviews", json=body, headers=api_client.admin_headers)
    error = _assert_error(response, 422, "invalid_input")
    assert error["details"]


async def test_malformed_json_is_a_clear_4xx(api_client: ApiClient) -> None:
    response = await api_client.post(
        "/api/interviews", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


async def test_reading_needs_the_right_credentials(api_client: ApiClient) -> None:
    a, b = await _create(api_client), await _create(api_client)
    url = f"/api/interviews/{a['id']}"
    _assert_error(await api_client.get(url), 401, "unauthorized")
    _assert_error(
        await api_client.get(url, headers={"Authorization": "Bearer nonsense"}), 401, "invalid_token"
    )
    _assert_error(
        await api_client.get(url, headers={"Authorization": f"Bearer {b['token']}"}), 403, "forbidden"
    )
    expired = issue_interview_token(SECRET_KEY, a["id"], now=0, max_age_s=60)
    _assert_error(await api_client.get(f"{url}?token={expired}"), 401, "token_expired")
    assert (await api_client.get(url, headers=api_client.admin_headers)).status_code == 200


async def test_unknown_or_malformed_ids_are_404(api_client: ApiClient) -> None:
    for bad in (str(uuid.uuid4()), "not-a-uuid", "%00"):
        _assert_error(
            await api_client.get(f"/api/interviews/{bad}", headers=api_client.admin_headers),
            404, "not_found",
        )
        _assert_error(
            await api_client.delete(f"/api/interviews/{bad}", headers=api_client.admin_headers),
            404, "not_found",
        )


async def _add_turns(client: ApiClient, interview_id: str) -> None:
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    async with client.runtime.db.session() as s:
        await store.mark_live(s, interview_id, at=t0)
        await store.add_turn(
            s, interview_id=interview_id, sequence=0, speaker="interviewer",
            text="Tell me about *graphs*.", started_at=t0 + timedelta(seconds=1),
            ended_at=None, audio_ms=900, item_id="a", state="complete",
        )
        await store.add_turn(
            s, interview_id=interview_id, sequence=1, speaker="candidate",
            text="# Not a heading <b>", started_at=t0 + timedelta(seconds=75),
            ended_at=None, audio_ms=None, item_id="b", state="interrupted",
        )


async def test_transcript_in_three_formats(api_client: ApiClient) -> None:
    created = await _create(api_client)
    await _add_turns(api_client, created["id"])
    auth = {"Authorization": f"Bearer {created['token']}"}
    base = f"/api/interviews/{created['id']}/transcript"

    as_json = await api_client.get(base, headers=auth)
    assert as_json.status_code == 200
    turns = as_json.json()["turns"]
    assert [(t["sequence"], t["speaker"], t["state"]) for t in turns] == [
        (0, "interviewer", "complete"), (1, "candidate", "interrupted"),
    ]

    text = await api_client.get(base, params={"format": "text"}, headers=auth)
    assert text.headers["content-type"].startswith("text/plain")
    assert "attachment" in text.headers["content-disposition"]
    assert "[00:01] Interviewer: Tell me about *graphs*." in text.text
    assert "[01:15] Candidate (interrupted): # Not a heading <b>" in text.text

    md = await api_client.get(base, params={"format": "markdown"}, headers=auth)
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.headers["content-disposition"].endswith('.md"')
    assert "# Interview with Ada Lovelace" in md.text
    assert r"\# Not a heading \<b\>" in md.text and r"\*graphs\*" in md.text

    _assert_error(await api_client.get(base, params={"format": "pdf"}, headers=auth), 422, "invalid_input")
    _assert_error(await api_client.get(base), 401, "unauthorized")


async def test_admin_list_pages_and_filters(api_client: ApiClient) -> None:
    ids = [(await _create(api_client))["id"] for _ in range(3)]
    async with api_client.runtime.db.session() as s:
        await store.mark_live(s, ids[0], at=datetime.now(UTC))
    _assert_error(await api_client.get("/api/interviews"), 401, "unauthorized")
    page = (await api_client.get("/api/interviews?limit=2", headers=api_client.admin_headers)).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["limit"] == 2
    assert page["items"][0]["id"] == ids[2]  # newest first
    assert page["items"][0]["candidate_name"] == "Ada Lovelace"
    live = (await api_client.get("/api/interviews?status=live", headers=api_client.admin_headers)).json()
    assert [i["id"] for i in live["items"]] == [ids[0]]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    none = await api_client.get(
        "/api/interviews", params={"since": future}, headers=api_client.admin_headers
    )
    assert none.json()["total"] == 0
    for bad in ("status=nope", "limit=0", "limit=1000", "offset=-1", "since=yesterday"):
        _assert_error(
            await api_client.get(f"/api/interviews?{bad}", headers=api_client.admin_headers),
            422, "invalid_input",
        )
    far = await api_client.get(
        "/api/interviews", params={"since": "0001-01-01T00:00:00+05:00"}, headers=api_client.admin_headers
    )
    assert far.status_code == 422


async def test_admin_list_filters_by_date(api_client: ApiClient) -> None:
    ids = [(await _create(api_client))["id"] for _ in range(3)]
    async with api_client.runtime.db.session() as s:
        for day, interview_id in zip((1, 2, 3), ids, strict=True):
            await s.execute(
                update(Interview).where(Interview.id == interview_id)
                .values(created_at=datetime(2026, 11, day, 12, 0, tzinfo=UTC))
            )
        await s.commit()

    async def listed(**params: str) -> list[str]:
        response = await api_client.get(
            "/api/interviews", params=params, headers=api_client.admin_headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return [item["id"] for item in body["items"]]

    # A plain date is midnight UTC: `since` includes that day, `until` excludes it.
    assert await listed(since="2026-11-02") == [ids[2], ids[1]]
    assert await listed(until="2026-11-02") == [ids[0]]
    assert await listed(since="2026-11-02", until="2026-11-03") == [ids[1]]
    # Other time zones are converted: 13:30+02:00 is 11:30 UTC, before the 12:00 one.
    assert await listed(since="2026-11-02T13:30:00+02:00", until="2026-11-03") == [ids[1]]
    assert await listed(since="2026-11-02T14:30:00+02:00") == [ids[2]]
    assert await listed(since="2026-11-03", until="2026-11-02") == []
    assert await listed(status="live", since="2026-11-01") == []


async def test_delete_removes_everything_and_guards_live(api_client: ApiClient) -> None:
    created = await _create(api_client)
    await _add_turns(api_client, created["id"])  # leaves it live
    async with api_client.runtime.db.session() as s:
        s.add(Evaluation(interview_id=created["id"], status="done", overall_score=3))
        await s.commit()
    url = f"/api/interviews/{created['id']}"
    _assert_error(await api_client.delete(url), 401, "unauthorized")
    _assert_error(
        await api_client.delete(url, headers={"Authorization": f"Bearer {created['token']}"}),
        401, "unauthorized",
    )
    _assert_error(await api_client.delete(url, headers=api_client.admin_headers), 409, "interview_live")
    gone = await api_client.delete(f"{url}?force=true", headers=api_client.admin_headers)
    assert gone.status_code == 204
    async with api_client.runtime.db.session() as s:
        assert await store.list_turns(s, created["id"]) == []
        left = await s.scalar(
            select(func.count()).select_from(Evaluation)
            .where(Evaluation.interview_id == created["id"])
        )
        assert left == 0
    _assert_error(await api_client.get(url, headers=api_client.admin_headers), 404, "not_found")
    # The candidate's token now finds nothing either.
    _assert_error(await api_client.get(f"{url}?token={created['token']}"), 404, "not_found")


async def test_openapi_documents_the_api(api_client: ApiClient) -> None:
    schema = (await api_client.get("/openapi.json")).json()
    for path in ("/api/interviews", "/api/interviews/{interview_id}",
                 "/api/interviews/{interview_id}/transcript", "/api/resume"):
        assert path in schema["paths"], path
    assert (await api_client.get("/docs")).status_code == 200
