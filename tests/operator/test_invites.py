"""Invites through the whole app on SQLite and PostgreSQL: note and reference, a link shown
again, re-issue (the old link stops working everywhere), bulk invites from a CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from tests.fixtures.database import SECRET_KEY, ApiClient
from vivavoce.store import interviews as store
from vivavoce.tokens import issue_interview_token

CANDIDATE = {"name": "Katherine Johnson", "field": "Mathematics", "level": "Graduate"}


async def _invite(client: ApiClient, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/interviews", json={"candidate": CANDIDATE, **extra}, headers=client.admin_headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_note_reference_and_length_are_kept(api_client: ApiClient) -> None:
    created = await _invite(
        api_client, note="Strong referral", reference="kj@example.org",
        settings={"max_duration_s": 600, "language": "de"},
    )
    assert created["settings"]["max_duration_s"] == 600
    assert created["settings"]["language"] == "de"
    link = await api_client.get(f"/api/interviews/{created['id']}/link",
                                headers=api_client.admin_headers)
    assert link.status_code == 200, link.text
    body = link.json()
    assert body["note"] == "Strong referral" and body["reference"] == "kj@example.org"
    # The same link, shown again.
    assert body["token"] == created["token"]
    assert body["candidate_url"] == created["candidate_url"]
    # The private note never reaches the candidate's token.
    mine = await api_client.get(f"/api/interviews/{created['id']}",
                                headers={"Authorization": f"Bearer {created['token']}"})
    assert mine.status_code == 200 and "Strong referral" not in mine.text
    # Only the operator adds notes, and only the operator reads links.
    open_client = api_client
    refused = await open_client.post(
        "/api/interviews", json={"candidate": CANDIDATE, "note": "x"}
    )
    assert refused.status_code == 403
    anonymous = await api_client.get(f"/api/interviews/{created['id']}/link",
                                     headers={"Authorization": f"Bearer {created['token']}"})
    assert anonymous.status_code == 401


async def test_reissue_makes_the_old_link_stop_working(api_client: ApiClient) -> None:
    created = await _invite(api_client)
    old, interview_id = created["token"], created["id"]
    assert (await api_client.get(f"/i/{old}")).status_code == 200
    again = await api_client.post(f"/api/interviews/{interview_id}/reissue",
                                  headers=api_client.admin_headers)
    assert again.status_code == 200, again.text
    new = again.json()["token"]
    assert new != old
    # The old link: refused on the page, in the API, on the results page.
    page = await api_client.get(f"/i/{old}")
    assert page.status_code == 410 and "replaced by a newer one" in page.text
    api = await api_client.get(f"/api/interviews/{interview_id}",
                               headers={"Authorization": f"Bearer {old}"})
    assert api.status_code == 401 and api.json()["error"]["code"] == "token_revoked"
    query = await api_client.get(f"/api/interviews/{interview_id}?token={old}")
    assert query.json()["error"]["code"] == "token_revoked"
    assert (await api_client.get(f"/results/{interview_id}?token={old}")).status_code == 410
    # The new one works, and is what "show again" gives now.
    assert (await api_client.get(f"/i/{new}")).status_code == 200
    ok = await api_client.get(f"/api/interviews/{interview_id}",
                              headers={"Authorization": f"Bearer {new}"})
    assert ok.status_code == 200
    shown = await api_client.get(f"/api/interviews/{interview_id}/link",
                                 headers=api_client.admin_headers)
    assert shown.json()["token"] == new
    # The admin token is never mistaken for a link.
    assert (await api_client.get(f"/api/interviews/{interview_id}",
                                 headers=api_client.admin_headers)).status_code == 200


async def test_a_taken_interview_has_no_link_to_show(api_client: ApiClient) -> None:
    from datetime import UTC, datetime

    created = await _invite(api_client)
    async with api_client.runtime.db.session() as s:
        await store.mark_live(s, created["id"], at=datetime.now(UTC))
        await store.mark_ended(s, created["id"], status="ended", reason="candidate_ended",
                               at=datetime.now(UTC))
    for method, path in (("GET", "link"), ("POST", "reissue")):
        response = await api_client.request(method, f"/api/interviews/{created['id']}/{path}",
                                            headers=api_client.admin_headers)
        assert response.status_code == 409 and response.json()["error"]["code"] == "link_used"
    missing = await api_client.get("/api/interviews/not-a-uuid/link",
                                   headers=api_client.admin_headers)
    assert missing.status_code == 404


async def test_a_link_issued_before_links_were_kept(api_client: ApiClient) -> None:
    from vivavoce.interview.candidate import CandidateContext, InterviewSettings

    async with api_client.runtime.db.session() as s:
        interview = await store.create_interview(
            s, candidate=CandidateContext(name="Old"),
            settings=InterviewSettings.with_defaults(model=api_client.runtime.settings.realtime_model, voice=api_client.runtime.settings.voice, max_duration_s=api_client.runtime.settings.max_interview_seconds))
    old_token = issue_interview_token(SECRET_KEY, interview.id)
    assert (await api_client.get(f"/i/{old_token}")).status_code == 200
    shown = await api_client.get(f"/api/interviews/{interview.id}/link",
                                 headers=api_client.admin_headers)
    assert shown.status_code == 409 and shown.json()["error"]["code"] == "link_not_kept"
    again = await api_client.post(f"/api/interviews/{interview.id}/reissue",
                                  headers=api_client.admin_headers)
    assert again.status_code == 200
    assert (await api_client.get(f"/i/{old_token}")).status_code == 410


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


async def test_bulk_invites_give_a_csv_of_links(api_client: ApiClient) -> None:
    data = (
        "Name,Email,Field,Level,Role\r\n"
        "Ada Lovelace,ada@example.org,Computer Science,Graduate,Backend\r\n"
        "\r\n"
        "Grace Hopper,=cmd(),Computer Science,Senior,Compilers\r\n"
    ).encode("utf-8-sig")
    response = await api_client.post(
        "/api/invites/bulk", files={"file": ("people.csv", data, "text/csv")},
        headers=api_client.admin_headers,
    )
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = _csv(response.text)
    assert [r["name"] for r in rows] == ["Ada Lovelace", "Grace Hopper"]
    assert rows[0]["reference"] == "ada@example.org" and rows[0]["line"] == "2"
    assert rows[1]["reference"] == "'=cmd()" and rows[1]["line"] == "4"
    for row in rows:
        token = row["link"].rsplit("/i/", 1)[1]
        assert (await api_client.get(f"/i/{token}")).status_code == 200
        got = await api_client.get(f"/api/interviews/{row['id']}", headers=api_client.admin_headers)
        assert got.json()["candidate"]["target_role"] == row["role"]
    listed = await api_client.get("/api/interviews", params={"q": "ada@"},
                                  headers=api_client.admin_headers)
    assert [i["candidate_name"] for i in listed.json()["items"]] == ["Ada Lovelace"]
    # A plain text/csv body works as well.
    raw = await api_client.post(
        "/api/invites/bulk", content=b"name;field;level\nLin;Physics;Junior\n",
        headers={**api_client.admin_headers, "Content-Type": "text/csv"},
    )
    assert raw.status_code == 200 and _csv(raw.text)[0]["name"] == "Lin"


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"name,field,level\nAda,,Graduate\nBob,CS,Junior\n,CS,\n", {2: "'field' is empty", 4: "'name' is empty"}),
        (b"name,field\nAda,CS\n", {1: "Missing column(s): level"}),
        (b"name,field,level,shoe size\nAda,CS,Junior,42\n", {1: "Unknown column(s): shoe size"}),
        (b"", {1: "empty"}),
        (b"name,field,level\n", {1: "only its header"}),
        (b"name,field,level\nAda,CS,Junior,extra\n", {2: "4 cells but 3 columns"}),
        ("name,field,level\n" + "A" * 300 + ",CS,Junior\n", {2: "'name'"}),
    ],
)
async def test_every_bad_row_is_named_by_line_and_nothing_is_created(
    api_client: ApiClient, data: bytes | str, lines: dict[int, str]
) -> None:
    body = data.encode() if isinstance(data, str) else data
    response = await api_client.post(
        "/api/invites/bulk", files={"file": ("x.csv", body, "text/csv")},
        headers=api_client.admin_headers,
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_csv"
    found = {d["line"]: " ".join(d["problems"]) for d in error["details"]}
    assert set(found) == set(lines)
    for line, words in lines.items():
        assert words in found[line], found
    listed = await api_client.get("/api/interviews", headers=api_client.admin_headers)
    assert listed.json()["total"] == 0


async def test_bulk_needs_the_operator(api_client: ApiClient) -> None:
    response = await api_client.post("/api/invites/bulk", content=b"name,field,level\nA,B,C\n")
    assert response.status_code == 401
    assert isinstance(response, httpx.Response)


async def test_a_reissued_link_is_refused_on_the_voice_socket(make_app_server: Any) -> None:
    """The relay is left untouched: the guard in front of it swaps a superseded token for
    an invalid one, so /voice refuses it with its usual words."""
    from tests.relay.voice_client import voice_client
    from vivavoce.interview.candidate import CandidateContext, InterviewSettings
    from vivavoce.store.database import Database
    from vivavoce.web.links import create_with_link, reissue_link

    app = make_app_server(VIVAVOCE_OPEN_INTERVIEWS="0")
    db = Database(app.database_url)
    try:
        async with db.session() as s:
            interview, old, _ = await create_with_link(
                s, SECRET_KEY, candidate=CandidateContext(name="Grace", field="Engineering"),
                settings=InterviewSettings.with_defaults(model=app.runtime.settings.realtime_model, voice=app.runtime.settings.voice, max_duration_s=app.runtime.settings.max_interview_seconds))
            reissued = await reissue_link(s, SECRET_KEY, interview.id)
        assert reissued is not None
    finally:
        await db.dispose()
    async with voice_client(app.voice_url(old), refused=True) as client:
        assert (await client.until("error"))["code"] == "token_invalid"
    async with voice_client(app.voice_url(reissued[0])) as client:
        started = await client.start({})
        assert started["interview_id"] == interview.id
        await client.send_json({"type": "end_interview"})
        await client.until_closed()
