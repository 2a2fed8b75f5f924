"""bench/node_relay.py's edits of the seed's voiceServer.js, on a made-up file.

The real file is not in this repository (nor fetched here: no network in tests); this
one holds the four lines the edits look for, written as the seed wrote them, among
others that must come out untouched.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

SEED_LIKE = """\
const WebSocket = require('ws');

const OPENAI_REALTIME_API_URL = 'wss://api.openai.com/v1/realtime';
const OPENAI_MODEL = 'gpt-4o-realtime-preview-2024-10-01';

function connectUpstream(apiKey) {
  return new WebSocket(`${OPENAI_REALTIME_API_URL}?model=${OPENAI_MODEL}`, {
    headers: {
      'Authorization': `Bearer ${apiKey}`,
      'OpenAI-Beta': 'realtime=v1'
    }
  });
}

function onUpstream(message, frontendWs) {
  switch (message.type) {
    case 'response.audio.delta':
      frontendWs.send(Buffer.from(message.delta, 'base64'));
      break;
    case 'response.audio_transcript.delta':
      frontendWs.send(JSON.stringify({ type: 'ai_transcription', text: message.delta }));
      break;
  }
}

module.exports = { connectUpstream, onUpstream };
"""

UPSTREAM = "ws://127.0.0.1:4321/v1/realtime"


def load() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("node_relay", BENCH / "node_relay.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["node_relay"] = module  # its dataclasses look themselves up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


node_relay = load()


def test_the_four_edits_point_the_seed_relay_at_the_fake_and_change_nothing_else() -> None:
    edited = node_relay.node_edits(SEED_LIKE, UPSTREAM)
    assert f'const OPENAI_REALTIME_API_URL = "{UPSTREAM}";' in edited
    assert "const OPENAI_MODEL = 'gpt-realtime';" in edited
    assert "OpenAI-Beta" not in edited and "realtime=v1" not in edited
    assert "case 'response.output_audio.delta':" in edited
    assert "api.openai.com" not in edited and "gpt-4o" not in edited
    # Everything else is as it was: the transcript case keeps its (beta) name, the
    # Authorization header stays.
    assert "case 'response.audio_transcript.delta':" in edited
    assert "'Authorization': `Bearer ${apiKey}`" in edited
    untouched = [line for line in SEED_LIKE.splitlines()
                 if not any(word in line for word in ("api.openai.com", "gpt-4o", "OpenAI-Beta",
                                                      "'response.audio.delta'", "Authorization"))]
    assert [line for line in edited.splitlines() if line in untouched] == untouched
    assert len(edited.splitlines()) == len(SEED_LIKE.splitlines()) - 1  # the header line


def test_double_quotes_are_edited_too() -> None:
    double = SEED_LIKE.replace("'", '"')
    edited = node_relay.node_edits(double, UPSTREAM)
    assert '"gpt-realtime"' not in edited and "'gpt-realtime'" in edited
    assert "OpenAI-Beta" not in edited
    assert "case 'response.output_audio.delta':" in edited


@pytest.mark.parametrize(("line", "name"), [
    ("'wss://api.openai.com/v1/realtime'", "upstream URL"),
    ("'gpt-4o-realtime-preview-2024-10-01'", "model"),
    ("'OpenAI-Beta': 'realtime=v1'", "OpenAI-Beta header"),
    ("case 'response.audio.delta':", "audio event"),
])
def test_a_missing_pattern_stops_with_its_name(line: str, name: str) -> None:
    changed = SEED_LIKE.replace(line, "/* moved elsewhere */")
    with pytest.raises(node_relay.EditError, match=f"{name}: .* found 0 times") as caught:
        node_relay.node_edits(changed, UPSTREAM)
    # Only that edit is named: the others were found.
    assert str(caught.value).count("found") == 1


def test_a_pattern_found_twice_stops_too() -> None:
    twice = SEED_LIKE + "\nconst FALLBACK_MODEL = 'gpt-4o-realtime-preview-2024-10-01';\n"
    with pytest.raises(node_relay.EditError, match="model: .* found 2 times"):
        node_relay.node_edits(twice, UPSTREAM)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_edited_file_is_still_javascript(tmp_path: Path) -> None:
    path = tmp_path / "voiceServer.cjs"
    path.write_text(node_relay.node_edits(SEED_LIKE, UPSTREAM))
    check = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True,
                           timeout=30, check=False)
    assert check.returncode == 0, check.stderr
