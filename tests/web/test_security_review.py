"""The security review of issue 14, replayed over real sockets where the other tests cover
the mechanism but not the reviewer's own steps: the open door of a container (finding 1),
a page on another port acting with the operator's login (finding 4), a weak admin token
arriving by reload (finding 5), and the "open interviews are on" warnings outside the
banner."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.fixtures.database import ADMIN_TOKEN
from tests.fixtures.settings import MakeSettings
from tests.relay.voice_client import voice_client
from tests.web.conftest import MakeClient, log_in
from tests.web.security_helpers import (
    ADMIN,
    MakeApp,
    browser,
    csrf_of,
    rows,
    same_origin,
)
from tests.web.security_helpers import log_in as log_in_over_http
from vivavoce.config import load_settings
from vivavoce.diagnosis import run_doctor
from vivavoce.reload import set_settings_loader

pytestmark = pytest.mark.usefixtures("database_url")

ORIGIN = "https://interviews.example.com"


# --- finding 1: the container's open door ------------------------------------------------


async def test_production_voice_from_a_foreign_origin_or_without_a_link_starts_nothing(
    app_on: MakeApp,
) -> None:
    # What the image is now (production), reached the way the reviewer reached it.
    app = app_on(VIVAVOCE_ENV="production", VIVAVOCE_ALLOWED_ORIGINS=ORIGIN)
    assert app.fake is not None
    upstream_before = len(app.fake.fake.sessions)
    with pytest.raises(InvalidStatus) as refused:
        async with voice_client(app.voice_url(), refused=True, origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    # From the service's own page, still no interview without a link.
    async with voice_client(app.voice_url(), refused=True, origin=ORIGIN) as client:
        error = await client.until("error")
        assert error["code"] == "token_required" and "hint" not in error
        assert await client.until_closed() == 1008
    assert "interview_started" not in client.types()
    assert len(app.fake.fake.sessions) == upstream_before  # nothing billed upstream
    assert await rows(app, "SELECT id FROM interviews") == []
    # Nor a résumé upload without a login or a link.
    upload = httpx.post(
        f"{app.server.http_url}/api/resume",
        files={"file": ("cv.txt", b"Ada Lovelace\n", "text/plain")},
        timeout=30,
    )
    assert upload.status_code == 401


# --- finding 4: a page on another port of the same host ---------------------------------


async def test_a_page_on_another_port_cannot_act_with_the_operators_login(
    app_on: MakeApp,
) -> None:
    app = app_on()
    async with browser(app) as client:
        made = await client.post(
            "/api/interviews", json={"candidate": {"name": "Ada"}}, headers=ADMIN
        )
        interview_id = made.json()["id"]
        await log_in_over_http(client, app)
        other_port = app.server.http_url.rsplit(":", 1)[0] + ":1"
        foreign = {"Origin": other_port, "Referer": other_port + "/attack.html"}
        # The three requests of the review, each with the operator's real cookie.
        rerun = await client.post(f"/api/interviews/{interview_id}/evaluation", headers=foreign)
        reload = await client.post("/api/admin/reload", headers=foreign)
        logout = await client.post("/admin/logout", headers=foreign)
        for response in (rerun, reload, logout):
            assert response.status_code == 403, (response.url, response.text)
            assert response.json()["error"]["code"] == "csrf_failed"
        assert await rows(app, "SELECT interview_id FROM evaluations") == []
        assert app.runtime.reload.last is None  # the reload never ran
        # The operator is still logged in, and the same requests from the service's own
        # page reach their routes (this interview has not ended, so there is nothing to
        # re-run: 409 from the route itself, not the CSRF check).
        own = same_origin(app)
        assert (await client.get("/api/interviews")).status_code == 200
        again = await client.post(f"/api/interviews/{interview_id}/evaluation", headers=own)
        assert again.status_code == 409 and again.json()["error"]["code"] == "interview_not_ended"
        token = await csrf_of(client)
        out = await client.post("/admin/logout", data={"csrf_token": token}, headers=own)
        assert out.status_code == 303
        assert (await client.get("/api/interviews")).status_code == 401


# --- finding 5: a weak admin token cannot come in through a reload -----------------------


async def test_a_reload_does_not_take_a_trivially_weak_admin_token_in_production(
    app_on: MakeApp,
) -> None:
    app = app_on(VIVAVOCE_ENV="production", VIVAVOCE_ALLOWED_ORIGINS=ORIGIN)
    set_settings_loader(
        app.runtime,
        lambda: load_settings({"VIVAVOCE_ADMIN_TOKEN": "a" * 32}, env_file=None),
    )
    async with browser(app) as client:
        response = await client.post("/api/admin/reload", headers=ADMIN)
        assert response.status_code in (200, 422), response.text
        assert app.runtime.admin_token == ADMIN_TOKEN
        weak = await client.get("/api/interviews", headers={"Authorization": "Bearer " + "a" * 32})
        assert weak.status_code == 401
        assert (await client.get("/api/interviews", headers=ADMIN)).status_code == 200


# --- open interviews: the doctor and the setup page say so too ---------------------------


async def test_the_doctor_and_the_setup_page_say_when_open_interviews_are_on(
    make_settings: MakeSettings, make_client: MakeClient
) -> None:
    opened = {"VIVAVOCE_HOST": "0.0.0.0", "VIVAVOCE_ALLOW_INSECURE": "1",
              "VIVAVOCE_OPEN_INTERVIEWS": "1"}
    closed = {"VIVAVOCE_HOST": "0.0.0.0", "VIVAVOCE_ALLOW_INSECURE": "1"}
    for env, on in ((opened, True), (closed, False)):
        report = await run_doctor(make_settings(**env), offline=True)
        [configuration] = [c for c in report.checks if c.name == "configuration"]
        assert ("open interviews ON" in configuration.detail) is on
        client = make_client(**env)
        log_in(client)
        page = client.get("/admin/setup").text
        assert ("Open interviews are ON" in page) is on


# --- finding 1 on a developer's machine: a website they visit -----------------------------


async def test_in_development_a_website_cannot_open_voice_from_the_developers_browser(
    app_on: MakeApp,
) -> None:
    # Development on loopback: open interviews are on, and a WebSocket has no CORS, so
    # any page the developer visits could otherwise start interviews on their key.
    app = app_on()
    assert app.runtime.settings.allow_open_interviews
    with pytest.raises(InvalidStatus) as refused:
        async with voice_client(app.voice_url(), refused=True, origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    # A front end on another local port still works, as does the service's own page.
    local_port = app.server.http_url.rsplit(":", 1)[0] + ":5173"
    for origin in (local_port, app.server.http_url):
        async with voice_client(app.voice_url(), origin=origin) as client:
            await client.send_json({"type": "ping"})
            await client.until("pong")
