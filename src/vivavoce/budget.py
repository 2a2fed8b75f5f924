"""Spend limits: what today and this month cost so far, against the operator's budget.

``VIVAVOCE_DAILY_BUDGET_USD`` and ``VIVAVOCE_MONTHLY_BUDGET_USD`` (UTC days and months) are
compared with the usage recorded in the database, so every instance sees the same
figure: the interviews' token counts (by the day they started) priced with the Realtime
price table, and the evaluations' (by the day they were queued) priced with the rubric's
text-model prices. The price is applied now, to the recorded tokens, rather than taken
from the stored cost: a model without a price is counted at the dearest listed model of
its kind (Realtime or text), so an unknown model can only overstate the spend, never hide
it. Interviews run against the built-in simulator cost nothing.

At 80 % a period is ``warning`` (logged once per period and process, shown on the setup
and usage pages, and sent once as the ``budget.warning`` webhook); at 100 % it is
``exhausted``: new interviews are refused with ``budget_exhausted`` and evaluations wait
until the next period or a raised limit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.config import Settings
from vivavoce.evaluation.rubric import TextModelPrice, TextPriceTable
from vivavoce.pricing import ModelPrices, PriceTable, TokenUsage
from vivavoce.store.database import Database
from vivavoce.store.models import Evaluation, Interview, utcnow
from vivavoce.store.outbox import add_event

__all__ = [
    "EXHAUSTED_MESSAGE",
    "WARNING_SHARE",
    "BudgetStatus",
    "PeriodSpend",
    "budget_status",
    "check_budget",
    "dearest_realtime",
    "dearest_text",
]

log = logging.getLogger("vivavoce.budget")

WARNING_SHARE = 0.8
EXHAUSTED_MESSAGE = (
    "The interview service has reached its spending limit for now. Your link still works: "
    "please try again later."
)
Level = Literal["ok", "warning", "exhausted"]


@dataclass(frozen=True)
class PeriodSpend:
    period: Literal["day", "month"]
    start: datetime
    end: datetime
    spent_usd: float
    limit_usd: float | None

    @property
    def share(self) -> float | None:
        return None if not self.limit_usd else self.spent_usd / self.limit_usd

    @property
    def level(self) -> Level:
        share = self.share
        if share is None or share < WARNING_SHARE:
            return "ok"
        return "exhausted" if share >= 1 else "warning"

    @property
    def key(self) -> str:
        """``day:2026-12-03`` / ``month:2026-12``: names the period for the warning."""
        return f"day:{self.start:%Y-%m-%d}" if self.period == "day" else f"month:{self.start:%Y-%m}"


@dataclass(frozen=True)
class BudgetStatus:
    day: PeriodSpend
    month: PeriodSpend
    # Models found in the usage without a price -> the listed model they were priced as.
    unpriced: Mapping[str, str] = field(default_factory=dict)

    @property
    def periods(self) -> tuple[PeriodSpend, PeriodSpend]:
        return (self.day, self.month)

    @property
    def exhausted(self) -> bool:
        return any(p.level == "exhausted" for p in self.periods)

    @property
    def warning(self) -> bool:
        return any(p.level != "ok" for p in self.periods)

    def to_json(self) -> dict[str, object]:
        return {
            "exhausted": self.exhausted,
            "warning": self.warning,
            "periods": [
                {"period": p.period, "start": p.start.isoformat(), "end": p.end.isoformat(),
                 "spent_usd": round(p.spent_usd, 6), "limit_usd": p.limit_usd,
                 "share": None if p.share is None else round(p.share, 4), "level": p.level}
                for p in self.periods
            ],
            "unpriced_models": dict(self.unpriced),
        }


def _day_and_month(now: datetime) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    now = now.astimezone(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return (day, day + timedelta(days=1)), (month, next_month)


def _realtime_total(p: ModelPrices) -> float:
    return p.text_input + p.text_output + p.audio_input + p.audio_output


def dearest_realtime(prices: PriceTable) -> str:
    return max(prices.models, key=lambda name: _realtime_total(prices.models[name]))


def dearest_text(prices: TextPriceTable) -> str | None:
    if not prices.models:
        return None
    return max(prices.models, key=lambda n: prices.models[n].input + prices.models[n].output)


def _text_price(prices: TextPriceTable, model: str) -> str | None:
    if model in prices.models:
        return model
    families = [name for name in prices.models if model.startswith(name + "-")]
    return max(families, key=len) if families else None


def _text_cost(price: TextModelPrice, input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * price.input + output_tokens * price.output) / 1_000_000


async def _spend(
    s: AsyncSession, start: datetime, end: datetime, prices: PriceTable,
    text_prices: TextPriceTable, unpriced: dict[str, str],
) -> float:
    total = 0.0
    started = func.coalesce(Interview.started_at, Interview.created_at)
    rows = await s.execute(
        select(
            Interview.model,
            func.coalesce(func.sum(Interview.input_text_tokens), 0),
            func.coalesce(func.sum(Interview.input_audio_tokens), 0),
            func.coalesce(func.sum(Interview.input_cached_tokens), 0),
            func.coalesce(func.sum(Interview.output_text_tokens), 0),
            func.coalesce(func.sum(Interview.output_audio_tokens), 0),
        )
        .where(started >= start, started < end, Interview.simulated.is_(False))
        .group_by(Interview.model)
    )
    dearest = dearest_realtime(prices)
    for model, in_text, in_audio, cached, out_text, out_audio in rows:
        name = model or "(unknown)"
        if prices.prices_for(name) is None:
            unpriced[name] = dearest
            name = dearest
        # The cached share is not split by kind on the row: count it as text first, as
        # the relay does when OpenAI does not split it either.
        cached_text = min(int(cached), int(in_text))
        usage = TokenUsage(int(in_text), int(in_audio), cached_text,
                           min(int(cached) - cached_text, int(in_audio)),
                           int(out_text), int(out_audio))
        total += prices.cost(name, usage) or 0.0
    text_dearest = dearest_text(text_prices)
    eval_rows = await s.execute(
        select(
            Evaluation.model,
            func.coalesce(func.sum(Evaluation.input_tokens), 0),
            func.coalesce(func.sum(Evaluation.output_tokens), 0),
        )
        .where(Evaluation.created_at >= start, Evaluation.created_at < end)
        .group_by(Evaluation.model)
    )
    for model, input_tokens, output_tokens in eval_rows:
        if not input_tokens and not output_tokens:
            continue
        name = model or "(unknown)"
        key = _text_price(text_prices, name)
        if key is None:
            if text_dearest is None:
                continue
            unpriced[name] = text_dearest
            key = text_dearest
        total += _text_cost(text_prices.models[key], int(input_tokens), int(output_tokens))
    return total


async def budget_status(
    s: AsyncSession,
    settings: Settings,
    *,
    prices: PriceTable,
    text_prices: TextPriceTable,
    now: datetime | None = None,
) -> BudgetStatus:
    """Today's and this month's spend (UTC) against the settings' limits."""
    (d0, d1), (m0, m1) = _day_and_month(now or utcnow())
    unpriced: dict[str, str] = {}
    day = await _spend(s, d0, d1, prices, text_prices, unpriced)
    month = await _spend(s, m0, m1, prices, text_prices, unpriced)
    return BudgetStatus(
        PeriodSpend("day", d0, d1, day, settings.daily_budget_usd),
        PeriodSpend("month", m0, m1, month, settings.monthly_budget_usd),
        unpriced,
    )


