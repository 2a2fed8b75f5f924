"""What each live interview holds (issue 12, docs/performance.md "Memory per interview
(session 6)"): through real sockets to the fake, the structures one relay keeps for its
whole life, so that a per-interview cost that was taken out does not come back."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from tests.fixtures.app_server import RunningApp
from tests.relay.voice_client import voice_client
from vivavoce.realtime.lightsync import Flag
from vivavoce.realtime.relay import VoiceRelay

MakeApp = Callable[..., RunningApp]


def _held(relay: VoiceRelay) -> list[tuple[str, Any]]:
    """Every attribute of the relay and of what it keeps per connection (its outboxes,
    its hooks, the admission ticket), by name."""
    owners: dict[str, Any] = {"relay": relay, "to_browser": relay.to_browser,
                              "to_upstream": relay.to_upstream, "hooks": relay.hooks,
                              "ticket": getattr(relay.hooks, "ticket", None)}
    held = []
    for owner, obj in owners.items():
        assert obj is not None, owner
        values = vars(obj) if hasattr(obj, "__dict__") else {
            name: getattr(obj, name) for name in type(obj).__slots__}
        held += [(f"{owner}.{name}", value) for name, value in values.items()]
    return held


async def test_a_live_relay_holds_no_asyncio_event_queue_or_spare_deque(
    make_app_server: MakeApp,
) -> None:
    # An asyncio.Event makes a 760-byte deque up front, a Queue four: the relay waits on
    # Flags and a Mailbox, and its outboxes' lanes are lists (an empty one is 56 bytes;
    # docs/performance.md, "Memory at 200 (session 7)").
    app = make_app_server()
    async with voice_client(app.voice_url()) as client:
        await client.start()
        (relay,) = app.runtime.voice_relays
        held = _held(relay)
        events = [name for name, value in held
                  if isinstance(value, asyncio.Event | asyncio.Queue)]
        assert events == []
        deques = sorted(name for name, value in held if isinstance(value, deque))
        assert deques == []
        lanes = sorted(name for name, value in held if isinstance(value, list)
                       and name.rsplit(".", 1)[-1] in ("_audio", "_control"))
        assert lanes == ["to_browser._audio", "to_browser._control",
                         "to_upstream._audio", "to_upstream._control"]
        assert isinstance(relay.done, Flag) and isinstance(relay.hooks.released, Flag)  # type: ignore[attr-defined]


async def test_live_interviews_share_one_openai_client(make_app_server: MakeApp) -> None:
    # One SDK client (its HTTP pool and TLS context, ~1.3 MB) per key, not per interview.
    app = make_app_server()
    async with voice_client(app.voice_url()) as first, voice_client(app.voice_url()) as second:
        await first.start()
        await second.start()
        assert len(app.runtime.voice_relays) == 2
        assert len(app.runtime.openai_clients) == 1


async def test_the_keys_client_is_built_at_start_up_and_used_by_interviews(
    make_app_server: MakeApp,
) -> None:
    # Built by the start-up (~35 ms and ~2.5 MB once), not by the first interview.
    app = make_app_server()
    assert list(app.runtime.openai_clients) == [(app.runtime.api_key, None)]
    warmed = next(iter(app.runtime.openai_clients.values()))
    async with voice_client(app.voice_url()) as browser:
        await browser.start()
        assert list(app.runtime.openai_clients.values()) == [warmed]
