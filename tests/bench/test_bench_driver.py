"""The relay bench's browsers: the pacer's order of frames and the echo matching.

What is checked is which frame goes when relative to the others, and which echo is
recognised as which frame; never how fast anything runs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look themselves up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


browser_socket = load("browser_socket")
relay_bench = load("relay_bench")

from vivavoce.testing.realtime_echo import echo_delta, echo_wire  # noqa: E402


class Recorder:
    """Stands in for a browser's stream: notes each frame the pacer asks for."""

    def __init__(self, name: str, frames: int, log: list[tuple[str, int]]) -> None:
        self.name, self.frames, self.log, self.sent = name, [b""] * frames, log, 0

    def send_next(self) -> None:
        self.log.append((self.name, self.sent))
        self.sent += 1


async def test_the_pacer_sends_each_period_once_round_every_browser_in_turn() -> None:
    log: list[tuple[str, int]] = []
    pacer = browser_socket.Pacer()
    for name in "abc":
        pacer.add(Recorder(name, 3, log))
    await pacer.run(0.003)
    # Frame n of every browser before frame n + 1 of any: phases spread, none skipped.
    assert log == [(name, n) for n in range(3) for name in "abc"]


async def test_a_browser_with_fewer_frames_is_left_out_once_they_are_sent() -> None:
    log: list[tuple[str, int]] = []
    pacer = browser_socket.Pacer()
    pacer.add(Recorder("a", 1, log))
    pacer.add(Recorder("b", 2, log))
    await pacer.run(0.002)
    assert log == [("a", 0), ("b", 0), ("b", 1)]


def test_an_echo_from_the_fake_is_read_as_its_frame_number() -> None:
    append = relay_bench.append_event(relay_bench.frame(4242, 40))
    echoed = echo_wire(append)
    assert echoed is not None
    assert relay_bench.echoed_number(echoed[0]) == 4242


def test_a_delta_written_otherwise_is_parsed_in_full() -> None:
    pcm = relay_bench.frame(17, 40)
    audio = relay_bench.append_event(pcm)[len('{"type":"input_audio_buffer.append","audio":"'):-2]
    event: dict[str, Any] = echo_delta(audio)
    spaced = json.dumps(dict(reversed(list(event.items()))))  # another order, spaces
    assert relay_bench.echoed_number(spaced) == 17


def test_anything_but_an_echo_of_ours_has_no_number() -> None:
    assert relay_bench.echoed_number(json.dumps({"type": "session.updated"})) is None
    quiet = relay_bench.append_event(bytes(1920))[len('{"type":"input_audio_buffer.append","audio":"'):-2]
    assert relay_bench.echoed_number(json.dumps(echo_delta(quiet))) is None
    assert relay_bench.relayed_number(bytes(1920)) is None
    assert relay_bench.relayed_number(relay_bench.frame(9, 40)) == 9
    assert relay_bench.relayed_number("text") is None


def test_stopping_a_server_stops_the_processes_it_started_too() -> None:
    # As `serve --workers N` does: a parent whose children would outlive a plain kill.
    import os
    import subprocess
    import time

    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.stdout.close()
    relay_bench.stop_tree(parent)
    assert parent.poll() is not None
    for _ in range(200):  # SIGKILL is delivered at once; the zombie is reaped by init
        try:
            status = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            break
        if status == "Z":
            break
        time.sleep(0.01)
    else:
        os.kill(child, 9)
        raise AssertionError("the child outlived its parent's stop")
