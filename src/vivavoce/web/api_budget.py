"""Spend limits in the running service: ``GET /api/budget``, the status the setup and usage
pages show, the evaluation worker's "may I spend?", and the refusal new interviews get.

The figures come from :mod:`vivavoce.budget` (database, so every instance agrees); the
prices from the app's Realtime price table and the rubric the evaluation worker uses.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI
from sqlalchemy.exc import SQLAlchemyError

from vivavoce.budget import EXHAUSTED_MESSAGE, BudgetStatus, check_budget
from vivavoce.evaluation.rubric import TextPriceTable, load_rubric
from vivavoce.pricing import default_price_table
from vivavoce.runtime import Runtime
from vivavoce.web.deps import AdminDep, RuntimeDep

__all__ = [
    "budget_allows_spending", "budget_for", "budget_refusal", "install", "limited", "router",
]

log = logging.getLogger("vivavoce.budget")
router = APIRouter(prefix="/api", tags=["usage"])


def _text_prices(runtime: Runtime) -> TextPriceTable:
    worker = runtime.evaluation_worker
    if worker is not None:
        return worker.rubric.prices
    return load_rubric(runtime.settings.rubric_file).prices


async def budget_for(runtime: Runtime) -> BudgetStatus:
    """The current status (its warnings logged and sent as a webhook once per period)."""
    return await check_budget(
        runtime.db, runtime.settings,
        prices=runtime.prices or default_price_table(), text_prices=_text_prices(runtime),
    )


def limited(runtime: Runtime) -> bool:
    """Whether a daily or monthly limit is set."""
    s = runtime.settings
    return s.daily_budget_usd is not None or s.monthly_budget_usd is not None


async def budget_refusal(runtime: Runtime) -> tuple[str, str] | None:
    """``("budget_exhausted", words for the candidate)`` when new interviews must wait, else
    None. For the /voice start (the link is not used up by the refusal)."""
    if not limited(runtime):
        return None
    status = await budget_for(runtime)
    return ("budget_exhausted", EXHAUSTED_MESSAGE) if status.exhausted else None


async def budget_allows_spending(runtime: Runtime) -> bool:
    """False while a period's limit is reached: the evaluation worker then leaves its jobs
    queued. A database hiccup here does not stop evaluations (the worker's own queries
    will meet it and report it)."""
    if not limited(runtime):
        return True
    try:
        return not (await budget_for(runtime)).exhausted
    except SQLAlchemyError as exc:
        log.warning("could not check the budget: %s", type(exc).__name__)
        return True


@router.get("/budget")
async def get_budget(_admin: AdminDep, runtime: RuntimeDep) -> dict[str, object]:
    """Today's and this month's estimated spend (UTC) against the limits, and the models
    without a price (counted at the dearest listed model of their kind)."""
    return (await budget_for(runtime)).to_json()


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    return None


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    return None
