"""/healthz, /readyz and /api/diagnostics on a real app around the health module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.fixtures.fake_openai import RunningFake, running_fake
from tests.fixtures.settings import MakeSettings
from vivavoce.runtime import Runtime
from vivavoce.store.database import Database
from vivavoce.testing.scenarios import scenario_key
from vivavoce.web import health
from vivavoce.web.errors import install_error_handlers

ADMIN = "admin-token-for-health-tests"


@pytest.fixture(scope="module")
def fake() -> Iterator[RunningFake]:
    yield from running_fake()


def make_runtime(
    make_settings: MakeSettings, tmp_path: Path, *, db_url: str | None = None, **env: str
) -> Runtime:
    settings = make_settings(**env)
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return Runtime(
        settings=settings,
        db=Database(db_url or f"sqlite+aiosqlite:///{tmp_path / 'health.db'}"),
        admin_token=ADMIN,
        admin_token_generated=False,
        secret_key="secret-for-tests-0123456789",
        api_key=key,
    )


async def client_for(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.runtime = runtime
    install_error_handlers(app)
    health.install(app, runtime)
    await health.on_startup(app, runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await runtime.db.dispose()


async def test_healthz(make_settings: MakeSettings, tmp_path: Path) -> None:
    async for client in client_for(make_runtime(make_settings, tmp_path)):
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


async def test_readyz_simulator_mode_is_ready(make_settings: MakeSettings, tmp_path: Path) -> None:
    async for client in client_for(make_runtime(make_settings, tmp_path)):
        response = await client.get("/readyz")
        assert response.status_code == 200
        body = response.json()
        assert body["ready"] is True
        assert body["checks"]["configuration"]["mode"] == "simulator"
        assert body["checks"]["database"]["ok"] is True


async def test_readyz_with_usable_key(make_settings: MakeSettings, tmp_path: Path) -> None:
    key = scenario_key("ok")
    runtime = make_runtime(make_settings, tmp_path, OPENAI_API_KEY=key)
    async for client in client_for(runtime):
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["checks"]["configuration"]["mode"] == "openai"
        assert key not in response.text


async def test_readyz_malformed_key_is_not_ready(make_settings: MakeSettings, tmp_path: Path) -> None:
    runtime = make_runtime(
        make_settings, tmp_path, OPENAI_API_KEY="sk-proj-" + "NotAKey0Fake_" * 3 + " tail-of-it"
    )
    async for client in client_for(runtime):
        response = await client.get("/readyz")
        assert response.status_code == 503
        configuration = response.json()["checks"]["configuration"]
        assert configuration["ok"] is False
        assert configuration["cause"] == "key_malformed"
        assert "tail-of-it" not in response.text


async def test_readyz_database_unreachable(make_settings: MakeSettings, tmp_path: Path) -> None:
    runtime = make_runtime(
        make_settings, tmp_path, db_url="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    )
    async for client in client_for(runtime):
        response = await client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["ready"] is False
        assert body["checks"]["database"]["ok"] is False
        assert body["checks"]["configuration"]["ok"] is True


async def test_readyz_never_calls_openai(
    make_settings: MakeSettings, tmp_path: Path, fake: RunningFake
) -> None:
    runtime = make_runtime(
        make_settings, tmp_path, OPENAI_API_KEY=scenario_key("ok"), OPENAI_BASE_URL=fake.base_url
    )
    before = len(fake.fake.requests)
    async for client in client_for(runtime):
        for _ in range(3):
            await client.get("/readyz")
    assert len(fake.fake.requests) == before


async def test_diagnostics_needs_the_admin_token(make_settings: MakeSettings, tmp_path: Path) -> None:
    async for client in client_for(make_runtime(make_settings, tmp_path)):
        response = await client.get("/api/diagnostics")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        wrong = await client.get("/api/diagnostics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_diagnostics_runs_the_doctor_and_caches(
    make_settings: MakeSettings, tmp_path: Path, fake: RunningFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(health, "time", clock)
    key = scenario_key("revoked", "health")
    runtime = make_runtime(
        make_settings, tmp_path, OPENAI_API_KEY=key, OPENAI_BASE_URL=fake.base_url
    )
    headers = {"Authorization": f"Bearer {ADMIN}"}

    def model_calls() -> int:
        return sum(1 for r in fake.fake.requests if r.path.endswith("/models"))

    async for client in client_for(runtime):
        first = await client.get("/api/diagnostics", headers=headers)
        assert first.status_code == 200
        body = first.json()
        assert [c["id"] for c in body["causes"]] == ["key_invalid"]
        assert set(body) == {"ok", "checks", "causes", "key"}
        assert key not in first.text
        calls = model_calls()

        clock.now += 10  # cached, refresh or not
        await client.get("/api/diagnostics", headers=headers)
        await client.get("/api/diagnostics?refresh=1", headers=headers)
        assert model_calls() == calls

        clock.now += health.REFRESH_SECONDS  # refresh allowed again, plain call still cached
        await client.get("/api/diagnostics", headers=headers)
        assert model_calls() == calls
        await client.get("/api/diagnostics?refresh=1", headers=headers)
        assert model_calls() == calls + 1

        clock.now += health.CACHE_SECONDS  # expired: reruns by itself
        await client.get("/api/diagnostics", headers=headers)
        assert model_calls() == calls + 2


async def test_diagnostics_checks_a_reloaded_key(
    make_settings: MakeSettings, tmp_path: Path, fake: RunningFake
) -> None:
    runtime = make_runtime(
        make_settings, tmp_path, OPENAI_API_KEY=scenario_key("revoked"), OPENAI_BASE_URL=fake.base_url
    )
    runtime.api_key = scenario_key("ok", "reloaded")
    async for client in client_for(runtime):
        body = (await client.get("/api/diagnostics", headers={"Authorization": f"Bearer {ADMIN}"})).json()
        assert body["ok"] is True
        assert body["key"]["source"] == "reloaded key"
