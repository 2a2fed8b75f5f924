"""Limits on guessing, over a real socket, on SQLite and PostgreSQL (issue 14): failed
admin logins, Bearer tokens and interview links, counted per client address in the
database."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from tests.fixtures.database import ADMIN_TOKEN
from tests.web.security_helpers import ADMIN, MakeApp, browser, from_address, rows, same_origin
from vivavoce.web.auth_guard import backoff_seconds

pytestmark = pytest.mark.usefixtures("database_url")

ATTACKER = "203.0.113.66"
OPERATOR = "198.51.100.7"
LIMITS = {"VIVAVOCE_AUTH_FREE_FAILURES": "3"}


@pytest.fixture
def app_on(make_app_server: MakeApp, database_url: str) -> MakeApp:
    def make(**environ: str):  # type: ignore[no-untyped-def]
        return make_app_server(database_url=database_url, **{**LIMITS, **environ})

    return make


async def _login(client: httpx.AsyncClient, token: str, address: str) -> httpx.Response:
    return await client.post(
        "/admin/login",
        data={"token": token},
        headers={**from_address(address), "Origin": str(client.base_url).rstrip("/")},
    )


def _metric(text: str, name: str, label: str) -> float:
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_wrong_logins_make_the_address_wait_with_growing_backoff(
    app_on: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_on()
    caplog.set_level(logging.WARNING, "vivavoce.security")
    async with browser(app) as client:
        for _ in range(4):  # three free failures, the fourth starts the wait
            assert (await _login(client, "wrong-guess", ATTACKER)).status_code == 401
        refused = await _login(client, "another-guess", ATTACKER)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) == backoff_seconds(4, 3, 900) == 15
        # Waiting cannot be skipped by guessing right: the token is not even compared.
        assert (await _login(client, ADMIN_TOKEN, ATTACKER)).status_code == 429
        # The right token from another address still works: the operator is not locked out.
        assert (await _login(client, ADMIN_TOKEN, OPERATOR)).status_code == 303
        metrics = (await client.get("/metrics", headers={**ADMIN, **from_address(OPERATOR)})).text
    assert _metric(metrics, "vivavoce_auth_failures_total", 'kind="admin"') >= 4
    assert _metric(metrics, "vivavoce_rate_limited_total", 'limit="admin"') >= 2
    assert any(
        "too many failed admin credentials from 203.0.113.66" in r.getMessage()
        for r in caplog.records
    )
    # The wait grows with each failure past the free ones, up to the maximum.
    assert [backoff_seconds(n, 3, 900) for n in range(3, 10)] == [0, 15, 30, 60, 120, 240, 480]
    assert backoff_seconds(40, 3, 900) == 900


async def test_the_backoff_grows_when_failures_go_on(app_on: MakeApp) -> None:
    app = app_on()
    async with browser(app) as client:
        for _ in range(4):
            await _login(client, "wrong", ATTACKER)
        # The first wait is over (moved into the past), the next failure waits longer.
        await rows(app, "UPDATE rate_counters SET blocked_until = NULL WHERE kind = 'admin'")
        assert (await _login(client, "wrong", ATTACKER)).status_code == 401
        refused = await _login(client, "wrong", ATTACKER)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 15


async def test_wrong_bearer_tokens_are_limited_per_address(app_on: MakeApp) -> None:
    app = app_on()
    async with browser(app) as client:
        wrong = {"Authorization": "Bearer not-the-admin-token", **from_address(ATTACKER)}
        for _ in range(4):
            assert (await client.get("/api/interviews", headers=wrong)).status_code == 401
        refused = await client.get("/api/interviews", headers=wrong)
        assert refused.status_code == 429 and refused.headers["Retry-After"]
        assert refused.json()["error"]["code"] == "rate_limited"
        right_but_waiting = {**ADMIN, **from_address(ATTACKER)}
        assert (await client.get("/api/interviews", headers=right_but_waiting)).status_code == 429
        ok = await client.get("/api/interviews", headers={**ADMIN, **from_address(OPERATOR)})
        assert ok.status_code == 200


async def test_guessed_interview_links_are_limited_and_apart_from_the_admin(
    app_on: MakeApp,
) -> None:
    app = app_on()
    async with browser(app) as client:
        made = await client.post(
            "/api/interviews", json={"candidate": {"name": "Ada"}}, headers=ADMIN
        )
        token, interview_id = made.json()["token"], made.json()["id"]
        guesses = ["abc", "eyJpIjoiMSJ9.forged", "x" * 40, "eyJ.y"]
        statuses = [
            (await client.get(f"/i/{guess}", headers=from_address(ATTACKER))).status_code
            for guess in guesses
        ]
        assert statuses == [404, 404, 404, 404]
        refused = await client.get(f"/i/{token}", headers=from_address(ATTACKER))
        assert refused.status_code == 429 and refused.headers["Retry-After"]
        api = await client.get(
            f"/api/interviews/{interview_id}",
            params={"token": token},
            headers=from_address(ATTACKER),
        )
        assert api.status_code == 429
        # The real link from another address opens; the admin kind is not blocked.
        assert (await client.get(f"/i/{token}", headers=from_address(OPERATOR))).status_code == 200
        admin = await client.get("/api/interviews", headers={**ADMIN, **from_address(ATTACKER)})
        assert admin.status_code == 200


async def test_expired_or_other_interview_tokens_are_not_guesses(app_on: MakeApp) -> None:
    from vivavoce.tokens import issue_interview_token

    app = app_on()
    expired = issue_interview_token(app.runtime.secret_key, "iv-old", max_age_s=1, now=1000.0)
    async with browser(app) as client:
        for _ in range(6):
            page = await client.get(f"/i/{expired}", headers=from_address(ATTACKER))
            assert page.status_code == 410
    assert await rows(app, "SELECT kind FROM rate_counters WHERE kind = 'link'") == []


async def test_limits_are_shared_by_instances_on_one_database(
    make_app_server: MakeApp, database_url: str
) -> None:
    first = make_app_server(database_url=database_url, **LIMITS)
    second = make_app_server(database_url=database_url, **LIMITS)
    async with browser(first) as one, browser(second) as two:
        for client in (one, two, one, two):
            assert (await _login(client, "wrong", ATTACKER)).status_code == 401
        assert (await _login(one, "wrong", ATTACKER)).status_code == 429
        assert (await _login(two, "wrong", ATTACKER)).status_code == 429


async def test_failures_against_one_target_are_counted_but_never_lock_out(
    app_on: MakeApp,
) -> None:
    app = app_on(VIVAVOCE_AUTH_TARGET_SLOWDOWN_AFTER="2", VIVAVOCE_AUTH_FREE_FAILURES="50")
    async with browser(app) as client:
        for number in range(5):
            address = f"203.0.113.{number + 1}"
            began = time.monotonic()
            assert (await _login(client, "wrong", address)).status_code == 401
            took = time.monotonic() - began
        # Past the target's threshold failures are answered slower (a lower bound only:
        # the fifth is 3 past it, 0.05 s each), from every address alike.
        assert took >= 0.15
        [(count,)] = await rows(
            app, "SELECT count FROM rate_counters WHERE kind = 'target:admin'"
        )
        assert count == 5
        # Slowed, never refused: the right token works at once from a fresh address.
        assert (await _login(client, ADMIN_TOKEN, OPERATOR)).status_code == 303
        page = await client.get("/admin/setup", headers=same_origin(app))
        assert page.status_code == 200
