"""The spend limits over live interviews: once a period's limit is reached, every
interview this instance relays wraps up (the core's rule, interview/time_limits.py).

The spend is read from the database (:func:`~vivavoce.web.api_budget.budget_for`, so
every instance sees every instance's usage), never per audio frame: a check runs soon
after a relay records a ``response.done``'s usage (:func:`usage_recorded`), at most once
per :data:`MIN_GAP_S`, and every :data:`CHECK_EVERY_S` while interviews are live (the
evaluations and the other instances spend too). Without limits, or without live
interviews here, nothing is queried.

The operator sees it as the 80 % warning's log line and ``budget.warning`` webhook (with
``level: exhausted``), and a log line naming how many live interviews wrap up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.exc import SQLAlchemyError

from vivavoce.redact import redact
from vivavoce.runtime import Runtime
from vivavoce.web.api_budget import budget_for, limited

__all__ = ["CHECK_EVERY_S", "MIN_GAP_S", "check_now", "start", "stop", "usage_recorded"]

log = logging.getLogger("vivavoce.budget")

CHECK_EVERY_S = 30.0
MIN_GAP_S = 2.0


def usage_recorded(runtime: Runtime) -> None:
    """A relay stored a response's usage: have the spend checked soon."""
    if runtime.budget_check_due is not None:
        runtime.budget_check_due.set()


async def check_now(runtime: Runtime) -> int:
    """Check the spend; when a limit is reached, tell every live interview here to wrap
    up. Returns how many were told (0 when the budget allows, or nothing is live)."""
    relays = [r for r in runtime.open_interviews.values() if not r.done.is_set()]
    if not relays or not limited(runtime):
        return 0
    status = await budget_for(runtime)
    if not status.exhausted:
        return 0
    log.warning("the spending limit is reached: %d live interview(s) on this instance wrap "
                "up (a link's interview is paused and continues once the budget allows)",
                len(relays))
    for relay in relays:
        relay.budget_exhausted()
    return len(relays)


async def _watch(runtime: Runtime, due: asyncio.Event) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CHECK_EVERY_S):
                await due.wait()
        due.clear()
        try:
            await check_now(runtime)
        except SQLAlchemyError as exc:  # the next check may well work
            log.warning("could not check the budget: %s", type(exc).__name__)
        except Exception as exc:  # never stop watching
            log.warning("checking the budget failed: %s", redact(repr(exc)))
        await asyncio.sleep(MIN_GAP_S)


def start(runtime: Runtime) -> None:
    due = asyncio.Event()
    runtime.budget_check_due = due
    runtime.budget_watch = asyncio.create_task(_watch(runtime, due), name="budget-watch")


async def stop(runtime: Runtime) -> None:
    task, runtime.budget_watch = runtime.budget_watch, None
    runtime.budget_check_due = None
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
