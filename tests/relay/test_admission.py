"""/voice admission over real sockets (issues 14 and 12): the deadline to start, the cap
on not-yet-started connections per address, the global cap, the capacity of live
interviews (``server_busy``), takeover passing every cap, and released slots.

Every refusal has one shape: an ``error`` with ``fatal``, ``retryable`` and
``retry_after_s`` (no operator ``hint``), then close code 1013."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import link_interview
from tests.relay.voice_client import VoiceClient, voice_client
from vivavoce.web.connection_limits import ConnectionGate

MakeApp = Callable[..., RunningApp]
ADDRESS = "127.0.0.1"


def gate_of(app: RunningApp) -> ConnectionGate:
    gate = app.server.server.config.app.state.voice_gate
    assert isinstance(gate, ConnectionGate)
    return gate


async def until(condition: Callable[[], bool]) -> None:
    """Wait (bounded by a count, not asserted on time) for the server's own bookkeeping."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


async def refused_with(client: VoiceClient, code: str) -> dict[str, Any]:
    error = await client.until("error")
    assert error["code"] == code, error
    assert error["fatal"] is True and error["retryable"] is True, error
    assert isinstance(error["retry_after_s"], int) and error["retry_after_s"] > 0, error
    assert "hint" not in error, error
    assert await client.until_closed() == 1013
    return error


async def still_served(client: VoiceClient) -> None:
    await client.send_json({"type": "ping"})
    await client.until("pong")


async def test_a_connection_that_never_starts_is_closed_at_the_deadline(
    make_app_server: MakeApp,
) -> None:
    app = make_app_server(VIVAVOCE_VOICE_START_DEADLINE_SECONDS="0.3")
    async with voice_client(app.voice_url()) as idle:
        await refused_with(idle, "start_deadline")
    await until(lambda: gate_of(app).total == 0)


async def test_unstarted_connections_are_capped_per_address(make_app_server: MakeApp) -> None:
    app = make_app_server(VIVAVOCE_VOICE_MAX_UNSTARTED_PER_ADDRESS="2")
    async with voice_client(app.voice_url()) as started:
        await started.start()
        async with voice_client(app.voice_url()) as one, \
                voice_client(app.voice_url()) as two:
            async with voice_client(app.voice_url(), refused=True) as third:
                await refused_with(third, "too_many_unstarted")
            # The started interview is not affected, nor are the admitted ones.
            await still_served(started)
            await still_served(one)
            await still_served(two)
        # Released connections free their slots: two new ones fit again.
        await until(lambda: gate_of(app).unstarted(ADDRESS) == 0)
        async with voice_client(app.voice_url()) as again, \
                voice_client(app.voice_url()) as again_too:
            await still_served(again)
            await still_served(again_too)
        await still_served(started)


async def test_all_connections_are_capped(make_app_server: MakeApp) -> None:
    app = make_app_server(VIVAVOCE_VOICE_MAX_CONNECTIONS="2")
    async with voice_client(app.voice_url()) as started, voice_client(app.voice_url()) as idle:
        await started.start()
        async with voice_client(app.voice_url(), refused=True) as third:
            await refused_with(third, "too_many_connections")
        await still_served(started)
        await still_served(idle)
    await until(lambda: gate_of(app).total == 0)
    async with voice_client(app.voice_url()) as later:
        await still_served(later)


async def test_takeover_of_a_link_passes_full_caps(make_app_server: MakeApp) -> None:
    app = make_app_server(VIVAVOCE_VOICE_MAX_CONNECTIONS="1", VIVAVOCE_MAX_LIVE_INTERVIEWS="1")
    _, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as first:
        await first.start({})
        # Another candidate finds the process full…
        async with voice_client(app.voice_url(), refused=True) as other:
            await refused_with(other, "too_many_connections")
        # …but the same link opened again (the network dropped) takes its interview over.
        async with voice_client(app.voice_url(token)) as second:
            started = await second.start({})
            assert started["resumed"] is True
            replaced = await first.until("error")
            assert replaced["code"] == "replaced"
            await second.send_json({"type": "end_interview"})
            await second.until_closed()


async def test_past_capacity_a_new_start_gets_server_busy(make_app_server: MakeApp) -> None:
    app = make_app_server(VIVAVOCE_MAX_LIVE_INTERVIEWS="1")
    async with voice_client(app.voice_url()) as live:
        await live.start()
        async with voice_client(app.voice_url()) as newcomer:
            await newcomer.send_json({"type": "start_interview", "candidateContext": {}})
            error = await refused_with(newcomer, "server_busy")
            assert "busy" in error["message"]
        # The live interview goes on undisturbed, to its normal end.
        await live.until("ai_transcription")
        await live.send_json({"type": "end_interview"})
        ended = await live.until("interview_ended")
        assert ended["reason"] == "candidate_ended"
        await live.until_closed()
    # Its slot is free again: the next candidate starts.
    await until(lambda: gate_of(app).started == 0)
    async with voice_client(app.voice_url()) as next_one:
        await next_one.start()
        await next_one.send_json({"type": "end_interview"})
        await next_one.until_closed()


async def test_ipv6_clients_count_per_64(make_app_server: MakeApp) -> None:
    # A host holds a whole /64 and could otherwise hop addresses past the per-address cap.
    # (The test server believes X-Forwarded-For from loopback, as a deployment its proxy.)
    app = make_app_server(VIVAVOCE_VOICE_MAX_UNSTARTED_PER_ADDRESS="1")

    def from_(address: str) -> dict[str, Any]:
        return {"additional_headers": {"X-Forwarded-For": address}}

    async with voice_client(app.voice_url(), **from_("2001:db8:0:7::1")) as first:
        async with voice_client(app.voice_url(), refused=True,
                                **from_("2001:db8:0:7::2")) as hopped:
            await refused_with(hopped, "too_many_unstarted")
        async with voice_client(app.voice_url(), **from_("2001:db8:0:8::1")) as elsewhere:
            await still_served(elsewhere)
        await still_served(first)
        assert gate_of(app).unstarted("2001:db8:0:7::/64") == 1


async def test_one_link_cannot_hold_sockets_past_the_caps(make_app_server: MakeApp) -> None:
    # Takeover passes the caps, so only the newest connection to a live link may wait to
    # start: an older one still waiting is closed as replaced (issue 14, finding 6 with a
    # candidate's own link).
    app = make_app_server(VIVAVOCE_VOICE_MAX_CONNECTIONS="1")
    _, token = await link_interview(app)
    async with voice_client(app.voice_url(token)) as live:
        await live.start({})
        async with voice_client(app.voice_url(token)) as waiting:
            await still_served(waiting)
            async with voice_client(app.voice_url(token)) as newest:
                replaced = await waiting.until("error")
                assert replaced["code"] == "replaced" and "hint" not in replaced
                await waiting.until_closed()
                await until(lambda: gate_of(app).total == 2)  # the live one and the newest
                await still_served(newest)
                await still_served(live)
                # The newest starts: it takes the interview over, as before.
                started = await newest.start({})
                assert started["resumed"] is True
                assert (await live.until("error"))["code"] == "replaced"
                await newest.send_json({"type": "end_interview"})
                await newest.until_closed()
    await until(lambda: gate_of(app).total == 0)
