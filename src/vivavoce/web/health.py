"""Health endpoints: ``/healthz`` (alive), ``/readyz`` (ready to serve), ``/api/diagnostics``.

``/readyz`` never calls OpenAI: a load balancer polls it, and a key problem must not
turn into a flood of requests to OpenAI. It checks what is local — the configuration
(is there a usable key, or the simulator) and the database — and answers 503 when the
service cannot do its job.

``/api/diagnostics`` (admin) runs the live doctor. Results are cached for
:data:`CACHE_SECONDS` so the endpoint cannot be used to hammer OpenAI; ``?refresh=1``
reruns it sooner, but never on a report younger than :data:`REFRESH_SECONDS`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from vivavoce.diagnosis.cache import CACHE_SECONDS, REFRESH_SECONDS, DiagnosticsCache
from vivavoce.diagnosis.doctor import run_doctor
from vivavoce.diagnosis.offline import cause_for_key
from vivavoce.diagnosis.report import DoctorReport
from vivavoce.keys import inspect_key
from vivavoce.redact import redact
from vivavoce.runtime import Runtime
from vivavoce.web.deps import AdminDep, RuntimeDep

__all__ = [
    "CACHE_SECONDS",
    "REFRESH_SECONDS",
    "DiagnosticsCache",
    "diagnostics_cache",
    "install",
    "on_shutdown",
    "on_startup",
    "readiness",
    "router",
]

_DB_TIMEOUT = 3.0

router = APIRouter(tags=["health"])


def diagnostics_cache(runtime: Runtime) -> DiagnosticsCache:
    """The runtime's diagnostics cache."""
    return runtime.diagnostics


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving HTTP."""
    return {"status": "ok"}


async def readiness(runtime: Runtime) -> tuple[bool, dict[str, Any]]:
    """Whether the service can do its job, and why. Never calls OpenAI."""
    settings = runtime.settings
    key = inspect_key(runtime.api_key)
    if settings.use_simulator:
        configuration = {
            "ok": True,
            "mode": "simulator",
            "detail": "interviews run against the built-in simulator, not OpenAI",
        }
    elif key.usable:
        configuration = {
            "ok": True,
            "mode": "openai",
            "detail": f"OpenAI key {key.masked} ({key.key_type}) is set",
        }
    else:
        cause = cause_for_key(key)
        configuration = {
            "ok": False,
            "mode": "openai",
            "cause": cause,
            "detail": "; ".join(f.message for f in key.errors) or "no usable OpenAI key",
        }

    try:
        await asyncio.wait_for(runtime.db.ping(), _DB_TIMEOUT)
    except TimeoutError:
        database: dict[str, Any] = {"ok": False, "detail": f"no answer within {_DB_TIMEOUT:.0f} s"}
    except Exception as exc:  # any driver error means "not reachable"; say which
        database = {"ok": False, "detail": redact(f"{type(exc).__name__}: {exc}")[:300]}
    else:
        database = {"ok": True, "detail": "reachable"}
    ready = bool(configuration["ok"]) and bool(database["ok"])
    return ready, {"configuration": configuration, "database": database}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """200 when ready (configuration valid, database reachable), else 503, with reasons."""
    ready, checks = await readiness(runtime)
    body = {"ready": ready, "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/api/diagnostics")
async def diagnostics(runtime: RuntimeDep, _: AdminDep, refresh: bool = False) -> dict[str, Any]:
    """The live doctor's report (as ``doctor --json``), cached; see the module docstring."""
    cache = diagnostics_cache(runtime)
    async with cache.lock:  # concurrent callers wait for one run instead of starting more
        now = time.monotonic()
        if cache.needs_run(now, refresh=refresh):
            cache.report = await _run_for_runtime(runtime)
            cache.made_at = now
        report = cache.report
    assert report is not None  # set above on the first call
    return report.to_json()


async def _run_for_runtime(runtime: Runtime) -> DoctorReport:
    # The doctor checks the key new interviews would use. After a reload that is no
    # longer the one in the settings, so it is passed in (with an honest source).
    settings = runtime.settings
    configured = inspect_key(
        settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    ).normalised
    current = inspect_key(runtime.api_key).normalised if runtime.api_key is not None else None
    if current == configured:
        return await run_doctor(settings)
    return await run_doctor(settings, api_key=runtime.api_key or "", key_source="reloaded key")


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    return None


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    return None
