"""The background worker: claims due evaluation jobs and runs them (a few at once).

Started by the app (``web/api_evaluation.py``) and stopped with it. It wakes when a job
is enqueued in this process and otherwise polls, which is how it finds jobs left by a
restart (``pending``, or ``running`` with an expired lease) and jobs enqueued by other
instances. When idle, the first loop also enqueues recently ended interviews that have
no job. A database outage is logged and waited out; it never ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from vivavoce.evaluation.jobs import (
    Claim,
    Outcome,
    claim_next,
    enqueue_missing,
    finish,
    forget_wakeup,
    release,
    wakeup_event,
)
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.runner import (
    ClientFactory,
    EvaluationOptions,
    OfflineSwitch,
    backoff_delay,
    run_claim,
)
from vivavoce.redact import redact
from vivavoce.store.database import Database
from vivavoce.store.models import utcnow

__all__ = ["EvaluationWorker"]

log = logging.getLogger("vivavoce.evaluation")

BudgetCheck = Callable[[], Awaitable[bool]]


class EvaluationWorker:
    """Runs evaluation jobs of ``db`` until :meth:`stop`."""

    def __init__(
        self,
        db: Database,
        *,
        rubric: Rubric,
        model: str,
        client_factory: ClientFactory,
        options: EvaluationOptions | None = None,
        offline: OfflineSwitch | None = None,
        budget_allows: BudgetCheck | None = None,
    ) -> None:
        """``offline``: asked per job whether to evaluate offline (the simulator mode).
        ``budget_allows``: asked before each claim; False leaves the jobs queued (the
        spend limit is reached until the next period or a raised limit)."""
        self.db = db
        self.budget_allows = budget_allows
        self.offline: OfflineSwitch = offline or (lambda: False)
        self.rubric = rubric
        self.model = model
        self.client_factory = client_factory
        self.options = options or EvaluationOptions()
        self._tasks: list[tuple[asyncio.Task[None], asyncio.Event]] = []
        self._idle = 0

    @property
    def running(self) -> bool:
        return any(not task.done() for task, _ in self._tasks)

    @property
    def idle_loops(self) -> int:
        """How many loops are waiting for a wake-up or the next poll (found nothing to do)."""
        return self._idle

    def start(self) -> None:
        """Start ``options.concurrency`` loops on the running event loop (idempotent)."""
        if self.running:
            return
        for n in range(max(1, self.options.concurrency)):
            wakeup = wakeup_event(self.db)
            task = asyncio.create_task(
                self._loop(wakeup, catch_up=n == 0), name=f"vivavoce-evaluation-{n}"
            )
            self._tasks.append((task, wakeup))

    async def stop(self) -> None:
        """Stop the loops; jobs in flight are handed back for the next start."""
        tasks, self._tasks = self._tasks, []
        for task, wakeup in tasks:
            forget_wakeup(self.db, wakeup)
            task.cancel()
        if tasks:
            # asyncio.wait, not ``suppress(CancelledError)`` around each ``await task``:
            # that would also swallow a cancellation of stop() itself (a shutdown timeout).
            await asyncio.wait([task for task, _ in tasks])
        for task, _ in tasks:
            if not task.cancelled() and task.exception() is not None:
                log.error("evaluation worker ended: %s", redact(repr(task.exception())))

    async def run_once(self) -> bool:
        """Claim and run one due job; False when none was due (or the budget is spent)."""
        if self.budget_allows is not None and not await self.budget_allows():
            return False
        claim = await claim_next(self.db, lease=self.options.lease)
        if claim is None:
            return False
        try:
            await run_claim(
                self.db,
                claim,
                rubric=self.rubric,
                model=self.model,
                client_factory=self.client_factory,
                offline=self.offline,
                options=self.options,
            )
        except asyncio.CancelledError:
            # Shutting down mid-job: give it back so the next start runs it at once.
            with contextlib.suppress(Exception):
                await asyncio.shield(release(self.db, claim=claim))
            raise
        except Exception as exc:
            # A bug or a database hiccup mid-job: count the attempt and retry later rather
            # than leave the job to its lease.
            await self._unexpected(claim, exc)
        return True

    async def _unexpected(self, claim: Claim, exc: Exception) -> None:
        reason = f"internal error while evaluating: {redact(repr(exc))[:300]}"
        log.error("evaluation of interview %s: %s", claim.interview_id, reason)
        if claim.attempts < self.options.max_attempts:
            delay = backoff_delay(claim.attempts, self.options, None)
            outcome = Outcome(
                "pending",
                error=f"Attempt {claim.attempts} of {self.options.max_attempts} failed: {reason}",
                retry_at=utcnow() + timedelta(seconds=delay),
            )
        else:
            outcome = Outcome(
                "failed", error=f"Gave up after {claim.attempts} attempts; the last: {reason}"
            )
        with contextlib.suppress(Exception):  # the database may be what failed
            await finish(self.db, claim=claim, outcome=outcome)

    async def catch_up(self) -> int:
        """Enqueue recently ended interviews without a job; returns how many."""
        if self.options.catch_up_hours <= 0:
            return 0
        since = utcnow() - timedelta(hours=self.options.catch_up_hours)
        return await enqueue_missing(self.db, since=since)

    async def _loop(self, wakeup: asyncio.Event, *, catch_up: bool) -> None:
        while True:
            # Cleared before looking, so a job enqueued while we look still wakes us.
            wakeup.clear()
            try:
                worked = await self.run_once()
                if not worked and catch_up and await self.catch_up():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down, a bug: log, wait, go on
                log.error("evaluation worker: %s", redact(repr(exc)))
                worked = False
            if worked:
                continue
            await self._sleep(wakeup)

    async def _sleep(self, wakeup: asyncio.Event) -> None:
        """Wait for a wake-up or the poll interval; a cancellation always gets through.

        Not ``wait_for`` under ``suppress(TimeoutError)``: on Python 3.11, ``wait_for``
        returns the result instead of raising when it is cancelled just as the event is set
        (a job enqueued while the app stops), so ``stop()`` waited forever. ``timeout``
        turns only its own expiry into ``TimeoutError``.
        """
        self._idle += 1
        try:
            async with asyncio.timeout(self.options.poll_interval_s):
                await wakeup.wait()
        except TimeoutError:
            pass
        finally:
            self._idle -= 1
