"""Interview metrics from real /voice interviews (real sockets, the fake OpenAI)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.fixtures.app_server import RunningApp
from tests.relay.voice_client import silence, voice_client
from vivavoce import metrics
from vivavoce.testing.scenarios import scenario_key

MakeApp = Callable[..., RunningApp]


def value(name: str, **labels: str) -> float:
    found = metrics.REGISTRY.get_sample_value(name, labels)
    return 0.0 if found is None else found


async def test_an_interview_is_counted_from_start_to_end(make_app_server: MakeApp) -> None:
    app = make_app_server()
    model = app.runtime.settings.realtime_model
    started = value("vivavoce_interviews_started_total")
    ended = value("vivavoce_interviews_ended_total", reason="candidate_ended")
    waits = value("vivavoce_time_to_interview_started_seconds_count")
    audio_out = value("vivavoce_tokens_total", model=model, kind="output_audio")
    cost = value("vivavoce_cost_usd_total", model=model)
    to_browser = value("vivavoce_frames_relayed_total", direction="to_browser")
    to_openai = value("vivavoce_frames_relayed_total", direction="to_openai")
    async with voice_client(app.voice_url()) as client:
        await client.start()
        assert value("vivavoce_interviews_started_total") == started + 1
        assert value("vivavoce_live_interviews") >= 1
        assert value("vivavoce_time_to_interview_started_seconds_count") == waits + 1
        await client.until("usage")  # the greeting was spoken and billed
        await client.send_audio(silence(300))  # three 100 ms frames from the candidate
        await client.send_json({"type": "end_interview"})
        await client.until("interview_ended")
        await client.until_closed()
    # The relay's own shutdown runs on the server's loop after the close; wait for it
    # by waiting for the count (bounded, not a timing assertion).
    for _ in range(500):
        if value("vivavoce_interviews_ended_total", reason="candidate_ended") > ended:
            break
        await asyncio.sleep(0.01)
    assert value("vivavoce_interviews_ended_total", reason="candidate_ended") == ended + 1
    assert value("vivavoce_tokens_total", model=model, kind="output_audio") > audio_out
    assert value("vivavoce_cost_usd_total", model=model) > cost
    # Frame counts are flushed by the relay (each tick and at the end).
    assert value("vivavoce_frames_relayed_total", direction="to_browser") > to_browser
    assert value("vivavoce_frames_relayed_total", direction="to_openai") >= to_openai + 3


async def test_a_refused_key_is_counted_as_an_ended_interview(make_app_server: MakeApp) -> None:
    app = make_app_server(api_key=scenario_key("revoked", "metrics"))
    started = value("vivavoce_interviews_started_total")
    refused = value("vivavoce_interviews_ended_total", reason="key_invalid")
    upstream = value("vivavoce_upstream_errors_total", code="invalid_api_key")
    async with voice_client(app.voice_url()) as client:
        await client.send_json({"type": "start_interview", "candidateContext": {"name": "Bo"}})
        await client.until_closed()
    for _ in range(500):
        if value("vivavoce_interviews_ended_total", reason="key_invalid") > refused:
            break
        await asyncio.sleep(0.01)
    assert value("vivavoce_interviews_started_total") == started + 1
    assert value("vivavoce_interviews_ended_total", reason="key_invalid") == refused + 1
    assert value("vivavoce_upstream_errors_total", code="invalid_api_key") == upstream + 1
