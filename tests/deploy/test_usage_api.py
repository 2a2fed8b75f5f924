"""GET /api/usage: tokens and estimated cost by UTC day and model, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.fixtures.database import ApiClient
from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.store.interviews import add_usage, create_interview
from vivavoce.store.models import Evaluation, Interview

NOV1 = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)


async def _interview(
    client: ApiClient, model: str, created: datetime, *, audio_in: int, text_out: int, cost: float
) -> None:
    async with client.runtime.db.session() as s:
        interview = await create_interview(
            s,
            candidate=CandidateContext(name="Sam"),
            settings=InterviewSettings(model=model, voice="marin", max_duration_s=600),
        )
        await s.execute(
            update(Interview).where(Interview.id == interview.id).values(created_at=created)
        )
        await s.commit()
        await add_usage(s, interview.id, input_audio=audio_in, output_text=text_out, cost_usd=cost)


@pytest.fixture
async def client(make_api_client: Callable[..., Any]) -> ApiClient:
    api: ApiClient = await make_api_client()
    await _interview(api, "gpt-realtime", NOV1, audio_in=100, text_out=10, cost=0.5)
    await _interview(api, "gpt-realtime", NOV1 + timedelta(hours=1), audio_in=40, text_out=0, cost=0.25)
    await _interview(api, "gpt-realtime-mini", NOV1, audio_in=7, text_out=3, cost=0.01)
    await _interview(api, "gpt-realtime", NOV1 - timedelta(days=40), audio_in=1, text_out=1, cost=9.0)
    return api


async def test_usage_by_day_and_model_with_totals(client: ApiClient) -> None:
    response = await client.get(
        "/api/usage?since=2026-11-01&until=2026-11-30", headers=client.admin_headers
    )
    assert response.status_code == 200
    body = response.json()
    assert body["since"] == "2026-11-01" and body["until"] == "2026-11-30"
    assert body["currency"] == "USD" and body["estimated"] is True
    assert [(d["day"], d["model"], d["interviews"]) for d in body["days"]] == [
        ("2026-11-01", "gpt-realtime", 1),
        ("2026-11-01", "gpt-realtime-mini", 1),
        ("2026-11-02", "gpt-realtime", 1),  # 00:30 UTC the next day
    ]
    first = body["days"][0]
    assert first["input_audio_tokens"] == 100 and first["output_text_tokens"] == 10
    assert first["total_tokens"] == 110 and first["cost_usd"] == 0.5
    # By model, most expensive first; the interview 40 days earlier is outside the range.
    assert [(m["model"], m["interviews"], m["total_tokens"]) for m in body["models"]] == [
        ("gpt-realtime", 2, 150),
        ("gpt-realtime-mini", 1, 10),
    ]
    assert body["models"][0]["cost_usd"] == 0.75
    totals = body["totals"]
    assert totals["interviews"] == 3 and totals["total_tokens"] == 160
    assert totals["cost_usd"] == pytest.approx(0.76)


async def test_until_is_inclusive_and_since_defaults_to_thirty_days(client: ApiClient) -> None:
    one_day = await client.get("/api/usage?since=2026-11-01&until=2026-11-01", headers=client.admin_headers)
    assert [d["day"] for d in one_day.json()["days"]] == ["2026-11-01", "2026-11-01"]
    default = await client.get("/api/usage?until=2026-11-02", headers=client.admin_headers)
    assert default.json()["since"] == "2026-10-04"
    assert default.json()["totals"]["interviews"] == 3
    body = (await client.get("/api/usage", headers=client.admin_headers)).json()
    today = datetime.now(UTC).date()
    assert body["until"] == today.isoformat()
    assert body["since"] == (today - timedelta(days=29)).isoformat()


BAD_RANGES = [
    ("since=2026-11-05&until=2026-11-01", 400, "invalid_range"),
    ("since=2020-01-01&until=2026-11-01", 400, "range_too_long"),
    ("since=yesterday", 422, "invalid_input"),
    ("until=2026-13-45", 422, "invalid_input"),
    # The calendar's ends: a clear refusal, not an overflow.
    ("since=9999-12-31&until=9999-12-31", 400, "invalid_range"),
    ("until=9999-12-31", 400, "invalid_range"),
]


async def test_bad_ranges_and_strangers_get_clear_errors(client: ApiClient) -> None:
    for query, status, code in BAD_RANGES:
        response = await client.get(f"/api/usage?{query}", headers=client.admin_headers)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), query
    response = await client.get("/api/usage")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    wrong = await client.get("/api/usage", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    # The first days of the calendar are a valid, empty range (the default 30 days are
    # cut at year 1).
    early = await client.get("/api/usage?until=0001-01-05", headers=client.admin_headers)
    assert early.status_code == 200
    assert (early.json()["since"], early.json()["totals"]["interviews"]) == ("0001-01-01", 0)
    page = await client.get("/admin/usage?until=9999-12-31", headers=client.admin_headers)
    assert page.status_code == 400 and "must be before 9999-12-31" in page.text


async def test_usage_page_shows_the_same_numbers(client: ApiClient) -> None:
    page = await client.get(
        "/admin/usage?since=2026-11-01&until=2026-11-30", headers=client.admin_headers
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert 'id="usage-interviews">3<' in html
    assert 'id="usage-tokens">160<' in html
    assert 'id="usage-cost">0.7600<' in html
    assert html.count("<tr><td>2026-11-0") == 3  # three day rows
    assert "gpt-realtime-mini" in html
    assert "<script>" not in html  # strict-CSP friendly: no inline script
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_simulated_interviews_are_not_billed(client: ApiClient) -> None:
    from vivavoce.store.interviews import mark_live

    async with client.runtime.db.session() as s:
        interview = await create_interview(
            s, candidate=CandidateContext(name="Sim"),
            settings=InterviewSettings(model="gpt-realtime", voice="marin", max_duration_s=600),
        )
        await s.execute(
            update(Interview).where(Interview.id == interview.id).values(created_at=NOV1)
        )
        await s.commit()
        await mark_live(s, interview.id, at=NOV1, simulated=True)
        await add_usage(s, interview.id, input_audio=5000, output_text=500, cost_usd=0.13)
    detail = await client.get(f"/api/interviews/{interview.id}", headers=client.admin_headers)
    assert detail.json()["simulated"] is True and detail.json()["usage"]["cost_usd"] == 0
    async with client.runtime.db.session() as s:
        # A row that holds a cost anyway (stored before simulated interviews were zeroed):
        # the usage report still leaves it out.
        await s.execute(update(Interview).where(Interview.id == interview.id)
                        .values(cost_usd=0.13))
        await s.commit()
    body = (await client.get("/api/usage?since=2026-11-01&until=2026-11-30",
                             headers=client.admin_headers)).json()
    totals = body["totals"]
    # The same totals as without it; the simulated interview is counted apart.
    assert totals["interviews"] == 3 and totals["simulated_interviews"] == 1
    assert totals["total_tokens"] == 160 and totals["cost_usd"] == pytest.approx(0.76)
    page = await client.get("/admin/usage?since=2026-11-01&until=2026-11-30",
                            headers=client.admin_headers)
    assert 'id="usage-cost">0.7600<' in page.text
    assert 'id="usage-simulated-count">1<' in page.text and "cost nothing" in page.text


async def test_usage_page_explains_a_bad_range_and_needs_login(client: ApiClient) -> None:
    page = await client.get("/admin/usage?since=2026-11-05&until=2026-11-01", headers=client.admin_headers)
    assert page.status_code == 400
    assert 'id="usage-problem"' in page.text and "is after" in page.text
    garbage = await client.get("/admin/usage?since=%3Cb%3Eyesterday", headers=client.admin_headers)
    assert garbage.status_code == 400
    assert "must be a date" in garbage.text and "<b>yesterday" not in garbage.text
    page = await client.get("/admin/usage?since=2026-11-01")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/admin/login?next=%2Fadmin%2Fusage")


async def _evaluations(client: ApiClient) -> None:
    """Evaluation rows as the job runner leaves them: one per interview, tokens and cost
    summed over its attempts, the model set once it was called."""
    async with client.runtime.db.session() as s:
        ids = list(await s.scalars(select(Interview.id).order_by(Interview.created_at, Interview.model)))
        older, nov1_realtime, nov1_mini, nov2_realtime = ids
        s.add_all(
            [
                Evaluation(interview_id=nov1_realtime, status="done", model="gpt-5-mini",
                           input_tokens=2000, output_tokens=500, cost_usd=0.002,
                           created_at=NOV1 + timedelta(minutes=10)),
                # A failed evaluation still spent what its attempts used.
                Evaluation(interview_id=nov2_realtime, status="failed", model="gpt-5-mini",
                           input_tokens=300, output_tokens=0, cost_usd=0.0003,
                           created_at=NOV1 + timedelta(hours=1, minutes=10)),
                # Still waiting for the model: nothing spent, no row in the report.
                Evaluation(interview_id=nov1_mini, status="pending", created_at=NOV1),
                Evaluation(interview_id=older, status="done", model="gpt-5-mini",
                           input_tokens=10, output_tokens=10, cost_usd=5.0,
                           created_at=NOV1 - timedelta(days=40)),
            ]
        )
        await s.commit()


async def test_usage_includes_what_evaluations_spent(client: ApiClient) -> None:
    await _evaluations(client)
    response = await client.get(
        "/api/usage?since=2026-11-01&until=2026-11-30", headers=client.admin_headers
    )
    assert response.status_code == 200
    body = response.json()
    assert [(d["day"], d["model"], d["interviews"], d["evaluations"]) for d in body["days"]] == [
        ("2026-11-01", "gpt-5-mini", 0, 1),
        ("2026-11-01", "gpt-realtime", 1, 0),
        ("2026-11-01", "gpt-realtime-mini", 1, 0),
        ("2026-11-02", "gpt-5-mini", 0, 1),
        ("2026-11-02", "gpt-realtime", 1, 0),
    ]
    evaluation_day = body["days"][0]
    # An evaluation's tokens are text tokens.
    assert evaluation_day["input_text_tokens"] == 2000
    assert evaluation_day["output_text_tokens"] == 500
    assert evaluation_day["input_audio_tokens"] == 0 and evaluation_day["total_tokens"] == 2500
    assert evaluation_day["cost_usd"] == pytest.approx(0.002)
    assert evaluation_day["evaluation_cost_usd"] == pytest.approx(0.002)
    assert evaluation_day["interview_cost_usd"] == 0
    assert body["days"][1]["interview_cost_usd"] == 0.5 and body["days"][1]["evaluation_cost_usd"] == 0
    assert [(m["model"], m["evaluations"], m["total_tokens"]) for m in body["models"]] == [
        ("gpt-realtime", 0, 150),
        ("gpt-realtime-mini", 0, 10),
        ("gpt-5-mini", 2, 2800),
    ]
    assert body["models"][2]["cost_usd"] == pytest.approx(0.0023)
    totals = body["totals"]
    assert (totals["interviews"], totals["evaluations"], totals["total_tokens"]) == (3, 2, 2960)
    assert totals["cost_usd"] == pytest.approx(0.7623)
    assert totals["interview_cost_usd"] == pytest.approx(0.76)
    assert totals["evaluation_cost_usd"] == pytest.approx(0.0023)

    page = await client.get(
        "/admin/usage?since=2026-11-01&until=2026-11-30", headers=client.admin_headers
    )
    html = page.text
    assert 'id="usage-evaluations">2<' in html
    assert 'id="usage-cost">0.7623<' in html
    assert 'id="usage-evaluation-cost">0.0023<' in html
    assert html.count("<tr><td>2026-11-0") == 5


async def test_evaluation_spend_outside_the_range_counts_on_its_own_day(client: ApiClient) -> None:
    # The interview 40 days earlier was evaluated that day: the day shows both kinds of spend.
    await _evaluations(client)
    day = (NOV1 - timedelta(days=40)).date().isoformat()
    body = (
        await client.get(f"/api/usage?since={day}&until={day}", headers=client.admin_headers)
    ).json()
    assert [(d["model"], d["interviews"], d["evaluations"], d["cost_usd"]) for d in body["days"]] == [
        ("gpt-5-mini", 0, 1, 5.0),
        ("gpt-realtime", 1, 0, 9.0),
    ]
    assert body["totals"]["cost_usd"] == 14.0
