"""What one fake OpenAI server holds while it serves: its configuration and observations.

The fake's routers and socket driver (``fake_rest``, ``fake_responses``, ``realtime_ws``)
work on a :class:`FakeState`; ``fake_openai.FakeOpenAI`` is that state plus the ASGI app
built from those routers, so the routers need nothing from the module that assembles
them.
"""

from __future__ import annotations

from vivavoce.testing.fake_access import IssuedSecret
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_records import RealtimeSessionRecord, RestRequestRecord

__all__ = ["FakeState"]


class FakeState:
    """Configuration (mutable while serving) and what was observed."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config if config is not None else FakeConfig()
        self.sessions: list[RealtimeSessionRecord] = []
        self.requests: list[RestRequestRecord] = []
        self.client_secrets: dict[str, IssuedSecret] = {}

    @property
    def last_session(self) -> RealtimeSessionRecord:
        """The most recent Realtime connection. Raises LookupError if there was none."""
        if not self.sessions:
            raise LookupError("no Realtime session has connected to the fake yet")
        return self.sessions[-1]

    def reset(self) -> None:
        """Forget observations and issued secrets (the configuration is kept)."""
        self.sessions.clear()
        self.requests.clear()
        self.client_secrets.clear()
