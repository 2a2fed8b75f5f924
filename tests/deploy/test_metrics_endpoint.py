"""/metrics: admin-protected on the main port; optionally open on VIVAVOCE_METRICS_PORT."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from vivavoce import metrics
from vivavoce.web.ops import start_metrics_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_metrics_need_the_admin_token(make_app_client: Callable[..., Any]) -> None:
    client = await make_app_client()
    denied = await client.get("/metrics")
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "unauthorized"
    assert "vivavoce_" not in denied.text


async def test_metrics_are_prometheus_text(make_app_client: Callable[..., Any]) -> None:
    client = await make_app_client()
    metrics.interview_started()
    try:
        response = await client.get("/metrics", headers=client.admin_headers)
    finally:
        metrics.interview_ended("completed")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    live = families["vivavoce_live_interviews"].samples[0].value
    assert live >= 1
    assert "vivavoce_interviews_started" in families


async def test_separate_metrics_port_serves_without_token(
    make_app_client: Callable[..., Any],
) -> None:
    port = free_port()
    await make_app_client(VIVAVOCE_METRICS_PORT=str(port))
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert "vivavoce_live_interviews" in response.text


async def test_metrics_port_closes_at_shutdown(make_settings: Any, tmp_path: Any) -> None:
    from tests.fixtures.database import make_runtime
    from vivavoce.store.database import Database
    from vivavoce.web.app import create_app

    port = free_port()
    settings = make_settings(VIVAVOCE_METRICS_PORT=str(port))
    app = create_app(
        runtime=make_runtime(settings, Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"))
    )
    async with app.router.lifespan_context(app), httpx.AsyncClient() as http:
        assert (await http.get(f"http://127.0.0.1:{port}/metrics")).status_code == 200
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/metrics")


async def test_busy_metrics_port_stops_start_up_with_a_clear_message(
    make_settings: Any, tmp_path: Any
) -> None:
    from tests.fixtures.database import make_runtime
    from vivavoce.store.database import Database
    from vivavoce.web.app import create_app

    server, thread = start_metrics_server("127.0.0.1", 0)
    try:
        port = server.server_port
        settings = make_settings(VIVAVOCE_METRICS_PORT=str(port))
        runtime = make_runtime(settings, Database(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"))
        app = create_app(runtime=runtime)
        with pytest.raises(OSError, match=f"VIVAVOCE_METRICS_PORT={port}: cannot listen"):
            async with app.router.lifespan_context(app):
                pass
        await runtime.db.dispose()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_metrics_port_setting_is_validated(make_settings: Any) -> None:
    from pydantic import ValidationError

    assert make_settings().metrics_port is None
    assert make_settings(VIVAVOCE_METRICS_PORT="9100").metrics_port == 9100
    for bad in ("0", "70000", "nine"):
        with pytest.raises(ValidationError):
            make_settings(VIVAVOCE_METRICS_PORT=bad)
