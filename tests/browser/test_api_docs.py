"""``/docs`` and ``/redoc`` in a real browser: rendered from the packaged assets under
their Content-Security-Policy, with no request leaving the machine (issue 14)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.browser.conftest import BrowserPage, LiveApp

ORIGIN = "https://interviews.example.com"


def _watch_requests(page: Any, base_url: str) -> list[str]:
    elsewhere: list[str] = []

    def seen(request: Any) -> None:
        url: str = request.url
        if not url.startswith((base_url, "data:", "blob:", "about:")):
            elsewhere.append(url)

    page.on("request", seen)
    return elsewhere


def test_swagger_ui_and_redoc_render_offline_under_the_csp(
    live_app: Callable[..., LiveApp], open_page: Callable[..., BrowserPage]
) -> None:
    app = live_app()
    tab = open_page()
    page = tab.page
    elsewhere = _watch_requests(page, app.url)
    page.goto(app.url + "/docs")
    page.locator(".swagger-ui .info .title").filter(has_text="vivavoce").wait_for()
    page.locator(".opblock-summary-path", has_text="/api/interviews").first.wait_for()
    page.goto(app.url + "/redoc")
    page.get_by_role("heading", name="vivavoce").first.wait_for()
    assert elsewhere == []
    # A CSP violation is a console error: the fixture fails the test on any.


def test_docs_are_for_the_operator_in_production(
    live_app: Callable[..., LiveApp], open_page: Callable[..., BrowserPage]
) -> None:
    app = live_app(
        VIVAVOCE_ENV="production", VIVAVOCE_ALLOWED_ORIGINS=ORIGIN, VIVAVOCE_PUBLIC_URL=ORIGIN
    )
    tab = open_page()
    page = tab.page
    page.goto(app.url + "/docs")
    page.wait_for_url(lambda url: "/admin/login?next=%2Fdocs" in url)
