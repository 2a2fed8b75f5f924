"""What ``/voice`` stores for a relay: each database action of the core, one session
each, on the relay's one database writer (``VoiceRelay``'s queue keeps their order).

A response's usage comes with the turn it released (``PersistTurn.usage``) or on its
own (``AddUsage``); either way the spend limits' watch is told once it is stored. The
end of an interview queues its evaluation.
"""

from __future__ import annotations

import logging

from vivavoce.evaluation.jobs import InterviewNotEvaluable, enqueue_evaluation
from vivavoce.interview.actions import (
    Action,
    AddUsage,
    AttemptFailed,
    EndInterview,
    MarkLive,
    PersistTurn,
)
from vivavoce.realtime.relay import wall_clock
from vivavoce.redact import redact
from vivavoce.runtime import Runtime
from vivavoce.store import interviews as store
from vivavoce.store.write_gate import serialized_write
from vivavoce.web import budget_watch

__all__ = ["start_evaluation", "store_action"]

log = logging.getLogger("vivavoce.voice")


async def store_action(runtime: Runtime, interview_id: str, action: Action, *,
                       simulated: bool) -> None:
    """One store action. Raises store.InterviewNotFound when the record is gone (a
    turn's insert then fails its foreign key, an update finds no row)."""
    # On SQLite one writer at a time, a start's insert first (store/write_gate.py).
    async with serialized_write(runtime.db), runtime.db.session() as s:
        if isinstance(action, PersistTurn):
            t, add = action.turn, action.usage
            await store.add_turn(
                s, interview_id=interview_id, sequence=t.sequence, speaker=t.speaker,
                text=t.text, started_at=wall_clock(t.started_at) if t.started_at else None,
                ended_at=wall_clock(t.ended_at) if t.ended_at else None,
                audio_ms=t.audio_ms, item_id=t.item_id, state=t.state, full_text=t.full_text,
                usage=add.usage if add is not None else None,
                cost_usd=(add.cost_usd or 0.0) if add is not None else 0.0)
            if add is not None:
                budget_watch.usage_recorded(runtime)
        elif isinstance(action, AddUsage):
            u = action.usage
            await store.add_usage(
                s, interview_id, input_text=u.input_text, input_audio=u.input_audio,
                input_cached=u.input_cached, output_text=u.output_text,
                output_audio=u.output_audio, cost_usd=action.cost_usd or 0.0)
            budget_watch.usage_recorded(runtime)
        elif isinstance(action, MarkLive):
            await store.mark_live(s, interview_id, at=wall_clock(action.at), simulated=simulated)
        elif isinstance(action, EndInterview):
            await store.mark_ended(s, interview_id, status=action.status,
                                   reason=action.reason, error_code=action.error_code,
                                   at=wall_clock(action.at))
        elif isinstance(action, AttemptFailed):
            await store.record_failed_attempt(s, interview_id, reason=action.reason,
                                              error_code=action.error_code)
            if action.pauses:
                await store.set_clock(s, interview_id, paused_at=action.at)


async def start_evaluation(runtime: Runtime, interview_id: str) -> None:
    """Queue the evaluation as soon as the interview ends (the worker wakes at once).

    Never fatal to the relay: the evaluation worker's catch-up also enqueues ended
    interviews without a job, so a failure here only delays the evaluation."""
    try:
        await enqueue_evaluation(runtime.db, interview_id)
    except InterviewNotEvaluable as exc:
        log.info("interview %s not queued for evaluation: %s", interview_id, exc,
                 extra={"interview_id": interview_id})
    except Exception as exc:
        log.warning("could not queue interview %s for evaluation: %s", interview_id,
                    redact(repr(exc)), extra={"interview_id": interview_id})
