"""The room's audio and transcript modules, exercised inside Chromium.

Deterministic: the capture worklet runs in an OfflineAudioContext (rendered as fast as
possible, no clock), and the player and transcript are driven with plain values. The
modules are imported from the app's own /static, under the page's real CSP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import BrowserPage, LiveApp

pytestmark = pytest.mark.browser

RESAMPLE = """
async ([inputRate, frequency, amplitude]) => {
  const ctx = new OfflineAudioContext(1, inputRate, inputRate); // one second
  await ctx.audioWorklet.addModule("/static/js/capture-worklet.js");
  const node = new AudioWorkletNode(ctx, "vivavoce-capture", {
    numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: "explicit",
  });
  const frames = [];
  node.port.onmessage = (event) => frames.push(event.data);
  const osc = new OscillatorNode(ctx, { frequency });
  osc.connect(new GainNode(ctx, { gain: amplitude })).connect(node).connect(ctx.destination);
  osc.start();
  await ctx.startRendering();
  while (frames.length < Math.floor(24000 / 960) - 1) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  const samples = frames.flatMap((f) => Array.from(new Int16Array(f.buffer)));
  const settled = samples.slice(2400); // skip the first 100 ms
  let crossings = 0;
  for (let i = 1; i < settled.length; i++) if ((settled[i - 1] < 0) !== (settled[i] < 0)) crossings++;
  const rms = Math.sqrt(settled.reduce((a, s) => a + s * s, 0) / settled.length) / 32768;
  return { frames: frames.length, bytes: frames[0].buffer.byteLength, crossings,
           seconds: settled.length / 24000, rms, level: frames[frames.length - 1].level };
}
"""


@pytest.fixture
def app_page(open_page: Callable[..., BrowserPage], live_app: Callable[..., LiveApp]) -> Any:
    app = live_app()
    tab = open_page()
    tab.page.goto(app.url + "/")
    return tab.page


@pytest.mark.parametrize("input_rate", [48_000, 44_100, 16_000])
def test_capture_resamples_to_pcm16_24k_in_40ms_frames(app_page: Any, input_rate: int) -> None:
    out = app_page.evaluate(RESAMPLE, [input_rate, 1000, 0.5])
    assert out["bytes"] == 960 * 2  # 40 ms of PCM16 at 24 kHz
    assert out["frames"] >= 24  # one second in, ~25 frames out (the last may be partial)
    # A 1 kHz tone stays a 1 kHz tone: 2000 zero crossings a second.
    assert out["crossings"] / out["seconds"] == pytest.approx(2000, rel=0.01)
    # ...at its level (a 0.5 sine has an RMS of 0.354), also reported per frame.
    assert out["rms"] == pytest.approx(0.354, rel=0.03)
    assert out["level"] == pytest.approx(0.354, rel=0.03)


def test_capture_does_not_fold_high_frequencies_into_speech(app_page: Any) -> None:
    # From 48 kHz, a 20 kHz tone would alias to 4 kHz in 24 kHz audio; it must be filtered.
    out = app_page.evaluate(RESAMPLE, [48_000, 20_000, 0.5])
    assert out["rms"] < 0.354 * 0.03  # more than 30 dB down


PLAYER = """
async () => {
  const { PcmPlayer } = await import("/static/js/player.js");
  const ctx = new AudioContext();
  await ctx.resume();
  const changes = [];
  const player = await PcmPlayer.open(ctx, { prebufferMs: 100, onPlayingChange: (p) => changes.push(p) });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const chunk = (ms) => {
    const pcm = new Int16Array(24 * ms);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin(i / 5));
    return pcm.buffer;
  };
  // One node plays everything: count the audio nodes the player makes.
  let sources = 0;
  const make = ctx.createBufferSource.bind(ctx);
  ctx.createBufferSource = () => { sources += 1; return make(); };
  // 50 ms is below the jitter buffer: nothing plays at first...
  player.enqueue(chunk(50));
  await sleep(40);
  const beforePrebuffer = { playing: player.playing, position: player.positionMs() };
  // ...until the buffer has waited its 100 ms; the 50 ms then play out and stop.
  while (!player.playing) await sleep(5);
  while (player.playing) await sleep(5);
  const afterShort = player.positionMs();
  for (let i = 0; i < 20; i++) player.enqueue(chunk(500)); // 10 s more, all at once
  // An odd-length frame keeps its last byte for the next one (no sample is split).
  const odd = new Uint8Array(5); player.enqueue(odd.buffer); player.enqueue(new Uint8Array(1).buffer);
  const scheduled = player.stats.samplesScheduled;
  while (!player.playing) await sleep(5);
  await sleep(300);
  const position = player.positionMs();
  const heard = player.clear();
  const afterClear = player.positionMs();
  await sleep(200); // nothing left to play: the play head stays at the end
  return { beforePrebuffer, afterShort, scheduled, position, heard, afterClear,
           later: player.positionMs(), playing: player.playing, changes, sources };
}
"""


def test_player_buffers_then_plays_and_stops_at_once(app_page: Any) -> None:
    out = app_page.evaluate(PLAYER)
    assert out["beforePrebuffer"] == {"playing": False, "position": 0}
    assert out["afterShort"] == 50  # all of a short reply is heard, then it stops
    assert out["scheduled"] == 24 * 50 + 24 * 10_000 + 3
    assert 50 < out["position"] < 2_000  # a fraction of the 10 s has been heard
    assert out["heard"] >= out["position"]
    # After the clear nothing is playing, and the play head sits at the end of what was
    # received: where the relay puts its own after a barge-in.
    assert out["playing"] is False
    assert out["afterClear"] == out["later"] == round((24 * 50 + 24 * 10_000 + 3) / 24)
    assert out["changes"] == [True, False, True, False]
    assert out["sources"] == 0  # the worklet plays it all: no node per chunk


LATENCY = """
async (outputLatency) => {
  const { PcmPlayer } = await import("/static/js/player.js");
  const ctx = new AudioContext();
  await ctx.resume();
  // What a Bluetooth headset reports; Chromium's headless output reports next to nothing.
  Object.defineProperty(ctx, "outputLatency", { value: outputLatency });
  const player = await PcmPlayer.open(ctx, { prebufferMs: 0 });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const pcm = new Int16Array(24 * 5000).fill(4000);
  player.enqueue(pcm.buffer);
  while (!player.playing) await sleep(5);
  await sleep(900);
  const rendered = player.renderedMs(), heard = player.positionMs();
  const base = Math.round((ctx.baseLatency || 0) * 1000);
  player.clear();
  await ctx.close();
  return { rendered, heard, base };
}
"""


@pytest.mark.parametrize("output_latency", [0.0, 0.4])
def test_the_play_head_is_what_the_speaker_played(app_page: Any, output_latency: float) -> None:
    out = app_page.evaluate(LATENCY, output_latency)
    assert out["rendered"] > 600  # it plays
    # The worklet runs ahead of the speaker by the context's latencies; the play head
    # (what `playback_position` reports) does not.
    lag = out["rendered"] - out["heard"]
    assert lag == pytest.approx(out["base"] + output_latency * 1000, abs=40)


TRANSCRIPT = """
async () => {
  const { LiveTranscript } = await import("/static/js/transcript.js");
  const list = document.createElement("ol");
  document.body.append(list);
  const t = new LiveTranscript(list);
  t.delta("interviewer", "Hello, ");
  t.delta("interviewer", "welcome");
  const draft = list.lastElementChild.querySelector(".draft");
  const drafting = { text: draft.textContent, hidden: draft.getAttribute("aria-hidden") };
  t.candidateStarted();  // the candidate speaks before the interviewer's line is final
  t.final("interviewer", "Hello, welcome.");
  t.delta("candidate", "I am");
  t.final("candidate", "I am Ada.");
  t.candidateStarted();
  t.final("candidate", "");  // silence: no turn
  t.candidateStarted();
  t.dropEmptyDrafts();
  return { drafting, lines: Array.from(list.children).map((li) => ({
    speaker: li.dataset.speaker, final: li.dataset.final, text: li.querySelector(".text")?.textContent,
    drafts: li.querySelectorAll(".draft").length })) };
}
"""


def test_transcript_settles_deltas_into_final_lines_in_order(app_page: Any) -> None:
    out = app_page.evaluate(TRANSCRIPT)
    assert out["drafting"] == {"text": "Hello, welcome", "hidden": "true"}
    assert out["lines"] == [
        {"speaker": "interviewer", "final": "true", "text": "Hello, welcome.", "drafts": 0},
        {"speaker": "candidate", "final": "true", "text": "I am Ada.", "drafts": 0},
    ]


FOLLOW = """
async () => {
  const { LiveTranscript } = await import("/static/js/transcript.js");
  const box = document.createElement("div");
  box.style.height = "120px";
  box.style.overflowY = "auto";
  const list = document.createElement("ol");
  box.append(list);
  document.body.append(box);
  const t = new LiveTranscript(list, { scroller: box });
  const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  // Is the newest text of the last line inside the box's visible area?
  const lastInView = () => {
    const line = list.lastElementChild.getBoundingClientRect();
    const view = box.getBoundingClientRect();
    return line.bottom <= view.bottom + 1 && line.bottom > view.top;
  };
  const pageScroll = window.scrollY;
  for (let i = 0; i < 8; i++) t.final(i % 2 ? "candidate" : "interviewer", `Line ${i}.`);
  // One long line growing delta by delta, taller than the box: its newest words show.
  for (let i = 0; i < 40; i++) t.delta("interviewer", `word${i} `);
  await frame();
  const following = lastInView();
  // The reader scrolls up to reread: new words do not pull them back down...
  box.scrollTop = 0;
  await frame();
  t.delta("interviewer", "more words ");
  await frame();
  const leftAlone = box.scrollTop === 0;
  // ...until they come back to the bottom.
  box.scrollTop = box.scrollHeight;
  await frame();
  t.final("interviewer", "The end of a long question?");
  t.candidateStarted();
  await frame();
  return { following, leftAlone, followsAgain: lastInView(), pageScrolled: window.scrollY !== pageScroll };
}
"""


def test_transcript_keeps_the_current_line_in_view(app_page: Any) -> None:
    out = app_page.evaluate(FOLLOW)
    assert out == {"following": True, "leftAlone": True, "followsAgain": True, "pageScrolled": False}
