"""The operator's list (words, times, search, filters, score sort, paging) and its CSV
export, through the whole app on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from tests.fixtures.database import ApiClient
from vivavoce.store import interviews as store
from vivavoce.store.models import Evaluation, Interview
from vivavoce.web.csv_export import safe_cell


async def _create(client: ApiClient, name: str, **candidate: Any) -> str:
    response = await client.post(
        "/api/interviews",
        json={"candidate": {"name": name, "field": "Computer Science", "level": "Junior",
                            "target_role": "Backend intern", **candidate}},
        headers=client.admin_headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _result(scores: dict[str, int]) -> dict[str, Any]:
    return {"dimensions": [{"key": k, "name": k.title(), "score": v} for k, v in scores.items()]}


async def _seed(client: ApiClient) -> dict[str, str]:
    """Four interviews: Ada (ended, 80), Grace (ended, 40), Linus (live), Zed (created)."""
    ids = {n: await _create(client, n) for n in ("Ada Lovelace", "Grace Hopper", "Linus", "Zed")}
    now = datetime.now(UTC)
    async with client.runtime.db.session() as s:
        for name in ("Ada Lovelace", "Grace Hopper", "Linus"):
            await store.mark_live(s, ids[name], at=now - timedelta(minutes=10))
        for name in ("Ada Lovelace", "Grace Hopper"):
            await store.mark_ended(s, ids[name], status="ended", reason="candidate_ended",
                                   at=now - timedelta(minutes=2))
        s.add(Evaluation(interview_id=ids["Ada Lovelace"], status="done", overall_score=80,
                         result=_result({"communication": 5, "depth": 4})))
        s.add(Evaluation(interview_id=ids["Grace Hopper"], status="done", overall_score=40,
                         result=_result({"communication": 2, "depth": 3})))
        # A failed attempt's reason on an interview not yet taken is not an end.
        await store.record_failed_attempt(s, ids["Zed"], reason="quota_exhausted")
        await s.commit()
    return ids


async def _list(client: ApiClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/interviews", params=params, headers=client.admin_headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_words_and_times_only_where_they_happened(api_client: ApiClient) -> None:
    ids = await _seed(api_client)
    items = {i["id"]: i for i in (await _list(api_client))["items"]}
    ada, linus, zed = items[ids["Ada Lovelace"]], items[ids["Linus"]], items[ids["Zed"]]
    assert ada["status_text"] == "Finished"
    assert ada["end_reason"] == "candidate_ended"
    assert ada["end_reason_text"] == "The candidate ended it"
    assert ada["duration_s"] == 480 and ada["overall_score"] == 80
    assert ada["field"] == "Computer Science" and ada["level"] == "Junior"
    assert linus["status_text"] == "In progress"
    assert linus["started_at"] is not None and linus["ended_at"] is None
    assert linus["duration_s"] is None
    assert zed["status_text"] == "Not taken yet"
    assert zed["started_at"] is None and zed["ended_at"] is None and zed["duration_s"] is None
    # The cause of a failed attempt is named in the catalogue's words.
    assert zed["end_reason_text"] and "quota" in zed["end_reason_text"].lower()


async def test_search_filters_sort_and_paging(api_client: ApiClient) -> None:
    ids = await _seed(api_client)

    async def names(**params: Any) -> list[str]:
        body = await _list(api_client, **params)
        return [i["candidate_name"] for i in body["items"]]

    assert await names(q="grace") == ["Grace Hopper"]
    assert await names(q="  LOVE ") == ["Ada Lovelace"]
    assert await names(q="%") == []  # a LIKE wildcard is a plain character
    assert await names(q="_") == []
    assert await names(status="live") == ["Linus"]
    assert await names(min_score=50) == ["Ada Lovelace"]
    assert await names(max_score=50) == ["Grace Hopper"]
    assert await names(sort="score_desc") == ["Ada Lovelace", "Grace Hopper", "Zed", "Linus"]
    assert (await names(sort="score_asc"))[:2] == ["Grace Hopper", "Ada Lovelace"]
    first = await _list(api_client, limit=2, offset=0)
    second = await _list(api_client, limit=2, offset=2)
    assert first["total"] == second["total"] == 4
    seen = [i["id"] for i in first["items"] + second["items"]]
    assert sorted(seen) == sorted(ids.values())
    async with api_client.runtime.db.session() as s:
        await s.execute(update(Interview).where(Interview.id == ids["Zed"])
                        .values(created_at=datetime(2026, 1, 5, tzinfo=UTC)))
        await s.commit()
    assert await names(until="2026-02-01") == ["Zed"]
    assert "Zed" not in await names(since="2026-02-01")
    bad = await api_client.get("/api/interviews", params={"sort": "name"},
                               headers=api_client.admin_headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"


def _rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


async def test_csv_export_respects_filters_and_has_scores(api_client: ApiClient) -> None:
    ids = await _seed(api_client)
    response = await api_client.get("/api/interviews", params={"format": "csv"},
                                    headers=api_client.admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # the UTF-8 byte-order mark
    rows = {r["candidate"]: r for r in _rows(raw.decode("utf-8"))}
    assert set(rows) == {"Ada Lovelace", "Grace Hopper", "Linus", "Zed"}
    ada = rows["Ada Lovelace"]
    assert ada["id"] == ids["Ada Lovelace"]
    assert ada["field"] == "Computer Science" and ada["level"] == "Junior"
    assert ada["role"] == "Backend intern"
    assert ada["state"] == "Finished" and ada["end reason"] == "The candidate ended it"
    assert ada["duration (s)"] == "480" and ada["overall score"] == "80"
    assert ada["Communication score"] == "5" and ada["Depth score"] == "4"
    assert rows["Zed"]["started (UTC)"] == "" and rows["Zed"]["overall score"] == ""
    filtered = await api_client.get(
        "/api/interviews", params={"format": "csv", "min_score": 50},
        headers=api_client.admin_headers,
    )
    assert [r["candidate"] for r in _rows(filtered.text)] == ["Ada Lovelace"]
    anonymous = await api_client.get("/api/interviews", params={"format": "csv"})
    assert anonymous.status_code == 401


async def test_csv_export_neutralises_formulas(api_client: ApiClient) -> None:
    for name in ("=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "Ünïcødé 名前"):
        await _create(api_client, name, target_role="=cmd|' /C calc'!A0")
    response = await api_client.get("/api/interviews", params={"format": "csv"},
                                    headers=api_client.admin_headers)
    rows = _rows(response.content.decode("utf-8"))
    names = {r["candidate"] for r in rows}
    assert names == {"'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "Ünïcødé 名前"}
    assert all(r["role"] == "'=cmd|' /C calc'!A0" for r in rows)


def test_safe_cell_leaves_numbers_and_plain_text() -> None:
    assert safe_cell(-5) == -5 and safe_cell(1.5) == 1.5
    assert safe_cell("Ada") == "Ada" and safe_cell(None) == ""
    assert safe_cell("\t=1") == "'\t=1"
