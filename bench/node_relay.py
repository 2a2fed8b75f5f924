"""The seed system's Node relay and vivavoce's, side by side: same driver, same echo fake.

    git -C CLONE show c17c711:backend/voiceServer.js > /tmp/voiceServer.js
    uv run python bench/node_relay.py /tmp/voiceServer.js --clients 200,500

CLONE is any clone of the public ``TayJ9/ask-ai-master-89262``; none of its code is kept
in this repository. Given that one file, this script copies it as ``voiceServer.cjs``
into a temporary directory (its package is an ES module, the file is CommonJS), makes
four edits so that it talks to the fake instead of OpenAI (``node_edits``: the upstream
URL, the model name, no ``OpenAI-Beta`` header, the GA name of the audio event; a pattern
that is not found, or found twice, stops the run with its name), links ``ws@8`` (its
dependency, ``npm install``-ed once under ~/.cache/vivavoce-node-relay) and serves it with
``http.createServer()`` + its own ``createVoiceServer(server)``, stdout to /dev/null (it
logs several lines for every frame: that cost is part of what is measured).

Then, for every level, one after the other: a fresh echo fake and a fresh Node relay,
bench/relay_bench.py's browsers through it and straight to the fake; then a fresh echo
fake and a fresh ``vivavoce serve``, the same browsers. The table has relay_bench's
columns, a row per relay and level ("added" = relay minus direct at the same
percentile; relay CPU summed over the relay's every process; RSS growth per interview).

The Node relay's ``interview_started`` is sent as soon as its upstream socket opens,
before the session is configured, and it sends no ``usage`` when the greeting ends, so
its browsers go from ``interview_started`` straight to the probe frame; its start times
are not comparable with vivavoce's (whose ``interview_started`` waits for
``session.updated``), its frames, CPU and memory are. Under the table, one Node interview's first text messages
(taken before the first level) show what the fake answered it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from relay_bench import (  # noqa: E402
    KEY,
    START_TIMEOUT_S,
    compare,
    driver_options,
    free_port,
    listening,
    print_table,
    run_driver,
    start_fake,
    start_relay,
)
from websockets.asyncio.client import connect  # noqa: E402

WS_CACHE = Path.home() / ".cache" / "vivavoce-node-relay"
WS_PACKAGE = "ws@8"  # the seed's backend/package.json asks for ws ^8.18.0

SERVER_JS = """\
// Serves the seed's relay as its own server did: createVoiceServer on an http.Server.
const http = require('http');
const { createVoiceServer } = require('./voiceServer.cjs');
const server = http.createServer();
createVoiceServer(server);
server.listen(Number(process.env.PORT), '127.0.0.1');
"""


class EditError(ValueError):
    """An edit's pattern is not in the file exactly once (another version of the file?)."""


@dataclass(frozen=True)
class Edit:
    name: str
    pattern: str  # a regular expression, expected exactly once
    replacement: Callable[[str], str]  # upstream URL → replacement text


# Quotes may be single or double; each pattern must match exactly once.
EDITS = (
    Edit("upstream URL", r"""(['"])wss://api\.openai\.com/v1/realtime\1""",
         lambda url: json.dumps(url)),
    Edit("model", r"""(['"])gpt-4o-realtime-preview-2024-10-01\1""",
         lambda url: "'gpt-realtime'"),
    # The GA fake, like OpenAI since May 2026, closes sessions that still send it.
    Edit("OpenAI-Beta header", r""",?\s*(['"])OpenAI-Beta\1\s*:\s*(['"])realtime=v1\2""",
         lambda url: ""),
    # The GA name of the audio event; under the beta name no audio would come back.
    Edit("audio event", r"""case\s+(['"])response\.audio\.delta\1\s*:""",
         lambda url: "case 'response.output_audio.delta':"),
)


def node_edits(source: str, upstream_url: str) -> str:
    """``source`` (the seed's voiceServer.js) talking to ``upstream_url`` (the fake's
    ``ws://…/v1/realtime``) instead of OpenAI. Raises EditError naming every edit whose
    pattern is missing or ambiguous; nothing else in the file changes."""
    problems = []
    for edit in EDITS:
        found = list(re.finditer(edit.pattern, source))
        if len(found) != 1:
            problems.append(f"{edit.name}: /{edit.pattern}/ found {len(found)} times, "
                            "expected once")
            continue
        at = found[0]
        source = source[:at.start()] + edit.replacement(upstream_url) + source[at.end():]
    if problems:
        raise EditError("voiceServer.js is not the expected file (commit c17c711 of "
                        "TayJ9/ask-ai-master-89262): " + "; ".join(problems))
    return source


