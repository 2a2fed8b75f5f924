"""While the process drains for a restart (web/graceful.py), a new ``/voice`` connection
is refused the retryable way, through a real socket: ``server_restarting``, close 1012."""

from __future__ import annotations

from collections.abc import Callable

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import link_interview
from tests.relay.voice_client import voice_client


async def test_a_connection_during_the_drain_is_told_to_come_back(
    make_app_server: Callable[..., RunningApp],
) -> None:
    app = make_app_server()
    _, token = await link_interview(app)
    app.runtime.draining = True
    async with voice_client(app.voice_url(token), refused=True) as client:
        error = await client.until("error")
        assert (error["code"], error["fatal"], error["retryable"]) == (
            "server_restarting",
            True,
            True,
        )
        assert await client.until_closed() == 1012
    assert client.types() == ["error"]
    assert app.runtime.voice_relays == []
