"""What serving imports at start-up: the SDK's first Realtime connection imports nothing
more (its websocket helper, websockets' sync client, anyio's asyncio backend were the
first interview's to import: ~1.5 MB and ~25 ms of the first starts,
docs/performance.md, "Memory at 200 (session 7)")."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.fixtures.fake_openai import RunningFake

# In a process of its own: this one has imported everything long ago.
SCRIPT = """
import asyncio, json, sys
import vivavoce.cli  # what `vivavoce serve` imports before it serves
from openai import AsyncOpenAI
from vivavoce.realtime.upstream import open_upstream

# serve builds the configured key's client at start-up (vivavoce.web.voice.openai_client)
client = AsyncOpenAI(api_key=sys.argv[2], base_url=sys.argv[1], max_retries=0)
before = set(sys.modules)

class Enough(Exception):
    pass

async def one_session():
    upstream = await open_upstream(client, "gpt-realtime")
    await upstream.send_text(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
    seen = []
    def on_event(event):
        seen.append(event["type"])
        if event["type"] == "session.updated":
            raise Enough  # out of run()
    try:
        await upstream.run(on_event)
    except Enough:
        pass
    await upstream.close()
    return seen

seen = asyncio.run(one_session())
print(json.dumps({"seen": seen, "new": sorted(set(sys.modules) - before)}))
"""


def test_a_realtime_session_imports_nothing_serve_did_not(fake_openai: RunningFake) -> None:
    from vivavoce.testing.scenarios import scenario_key

    out = subprocess.run([sys.executable, "-c", SCRIPT, fake_openai.base_url, scenario_key("ok")],
                         capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "session.updated" in result["seen"]  # a session really ran
    assert result["new"] == []
