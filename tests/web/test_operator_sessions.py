"""Operator sessions and CSRF, over a real socket, on SQLite and PostgreSQL (issue 14)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.database import ADMIN_TOKEN
from tests.web.security_helpers import (
    ADMIN,
    MakeApp,
    browser,
    csrf_of,
    log_in,
    rows,
    same_origin,
)
from vivavoce.config import load_settings
from vivavoce.reload import reload_key, set_settings_loader

pytestmark = pytest.mark.usefixtures("database_url")

ORIGIN = "https://interviews.example.com"


async def test_the_cookie_names_a_server_side_session_not_the_token(app_on: MakeApp) -> None:
    app = app_on()
    async with browser(app) as client:
        response = await log_in(client, app)
        cookie = response.headers["set-cookie"]
        assert ADMIN_TOKEN not in cookie
        session_id = client.cookies["vivavoce_session"]
        # Only its hash is stored, with its expiry.
        [row] = await rows(app, "SELECT id_hash, expires_at FROM operator_sessions")
        assert row[0] == hashlib.sha256(session_id.encode()).hexdigest()
        assert session_id not in row[0]
        assert (await client.get("/api/interviews")).status_code == 200


async def test_logout_revokes_the_session_even_for_a_copied_cookie(app_on: MakeApp) -> None:
    app = app_on()
    async with browser(app) as client:
        await log_in(client, app)
        copied = client.cookies["vivavoce_session"]
        token = await csrf_of(client)
        out = await client.post(
            "/admin/logout", data={"csrf_token": token}, headers=same_origin(app)
        )
        assert out.status_code == 303
    assert await rows(app, "SELECT id_hash FROM operator_sessions") == []
    async with browser(app) as thief:
        thief.cookies.set("vivavoce_session", copied)
        refused = await thief.get("/api/interviews")
        assert refused.status_code == 401
        assert (await thief.get("/admin/setup")).status_code == 303


@pytest.mark.parametrize("column", ["last_seen_at", "created_at"])
async def test_idle_and_absolute_expiry_are_enforced_by_the_server(
    app_on: MakeApp, column: str
) -> None:
    app = app_on(VIVAVOCE_SESSION_IDLE_SECONDS="600", VIVAVOCE_SESSION_MAX_SECONDS="3600")
    async with browser(app) as client:
        await log_in(client, app)
        assert (await client.get("/api/interviews")).status_code == 200
        # The browser would still send the cookie (its Max-Age is not over); the server
        # knows the session is: unused too long, or too old.
        past = datetime.now(UTC) - timedelta(seconds=3601)
        await rows(app, f"UPDATE operator_sessions SET {column} = :past", past=past)
        assert (await client.get("/api/interviews")).status_code == 401
    assert await rows(app, "SELECT id_hash FROM operator_sessions") == []


async def test_a_new_admin_token_ends_every_session(app_on: MakeApp) -> None:
    app = app_on()
    async with browser(app) as client:
        await log_in(client, app)
        # Another instance (or a restart) with a new token: the stored check no longer
        # matches, so the session is over there too.
        app.runtime.admin_token = "rotated-admin-token-0123456789ABCDEF"
        assert (await client.get("/api/interviews")).status_code == 401
        app.runtime.admin_token = ADMIN_TOKEN
        assert (await client.get("/api/interviews")).status_code == 401  # deleted


async def test_a_reload_with_a_new_admin_token_revokes_sessions(app_on: MakeApp) -> None:
    app = app_on(VIVAVOCE_SIMULATOR="1")
    new_token = "reloaded-admin-token-0123456789ABCDEF"
    set_settings_loader(
        app.runtime,
        lambda: load_settings({"VIVAVOCE_ADMIN_TOKEN": new_token}, env_file=None),
    )
    async with browser(app) as client:
        await log_in(client, app)
        response = await client.post("/api/admin/reload", headers=ADMIN)
        assert response.status_code in (200, 422), response.text
        assert app.runtime.admin_token == new_token
        assert (await client.get("/api/interviews")).status_code == 401
        assert await rows(app, "SELECT id_hash FROM operator_sessions") == []
        ok = await client.get("/api/interviews", headers={"Authorization": f"Bearer {new_token}"})
        assert ok.status_code == 200
    # Reloading again with the same token changes nothing.
    await reload_key(app.runtime)
    assert app.runtime.admin_token == new_token


async def test_production_cookie_is_secure_host_only_and_hsts_is_sent(app_on: MakeApp) -> None:
    app = app_on(VIVAVOCE_ENV="production", VIVAVOCE_ALLOWED_ORIGINS=ORIGIN)
    async with browser(app) as client:
        response = await client.post(
            "/admin/login", data={"token": ADMIN_TOKEN}, headers={"Origin": ORIGIN}
        )
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        # Plain http between the proxy and the app: still Secure in production.
        assert cookie.startswith("__Host-vivavoce_session=") and "Secure" in cookie
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert "strict-transport-security" in (await client.get("/healthz")).headers
    development = app_on()
    async with browser(development) as client:
        assert "strict-transport-security" not in (await client.get("/healthz")).headers


# --- CSRF -------------------------------------------------------------------------------


async def test_cookie_changes_need_the_services_own_origin(app_on: MakeApp) -> None:
    app = app_on()
    body = {"candidate": {"name": "Ada"}}
    async with browser(app) as client:
        await log_in(client, app)
        # Another port of the same host is the same site for SameSite, not our origin.
        other_port = app.server.http_url.rsplit(":", 1)[0] + ":1"
        for headers in ({}, {"Origin": other_port}, {"Referer": other_port + "/x"},
                        {"Origin": "null"}):
            refused = await client.post("/api/interviews", json=body, headers=headers)
            assert refused.status_code == 403, headers
            assert refused.json()["error"]["code"] == "csrf_failed"
        assert await rows(app, "SELECT id FROM interviews") == []
        made = await client.post("/api/interviews", json=body, headers=same_origin(app))
        assert made.status_code == 201
        referer = {"Referer": app.server.http_url + "/admin/interviews"}
        assert (await client.post("/api/interviews", json=body, headers=referer)).status_code == 201
        # Reading needs no origin.
        assert (await client.get("/api/interviews")).status_code == 200


async def test_bearer_requests_are_not_checked_for_origin(app_on: MakeApp) -> None:
    app = app_on()
    async with browser(app) as client:
        response = await client.post(
            "/api/interviews",
            json={"candidate": {"name": "Ada"}},
            headers={**ADMIN, "Origin": "http://evil.example"},
        )
        assert response.status_code == 201


async def test_configured_origins_are_the_ones_accepted(app_on: MakeApp) -> None:
    app = app_on(VIVAVOCE_PUBLIC_URL="https://interviews.example.com/base")
    async with browser(app) as client:
        await log_in(client, app, Origin="https://interviews.example.com")
        body = {"candidate": {"name": "Ada"}}
        # The request's own host is no longer enough once origins are configured.
        own_host = await client.post("/api/interviews", json=body, headers=same_origin(app))
        assert own_host.status_code == 403
        ok = await client.post(
            "/api/interviews", json=body, headers={"Origin": "https://interviews.example.com"}
        )
        assert ok.status_code == 201


async def test_logout_needs_the_form_token_and_the_origin(app_on: MakeApp) -> None:
    app = app_on()
    async with browser(app) as client:
        await log_in(client, app)
        token = await csrf_of(client)
        foreign = await client.post(
            "/admin/logout", data={"csrf_token": token}, headers={"Origin": "http://evil.example"}
        )
        assert foreign.status_code == 403
        no_token = await client.post("/admin/logout", headers=same_origin(app))
        assert no_token.status_code == 403
        wrong = await client.post(
            "/admin/logout", data={"csrf_token": "0" * 40}, headers=same_origin(app)
        )
        assert wrong.status_code == 403
        assert (await client.get("/api/interviews")).status_code == 200  # still logged in


async def test_a_login_posted_from_another_origin_is_refused(app_on: MakeApp) -> None:
    app = app_on()
    async with browser(app) as client:
        response = await client.post(
            "/admin/login", data={"token": ADMIN_TOKEN}, headers={"Origin": "http://evil.example"}
        )
        assert response.status_code == 403
        assert "vivavoce_session" not in response.headers.get("set-cookie", "")