_warned: set[tuple[int, str]] = set()


async def check_budget(
    db: Database,
    settings: Settings,
    *,
    prices: PriceTable,
    text_prices: TextPriceTable,
    now: datetime | None = None,
) -> BudgetStatus:
    """The status, and its 80 % warnings: logged once per period in this process, and
    sent once per period across all instances as ``budget.warning`` (the event id names
    the period, so a second instance's insert is refused by the primary key)."""
    async with db.session() as s:
        status = await budget_status(s, settings, prices=prices, text_prices=text_prices, now=now)
    for period in status.periods:
        if period.level == "ok":
            continue
        if (id(db), period.key) not in _warned:
            _warned.add((id(db), period.key))
            log.warning(
                "spending for this %s is at %.0f%% of its limit (%.2f of %.2f USD)%s",
                period.period, 100 * (period.share or 0), period.spent_usd,
                period.limit_usd or 0,
                "; new interviews are refused" if period.level == "exhausted" else "",
            )
        await _send_warning_once(db, period)
    return status


async def _send_warning_once(db: Database, period: PeriodSpend) -> None:
    async with db.session() as s:
        add_event(
            s, "budget.warning",
            {"period": period.period, "start": period.start.isoformat(),
             "spent_usd": round(period.spent_usd, 6), "limit_usd": period.limit_usd,
             "share": round(period.share or 0, 4), "level": period.level},
            event_id=f"budget.warning.{period.key}",
        )
        try:
            await s.commit()
        except IntegrityError:
            await s.rollback()  # already sent for this period (here or elsewhere)
