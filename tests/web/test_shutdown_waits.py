"""The app's shutdown lets relays still finishing write their last turns before the
database closes (web/graceful.py ``relays_finished``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.fixtures.database import make_runtime
from tests.fixtures.settings import MakeSettings
from vivavoce.store.database import Database
from vivavoce.web.graceful import relays_finished


async def test_shutdown_waits_for_a_relay_still_finishing(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    runtime = make_runtime(make_settings(), Database(f"sqlite+aiosqlite:///{tmp_path}/w.db"))
    finishing: Any = SimpleNamespace(done=asyncio.Event())
    finished: Any = SimpleNamespace(done=asyncio.Event())
    finished.done.set()
    runtime.voice_relays.extend([finishing, finished])
    loop = asyncio.get_running_loop()
    loop.call_later(0.2, finishing.done.set)  # its last write lands, then it is done
    await relays_finished(runtime, timeout_s=10)
    assert finishing.done.is_set()
    await runtime.db.dispose()


async def test_a_relay_that_never_finishes_does_not_hold_the_shutdown(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    runtime = make_runtime(make_settings(), Database(f"sqlite+aiosqlite:///{tmp_path}/w.db"))
    stuck: Any = SimpleNamespace(done=asyncio.Event())
    runtime.voice_relays.append(stuck)
    await relays_finished(runtime, timeout_s=0.1)  # returns: bounded
    assert not stuck.done.is_set()
    await runtime.db.dispose()
