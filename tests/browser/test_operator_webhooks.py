"""The webhooks page in real Chromium: add an endpoint with a secret generated in the page,
watch a failed delivery in the log, send it again, see it delivered and verified."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from tests.browser.conftest import BrowserPage, LiveApp, login
from tests.operator.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]


def _go_live(app: LiveApp, interview_id: str) -> None:
    from vivavoce.store import interviews as store
    from vivavoce.store.database import Database

    async def run() -> None:
        db = Database(app.app.state.runtime.db.url)
        try:
            async with db.session() as s:
                await store.mark_live(s, interview_id, at=datetime.now(UTC))
        finally:
            await db.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=30)


def test_add_endpoint_and_send_again(open_page: OpenPage, live_app: StartApp) -> None:
    app = live_app()
    tab = open_page()
    page = tab.page
    login(page, app.url, "/admin/webhooks")
    page.wait_for_selector("main[data-state=ready]")
    page.get_by_role("button", name="Generate").click()
    secret = page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    with webhook_receiver(secret, fail_first=1) as receiver:
        page.get_by_label("URL (required)").fill(receiver.url)
        page.get_by_label("Description").fill("Our ATS")
        page.get_by_role("button", name="Add endpoint").click()
        page.get_by_text("Added.").wait_for()
        assert secret not in page.content()  # masked from now on
        assert "Our ATS" in page.locator("#endpoints-body").inner_text()
        created = app.create_interview(name="Grace Hopper")
        _go_live(app, created["id"])
        # The first attempt fails (the receiver says 503): the log says it will retry.
        for _ in range(100):
            page.get_by_role("button", name="Refresh").click()
            if page.locator("tr[data-status=pending]").count():
                break
            page.wait_for_timeout(200)
        row = page.locator("tr[data-status=pending]")
        assert "Waiting to retry" in row.inner_text()
        page.get_by_role("button", name="Send interview.started again").click()
        for _ in range(100):
            page.get_by_role("button", name="Refresh").click()
            if page.locator("tr[data-status=delivered]").count():
                break
            page.wait_for_timeout(200)
        assert "Delivered" in page.locator("tr[data-status=delivered]").inner_text()
        assert len(receiver.verified()) == 1
        assert receiver.verified()[0].json["data"]["id"] == created["id"]
        tab.snap("admin-webhooks")
