"""Headers on personal data, and the API docs without a CDN and, in production, for the
operator only — over a real socket (issue 14)."""

from __future__ import annotations

import httpx
import pytest

from tests.web.security_helpers import ADMIN, MakeApp, browser

ORIGIN = "https://interviews.example.com"


async def test_api_responses_with_personal_data_are_not_cached_or_sniffed(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server()
    async with browser(app) as client:
        made = await client.post(
            "/api/interviews", json={"candidate": {"name": "Ada Lovelace"}}, headers=ADMIN
        )
        interview_id, token = made.json()["id"], made.json()["token"]
        responses = [
            made,
            await client.get(f"/api/interviews/{interview_id}", params={"token": token}),
            await client.get(f"/api/interviews/{interview_id}/transcript", params={"token": token}),
            await client.get("/api/interviews", headers=ADMIN),
            await client.get("/api/interviews/not-an-id", headers=ADMIN),  # errors too
            await client.post(
                "/api/resume", files={"file": ("cv.txt", b"Ada Lovelace\nMaths", "text/plain")}
            ),
        ]
        for response in responses:
            assert response.headers["cache-control"] == "no-store", response.url
            assert response.headers["x-content-type-options"] == "nosniff", response.url


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_load_their_assets_from_this_service(
    make_app_server: MakeApp, path: str
) -> None:
    app = make_app_server()
    async with browser(app) as client:
        page = await client.get(path)
        assert page.status_code == 200
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "https:" not in policy
        for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css",
                      "/docs-assets/redoc.standalone.js", "/static/js/api-docs.js"):
            loaded = await client.get(asset)
            assert loaded.status_code == 200, asset
            # Fixed names: revalidated on every use, never a stale mix after an upgrade.
            assert loaded.headers["cache-control"] == "no-cache", asset
        assert b"cdn.redoc.ly" not in (await client.get("/docs-assets/redoc.standalone.js")).content
        spec = await client.get("/openapi.json")
        assert spec.status_code == 200 and spec.json()["info"]["title"] == "vivavoce"


async def test_docs_are_for_the_operator_in_production(make_app_server: MakeApp) -> None:
    app = make_app_server(VIVAVOCE_ENV="production", VIVAVOCE_ALLOWED_ORIGINS=ORIGIN)
    async with browser(app) as client:
        for path in ("/docs", "/redoc"):
            page = await client.get(path)
            assert page.status_code == 303
            assert page.headers["location"].startswith("/admin/login?next=")
        assert (await client.get("/openapi.json")).status_code == 401
        assert (await client.get("/openapi.json", headers=ADMIN)).status_code == 200
        assert (await client.get("/docs", headers=ADMIN)).status_code == 200
        await client.post("/admin/login", data={"token": ADMIN["Authorization"][7:]},
                          headers={"Origin": ORIGIN})
        # The production cookie is Secure: httpx keeps it only for https, as a browser
        # would; send it back by hand as the browser does behind the TLS proxy.
        session = client.cookies.get("__Host-vivavoce_session")
        assert session
        page = await client.get(
            "/docs", headers={"Cookie": f"__Host-vivavoce_session={session}"}
        )
        assert page.status_code == 200


def test_hsts_only_in_production(make_app_server: MakeApp) -> None:
    production = make_app_server(VIVAVOCE_ENV="production", VIVAVOCE_ALLOWED_ORIGINS=ORIGIN)
    for path in ("/", "/healthz", "/api/interviews", "/admin/login"):
        response = httpx.get(production.server.http_url + path, timeout=10)
        assert response.headers["strict-transport-security"] == "max-age=31536000", path
    development = make_app_server()
    assert "strict-transport-security" not in httpx.get(
        development.server.http_url + "/", timeout=10
    ).headers
