"""Operating the service: ``/metrics``, ``GET /api/usage`` and key reload.

- ``GET /metrics`` — Prometheus text format, admin token required (a scraper sends it as
  ``authorization: {credentials: …}``). With ``VIVAVOCE_METRICS_PORT`` set, the same
  metrics are also served *without* a token on that port, for a scraper on a private
  network; do not publish that port.
- ``GET /api/usage?since=YYYY-MM-DD&until=YYYY-MM-DD`` (admin) — tokens and estimated cost
  of interviews and their evaluations by UTC day and by model, with totals; both dates
  inclusive, the last 30 days by default.
  ``/admin/usage`` shows the same as a page for the operator.
- ``POST /api/admin/reload`` (admin) — re-read the OpenAI key and switch to it if the doctor
  passes (see :mod:`vivavoce.reload`); ``GET /api/admin/reload`` — the key in use (masked)
  and the outcome of the last reload. ``SIGHUP`` does the same as the POST. With several
  workers (``serve --workers``) a POST reaches every worker (vivavoce.worker_group); the
  GET answers for the worker it lands on.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce import metrics
from vivavoce.keys import inspect_key
from vivavoce.reload import last_reload, reload_key
from vivavoce.runtime import Runtime
from vivavoce.store.usage import TOKEN_FIELDS, usage_summary
from vivavoce.web.deps import AdminDep, RuntimeDep, SessionDep, is_admin
from vivavoce.web.errors import ApiError
from vivavoce.worker_group import ask_siblings_to_reload

__all__ = [
    "MAX_USAGE_DAYS",
    "UsageRangeError",
    "install",
    "on_shutdown",
    "on_startup",
    "router",
    "start_metrics_server",
    "usage_report",
]

log = logging.getLogger("vivavoce.ops")

router = APIRouter()

DEFAULT_USAGE_DAYS = 30
MAX_USAGE_DAYS = 366

_COUNTS = ("interviews", "simulated_interviews", "evaluations")
_COSTS = ("cost_usd", "interview_cost_usd", "evaluation_cost_usd")


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint(_: AdminDep) -> Response:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)


def _add(into: dict[str, Any], row: dict[str, Any]) -> None:
    for name in (*_COUNTS, *TOKEN_FIELDS):
        into[name] = into.get(name, 0) + row[name]
    into["total_tokens"] = into.get("total_tokens", 0) + sum(row[n] for n in TOKEN_FIELDS)
    for name in _COSTS:
        into[name] = round(into.get(name, 0.0) + row[name], 6)


def _empty_totals() -> dict[str, Any]:
    totals: dict[str, Any] = dict.fromkeys((*_COUNTS, *TOKEN_FIELDS, "total_tokens"), 0)
    totals.update(dict.fromkeys(_COSTS, 0.0))
    return totals


class UsageRangeError(ValueError):
    """A reversed or too long date range (``code``: invalid_range / range_too_long)."""

    def __init__(self, code: str, message: str, first: date, last: date) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = {"since": first.isoformat(), "until": last.isoformat()}


async def usage_report(
    session: AsyncSession, *, since: date | None = None, until: date | None = None
) -> dict[str, Any]:
    """Tokens and estimated cost (interviews and evaluations) by UTC day and model, by
    model, and in total, for the inclusive days ``since``..``until`` (default: the 30 days up to today). Raises
    :class:`UsageRangeError` for a reversed or too long range."""
    last = until or datetime.now(UTC).date()
    # Counted back by ordinal so that a day near year 1 cannot overflow (a 500).
    first = since or date.fromordinal(max(1, last.toordinal() - (DEFAULT_USAGE_DAYS - 1)))
    if last >= date.max:
        # The query ends at midnight after 'until', which does not exist for date.max.
        raise UsageRangeError(
            "invalid_range", f"'until' must be before {date.max.isoformat()}.", first, last
        )
    if first > last:
        raise UsageRangeError(
            "invalid_range", f"'since' ({first}) is after 'until' ({last}).", first, last
        )
    if (last - first).days + 1 > MAX_USAGE_DAYS:
        raise UsageRangeError(
            "range_too_long", f"Ask for at most {MAX_USAGE_DAYS} days at a time.", first, last
        )
    rows = await usage_summary(
        session,
        since=datetime.combine(first, time.min, UTC),
        until=datetime.combine(last + timedelta(days=1), time.min, UTC),
    )
    days: list[dict[str, Any]] = []
    by_model: dict[str | None, dict[str, Any]] = {}
    totals = _empty_totals()
    for row in rows:
        day_row = {"day": row["day"], "model": row["model"]}
        _add(day_row, row)
        days.append(day_row)
        model_row = by_model.setdefault(row["model"], {"model": row["model"]})
        _add(model_row, row)
        _add(totals, row)
    models = sorted(by_model.values(), key=lambda m: (-m["cost_usd"], str(m["model"])))
    return {
        "since": first.isoformat(),
        "until": last.isoformat(),
        "currency": "USD",
        # Costs come from the configured price table, not from OpenAI's invoice.
        "estimated": True,
        "days": days,
        "models": models,
        "totals": totals,
    }


@router.get("/api/usage")
async def usage(
    _: AdminDep,
    session: SessionDep,
    since: Annotated[date | None, Query(description="First UTC day, inclusive")] = None,
    until: Annotated[date | None, Query(description="Last UTC day, inclusive")] = None,
) -> dict[str, Any]:
    """Tokens and estimated cost by day and model. Raises ApiError 400 for a reversed or
    too long range (invalid dates are a 422 from validation)."""
    try:
        return await usage_report(session, since=since, until=until)
    except UsageRangeError as exc:
        raise ApiError(400, exc.code, exc.message, exc.details) from None


def _parse_day(value: str | None, name: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"'{name}' must be a date such as 2026-11-01.") from None


@router.get("/admin/usage", response_class=HTMLResponse, include_in_schema=False)
async def usage_page(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """The operator's usage page: the same numbers as ``GET /api/usage``, as tables."""
    # Imported here: pages imports the whole page machinery, which an API-only use of
    # this module does not need.
    from vivavoce.web import pages, pages_login

    if not is_admin(request, runtime):
        return pages_login.redirect_to_login(request)
    problem: str | None = None
    report: dict[str, Any] | None = None
    try:
        report = await usage_report(
            session, since=_parse_day(since, "since"), until=_parse_day(until, "until")
        )
    except (ValueError, UsageRangeError) as exc:
        problem = str(exc)
    status = 200 if problem is None else 400
    return pages.render(
        request,
        "admin_usage.html",
        status_code=status,
        page="admin_usage",
        report=report,
        problem=problem,
        since=since or (report["since"] if report else ""),
        until=until or (report["until"] if report else ""),
        budget=await pages.page_budget(runtime),
    )


