"""The background worker: claims due evaluation jobs and runs them, one at a time.

Started by the app (``web/api_evaluation.py``) and stopped with it. It wakes when a job
is enqueued in this process and otherwise polls, which is how it finds jobs left by a
restart (``pending``, or ``running`` with an expired lease) and jobs enqueued by other
instances. A database outage is logged and waited out; it never ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from vivavoce.evaluation.jobs import claim_next, forget_wakeup, release, wakeup_event
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.runner import ClientFactory, EvaluationOptions, run_claim
from vivavoce.redact import redact
from vivavoce.store.database import Database

__all__ = ["EvaluationWorker"]

log = logging.getLogger("vivavoce.evaluation")


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
    ) -> None:
        self.db = db
        self.rubric = rubric
        self.model = model
        self.client_factory = client_factory
        self.options = options or EvaluationOptions()
        self._task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop on the running event loop (idempotent)."""
        if self.running:
            return
        self._wakeup = wakeup_event(self.db)
        self._task = asyncio.create_task(self._loop(), name="vivavoce-evaluation-worker")

    async def stop(self) -> None:
        """Stop the loop; a job in flight is handed back for the next start."""
        task, self._task = self._task, None
        if self._wakeup is not None:
            forget_wakeup(self.db, self._wakeup)
            self._wakeup = None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def run_once(self) -> bool:
        """Claim and run one due job; False when none was due."""
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
                options=self.options,
            )
        except asyncio.CancelledError:
            # Shutting down mid-job: give it back so the next start runs it at once.
            with contextlib.suppress(Exception):
                await asyncio.shield(release(self.db, claim=claim))
            raise
        return True

    async def _loop(self) -> None:
        assert self._wakeup is not None
        while True:
            # Cleared before looking, so a job enqueued while we look still wakes us.
            self._wakeup.clear()
            try:
                worked = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down, a bug: log, wait, go on
                log.error("evaluation worker: %s", redact(repr(exc)))
                worked = False
            if worked:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.options.poll_interval_s)
