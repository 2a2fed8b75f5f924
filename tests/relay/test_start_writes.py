"""What one interview's start asks of the database (issue 12: the start's own overhead).

A new interview is one insert that also takes its lease, the question bank is this
process's copy (read once per field), and going live is one update with its webhook event:
two write transactions, no lease read-then-write, no bank read. Counted on the app's
engine (the app runs in this process, on its own thread) from ``start_interview`` until
the relay has released the interview's lease.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from sqlalchemy import event

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import stored
from tests.relay.voice_client import voice_client

MakeApp = Callable[..., RunningApp]


async def test_a_start_is_one_insert_with_its_lease_and_one_update(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server()
    heartbeat = app.runtime.heartbeat
    assert heartbeat is not None
    engine = app.runtime.db.engine.sync_engine
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def record(_conn: object, _cursor: object, statement: str, parameters: object,
               *_args: object) -> None:
        with lock:
            seen.append((" ".join(statement.split()), repr(parameters)))

    async def one_interview() -> tuple[str, list[str]]:
        """Start and end an interview; its statements until its lease is released."""
        with lock:
            seen.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            async with voice_client(app.voice_url()) as client:
                started = await client.start()
                await client.send_json({"type": "end_interview"})
                await client.until_closed()
            interview_id = str(started["interview_id"])
            for _ in range(500):  # the relay releases the lease once it is done
                interview, _turns = await stored(app.database_url, interview_id)
                if interview.owner_id is None:
                    break
                await asyncio.sleep(0.01)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        # This interview's statements on its row (the previous one's end, the heartbeat,
        # webhooks and the evaluation worker may run meanwhile), and any read of the bank.
        with lock:
            mine = [q for q, params in seen
                    if (interview_id in params and " interviews" in q) or "questions" in q]
        return interview_id, mine

    await one_interview()  # the first start of a field reads the bank
    interview_id, statements = await one_interview()
    assert statements[0].startswith("INSERT INTO interviews"), statements
    assert "owner_id" in statements[0] and "FROM instances" in statements[0]
    # No bank read, no lease take (its read of the holder, its increment of the
    # generation): the insert took the lease.
    assert not [q for q in statements if "questions" in q], statements
    assert not [q for q in statements if "heartbeat_at" in q or "lease_generation +" in q
                or "lease_generation=(" in q], statements
    # Live: one update (with its webhook event, not on this row).
    assert len([q for q in statements if q.startswith("UPDATE interviews SET status=?")
                and "started_at" in q]) == 1, statements
    interview, _turns = await stored(app.database_url, interview_id)
    assert interview.status == "ended" and interview.lease_generation == 1