def _key_state(runtime: Runtime) -> dict[str, Any] | None:
    if runtime.api_key is None:
        return None
    report = inspect_key(runtime.api_key)
    return {
        "masked": report.masked,
        "fingerprint": report.fingerprint,
        "type": report.key_type,
        "source": runtime.settings.source_of("openai_api_key").describe(),
    }


@router.get("/api/admin/reload")
async def reload_state(_: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The key new interviews use (masked) and the last reload's outcome (or null)."""
    last = last_reload(runtime)
    return {"key": _key_state(runtime), "last_reload": last.to_json() if last else None}


@router.post("/api/admin/reload")
async def reload(_: AdminDep, runtime: RuntimeDep) -> JSONResponse:
    """Re-read and check the key; raises ApiError 422 ``reload_refused`` (details: the
    reload result with the doctor's causes) when it cannot be used."""
    result = await reload_key(runtime, trigger="api")
    if runtime.worker_group is not None:
        # This worker has reloaded; the parent sends the others SIGHUP (worker_group.py).
        ask_siblings_to_reload(runtime.worker_group)
    if not result.applied:
        raise ApiError(422, "reload_refused", result.message, result.to_json())
    return JSONResponse(result.to_json())


def start_metrics_server(host: str, port: int) -> tuple[Any, threading.Thread]:
    """Serve the metrics registry without authentication on ``host:port`` (0 = any free
    port) in a daemon thread. Returns (server, thread); stop with ``server.shutdown()``.
    Raises OSError when the port cannot be bound."""
    # prometheus_client's own server: a tiny threaded WSGI server, kept off the event loop.
    from prometheus_client import start_http_server

    server, thread = start_http_server(port, addr=host, registry=metrics.REGISTRY)
    return server, thread


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)


def _on_sighup(runtime: Runtime) -> None:
    tasks = runtime.reload_tasks
    task = asyncio.get_running_loop().create_task(reload_key(runtime, trigger="sighup"))
    # Keep a reference until it finishes (the loop holds only weak ones).
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _install_sighup(runtime: Runtime) -> None:
    # Signal handlers belong to the main thread's loop; an app served from another thread
    # (tests, embedding) has none, and reload stays available through the API.
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, _on_sighup, runtime)
    except (NotImplementedError, RuntimeError, ValueError) as exc:
        log.debug("SIGHUP reload not available: %s", exc)
        return
    runtime.sighup_installed = True


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    """Install the SIGHUP handler; start the metrics port when configured. Raises OSError
    (the service does not start) when ``VIVAVOCE_METRICS_PORT`` cannot be bound."""
    _install_sighup(runtime)
    port = runtime.settings.metrics_port
    # In a worker group the parent serves the port, once for every worker.
    if port is not None and runtime.worker_group is None:
        host = runtime.settings.host
        try:
            runtime.metrics_server = start_metrics_server(host, port)
        except OSError as exc:
            raise metrics.port_unusable(exc, host, port) from None
        log.info("metrics served without a token on http://%s:%d/metrics", host, port)


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    if runtime.sighup_installed:
        runtime.sighup_installed = False
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        # Not back to the default (which ends the process): a SIGHUP while the last
        # interviews are flushed must not cut them short.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    tasks = runtime.reload_tasks
    for task in list(tasks):
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    served, runtime.metrics_server = runtime.metrics_server, None
    if served is not None:
        server, thread = served
        # shutdown() waits for serve_forever to return; both are quick, keep them off the loop.
        await asyncio.to_thread(server.shutdown)
        server.server_close()
        await asyncio.to_thread(thread.join, 5)