def ws_modules() -> Path:
    """node_modules holding ws@8, installed once with npm under ~/.cache."""
    modules = WS_CACHE / "node_modules"
    if not (modules / "ws" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed (the Node relay needs ws@8)")
        WS_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--prefix", str(WS_CACHE), "--no-audit", "--no-fund",
                        WS_PACKAGE], check=True, stdout=subprocess.DEVNULL)
    return modules


def prepare(source: str, workdir: Path) -> None:
    """The wrapper and ws in ``workdir``; the edited relay is written per level."""
    node_edits(source, "ws://127.0.0.1:1/v1/realtime")  # fail before anything starts
    (workdir / "node_modules").symlink_to(ws_modules(), target_is_directory=True)
    (workdir / "server.cjs").write_text(SERVER_JS)


def start_node_relay(stack: ExitStack, source: str, workdir: Path,
                     fake_port: int) -> tuple[str, int]:
    """A fresh Node relay in ``workdir`` whose upstream is the fake on ``fake_port``."""
    upstream = f"ws://127.0.0.1:{fake_port}/v1/realtime"
    (workdir / "voiceServer.cjs").write_text(node_edits(source, upstream))
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed")
    port = free_port()
    log = stack.enter_context((workdir / "relay.err").open("wb"))
    process = subprocess.Popen(
        [node, "server.cjs"], cwd=workdir, stdout=subprocess.DEVNULL, stderr=log,
        env={**os.environ, "PORT": str(port), "OPENAI_API_KEY": KEY},
    )
    stack.callback(process.wait)
    stack.callback(process.kill)
    try:
        listening(process, port, "the Node relay")
    except RuntimeError as exc:
        tail = (workdir / "relay.err").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{exc}; its stderr ends with:\n{tail}") from None
    return f"ws://127.0.0.1:{port}/voice", process.pid


async def first_messages(url: str, seconds: float = 2.0) -> list[str]:
    """One interview's text messages for ``seconds`` after ``start_interview``, with
    their times: what the relay (and the fake behind it) said, for the record."""
    seen: list[str] = []
    async with connect(url, max_size=None, open_timeout=START_TIMEOUT_S) as ws:
        await ws.recv()  # connected
        asked = time.perf_counter()
        await ws.send(json.dumps({"type": "start_interview",
                                  "candidateContext": {"name": "Bench", "major": "CS"}}))
        while (left := asked + seconds - time.perf_counter()) > 0:
            try:
                message = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
            if isinstance(message, str):
                event = json.loads(message)
                text = event.get("type", "?")
                if event.get("message") and text == "error":
                    text += f" ({event['message']})"
                seen.append(f"{text} +{(time.perf_counter() - asked) * 1000:.0f} ms")
        await ws.send(json.dumps({"type": "end_interview"}))
    return seen


async def node_level(args: argparse.Namespace, source: str, workdir: Path,
                     clients: int) -> dict[str, Any]:
    with ExitStack() as stack:
        fake_port, fake_pid = start_fake(stack)
        url, pid = start_node_relay(stack, source, workdir, fake_port)
        if not args.json and clients == args.clients[0]:
            args.notes.append("Node relay, one interview's first messages: "
                              + "; ".join(await first_messages(url)))
        row = await compare(args, clients, url, pid, fake_port, fake_pid, wait_usage=False)
        return {"relay": "node (seed)", **row}


async def vivavoce_level(args: argparse.Namespace, clients: int) -> dict[str, Any]:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as data:
        fake_port, fake_pid = start_fake(stack)
        url, pid = start_relay(stack, fake_port, data, args.serve_arg)
        row = await compare(args, clients, url, pid, fake_port, fake_pid, wait_usage=True)
        return {"relay": "vivavoce", **row}


async def main_async(args: argparse.Namespace, source: str) -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="node-relay-") as tmp:
        workdir = Path(tmp)
        prepare(source, workdir)
        for clients in args.clients:
            for row in [await node_level(args, source, workdir, clients),
                        await vivavoce_level(args, clients)]:
                rows.append(row)
                if args.json:
                    print(json.dumps(row), flush=True)
    if not args.json:
        print_table(rows, args)
        print(*args.notes, sep="\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("voice_server", type=Path,
                        help="the seed's backend/voiceServer.js (commit c17c711)")
    driver_options(parser, clients="200,500")
    args = parser.parse_args()
    args.notes = []
    if args.stagger is None:
        args.stagger = max(args.clients) / 20
    try:
        source = args.voice_server.read_text()
        node_edits(source, "ws://127.0.0.1:1/v1/realtime")
    except (OSError, EditError) as exc:
        parser.error(str(exc))
    run_driver(main_async(args, source))


if __name__ == "__main__":
    main()
