"""``vivavoce fake-openai`` serves the fake on the port it is given."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import openai
import pytest
from typer.testing import CliRunner

from tests.testing.realtime_helpers import collect_until_closed
from vivavoce.cli import app as cli_app
from vivavoce.testing.scenarios import scenario_key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_until_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    # Bounded by time, not tries: a broken command fails the test instead of hanging it,
    # and a slow start on a loaded machine (imports alone took 20 s) is not a failure.
    deadline = asyncio.get_running_loop().time() + 90
    while asyncio.get_running_loop().time() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    pytest.fail("vivavoce fake-openai did not start listening")


async def test_command_serves_rest_and_realtime_with_forced_scenario() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vivavoce.cli", "fake-openai", "--port", str(port), "--scenario", "revoked"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        await _wait_until_listening(port, proc)
        async with openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=scenario_key("ok"), max_retries=0) as client:
            with pytest.raises(openai.AuthenticationError) as caught:
                await client.models.list()
            assert caught.value.code == "invalid_api_key"
            async with client.realtime.connect(model="gpt-realtime") as conn:
                got = await collect_until_closed(conn)
            assert (got.close_code, got.close_reason) == (3000, "invalid_request_error.invalid_api_key")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/v1" in out.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--scenario", "bogus"], "unknown scenario 'bogus'"), (["--audio-pace", "-1"], "--audio-pace must be 0 or more")],
)
def test_bad_options_are_refused(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli_app, ["fake-openai", *args])
    assert result.exit_code == 2
    assert message in result.output


async def test_command_answers_webrtc_calls_without_media_when_asked() -> None:
    from tests.testing.webrtc_client import WebRtcClient

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vivavoce.cli", "fake-openai", "--port", str(port), "--media-free-calls"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        await _wait_until_listening(port, proc)
        async with (
            WebRtcClient() as browser,
            openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=scenario_key("ok"), max_retries=0) as client,
        ):
            answer = await client.realtime.calls.create(sdp=await browser.offer())
        # A media-free answer carries no ICE candidate: nothing listens for media.
        assert answer.text.startswith("v=0") and "a=candidate" not in answer.text
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
