// Playback of the interviewer's voice: PCM16 24 kHz chunks -> one AudioWorklet ring
// buffer (playback-worklet.js), with a 120 ms jitter buffer at the start of each reply.
//
// positionMs() is the play head on the relay's timeline: milliseconds of interviewer
// audio *heard* since this socket opened (see resetTimeline). The worklet reports what it
// has rendered as of a context time; what leaves the speaker lags that by the context's
// `baseLatency` + `outputLatency` (tens of ms on a laptop, hundreds over Bluetooth), so
// the play head is the worklet's count at `currentTime - latency`. That is the position
// sent as `playback_position`, and the relay cuts a barged-in reply there: at what the
// candidate really heard, not at what was computed ahead of the speaker.
//
// clear() (barge-in, disconnect) empties the ring at once and says how much had been
// heard; the play head then jumps to the end of everything received, because that is
// where the relay puts its own after a barge-in (the audio dropped was delivered, just
// never heard).

const RATE = 24000;
// Versioned with this module: import.meta.url carries the release's path (pages.py).
const WORKLET_URL = new URL("./playback-worklet.js", import.meta.url).href;

export class PcmPlayer {
  /**
   * Load the worklet into `context` and make a player on it.
   * @param {AudioContext} context
   * @param {{prebufferMs?: number, onPlayingChange?: (playing: boolean) => void}} options
   */
  static async open(context, options = {}) {
    await context.audioWorklet.addModule(WORKLET_URL);
    return new PcmPlayer(context, options);
  }

  constructor(context, { prebufferMs = 120, onPlayingChange = () => {} } = {}) {
    this.context = context;
    this.onPlayingChange = onPlayingChange;
    this.node = new AudioWorkletNode(context, "vivavoce-playback", {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: { prebufferMs },
    });
    this.node.connect(context.destination);
    this.node.port.onmessage = (event) => this.onStatus(event.data);
    this.carry = null; // an odd trailing byte from the previous chunk
    this.received = 0; // source samples received (the relay's timeline, in samples)
    this.floor = 0; // the play head never goes below this (the end of a cleared reply)
    this.origin = 0; // the timeline's zero (a new socket starts a new timeline)
    this.history = []; // worklet reports, oldest first: [{time, consumed, buffered, playing}]
    this.epoch = 0;
    this.playing = false;
    this.stopTimer = null;
    this.stats = { samplesScheduled: 0, chunks: 0, clears: 0 };
  }

  /** Seconds between the worklet rendering a sample and the speaker playing it. */
  latencySeconds() {
    const ctx = this.context;
    return Math.max(0, (ctx.baseLatency || 0) + (ctx.outputLatency || 0));
  }

  /** Queue one binary frame of PCM16 LE mono 24 kHz. */
  enqueue(arrayBuffer) {
    let bytes = new Uint8Array(arrayBuffer);
    if (this.carry !== null) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = this.carry;
      joined.set(bytes, 1);
      bytes = joined;
      this.carry = null;
    }
    if (bytes.length % 2 === 1) {
      this.carry = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    if (bytes.length === 0) return;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const samples = new Float32Array(bytes.length / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true) / 0x8000;
    this.stats.chunks += 1;
    this.stats.samplesScheduled += samples.length;
    this.received += samples.length;
    this.node.port.postMessage({ type: "push", samples }, [samples.buffer]);
  }

  onStatus(report) {
    if (!report || report.type !== "status" || report.epoch !== this.epoch) return;
    this.history.push(report);
    if (this.history.length > 400) this.history.shift(); // nobody asked for a while
    if (report.playing) {
      clearTimeout(this.stopTimer);
      this.stopTimer = null;
      this.setPlaying(true);
    } else if (this.playing && this.stopTimer === null) {
      // The ring ran dry, but its last samples are still on their way to the speaker:
      // the interviewer stops speaking (and the last position is reported) after that.
      this.stopTimer = setTimeout(() => {
        this.stopTimer = null;
        const last = this.history[this.history.length - 1];
        if (last && !last.playing) this.setPlaying(false);
      }, this.latencySeconds() * 1000 + 20);
    }
  }

  setPlaying(playing) {
    if (this.playing === playing) return;
    this.playing = playing;
    this.onPlayingChange(playing);
  }

  /** Source samples the worklet had consumed at context time `t`. */
  consumedAt(t) {
    // Keep the newest report at or before t (and everything after it).
    while (this.history.length > 1 && this.history[1].time <= t) this.history.shift();
    const report = this.history[0];
    if (!report) return this.floor;
    if (report.time > t) {
      // Every report is newer than t: t lies before the first one we have.
      return report.playing ? Math.max(this.floor, report.consumed - (report.time - t) * RATE) : report.consumed;
    }
    const extra = report.playing ? Math.min((t - report.time) * RATE, report.buffered) : 0;
    return report.consumed + extra;
  }

  /** The play head: ms of interviewer audio heard since the start (see above). */
  positionMs() {
    const heard = this.consumedAt(this.context.currentTime - this.latencySeconds());
    return Math.round((Math.min(this.received, Math.max(this.floor, heard)) - this.origin) / (RATE / 1000));
  }

  /** What the worklet has rendered by now, ahead of the speaker by the latency (tests). */
  renderedMs() {
    const last = this.history[this.history.length - 1];
    if (!last) return Math.round((this.floor - this.origin) / (RATE / 1000));
    const extra = last.playing ? Math.min((this.context.currentTime - last.time) * RATE, last.buffered) : 0;
    return Math.round((Math.max(0, last.consumed + extra) - this.origin) / (RATE / 1000));
  }

  /** Stop all audio now (barge-in, disconnect). Returns what had been heard
   * (positionMs() just before); the play head then jumps to the end of what was received. */
  clear() {
    const heard = this.positionMs();
    this.epoch += 1;
    this.node.port.postMessage({ type: "clear", epoch: this.epoch });
    this.history = [];
    this.carry = null;
    this.floor = this.received;
    clearTimeout(this.stopTimer);
    this.stopTimer = null;
    this.stats.clears += 1;
    this.setPlaying(false);
    return heard;
  }

  /** Start a new timeline (a new socket: the relay counts positions per socket). */
  resetTimeline() {
    this.clear();
    this.origin = this.received;
  }
}
