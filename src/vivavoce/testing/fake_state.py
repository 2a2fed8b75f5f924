"""What one fake OpenAI server holds while it serves: its configuration and observations.

The fake's routers and socket drivers (``fake_rest``, ``fake_responses``, ``fake_calls``,
``realtime_ws``, ``webrtc_sideband``)
work on a :class:`FakeState`; ``fake_openai.FakeOpenAI`` is that state plus the ASGI app
built from those routers, so the routers need nothing from the module that assembles
them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib

from vivavoce.testing.fake_access import IssuedSecret
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_records import RealtimeSessionRecord, RestRequestRecord
from vivavoce.testing.webrtc_call import Call, CallRecord

__all__ = ["FakeState"]


class FakeState:
    """Configuration (mutable while serving) and what was observed."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config if config is not None else FakeConfig()
        self.sessions: list[RealtimeSessionRecord] = []
        self.requests: list[RestRequestRecord] = []
        self.client_secrets: dict[str, IssuedSecret] = {}
        self.calls: list[CallRecord] = []
        """WebRTC calls placed with ``POST /v1/realtime/calls`` (see testing/fake_calls.py)."""
        self.live_calls: dict[str, Call] = {}
        """Calls not yet ended, by id (they run on the server's event loop)."""

    @property
    def last_session(self) -> RealtimeSessionRecord:
        """The most recent Realtime connection. Raises LookupError if there was none."""
        if not self.sessions:
            raise LookupError("no Realtime session has connected to the fake yet")
        return self.sessions[-1]

    @property
    def last_call(self) -> CallRecord:
        """The most recent WebRTC call. Raises LookupError if there was none."""
        if not self.calls:
            raise LookupError("no WebRTC call has been placed with the fake yet")
        return self.calls[-1]

    def end_calls(self, timeout: float = 5.0) -> None:
        """End every live call from another thread than the server's (a test's teardown).

        Calls run on the server's event loop; each is ended there. Never call this
        from that loop itself (it would wait on itself): await ``Call.end`` instead.
        """
        for call in list(self.live_calls.values()):
            if call.loop.is_closed():  # the server is gone, and its calls with it
                self.live_calls.pop(call.record.call_id, None)
                continue
            future = asyncio.run_coroutine_threadsafe(call.end("server_shutdown", 1001, "Server shutting down"), call.loop)
            with contextlib.suppress(TimeoutError, concurrent.futures.TimeoutError):
                future.result(timeout)

    def reset(self) -> None:
        """Forget observations and issued secrets (the configuration is kept)."""
        self.sessions.clear()
        self.requests.clear()
        self.client_secrets.clear()
        self.calls.clear()
