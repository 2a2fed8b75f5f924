// Playback of the interviewer's voice: PCM16 24 kHz chunks -> AudioBufferSourceNodes
// scheduled back to back on one AudioContext, behind a small jitter buffer.
//
// The relay forwards audio faster than real time, in uneven bursts. The first chunk of a
// reply waits until `prebufferMs` of audio is queued (or that long has passed), so a
// slow second chunk does not cause a gap; after that chunks are scheduled end to end.
// clear() stops everything at once (barge-in) and says how much was actually heard.
//
// positionMs() is the play head on the relay's timeline: milliseconds of interviewer
// audio played since this socket opened (see resetTimeline). A clear() jumps it to the
// end of everything received, because that is where the relay puts its own play head
// after a barge-in (the audio dropped here was delivered, just never heard).

const RATE = 24000;

export class PcmPlayer {
  /**
   * @param {AudioContext} context
   * @param {{prebufferMs?: number, onPlayingChange?: (playing: boolean) => void}} options
   */
  constructor(context, { prebufferMs = 120, onPlayingChange = () => {} } = {}) {
    this.context = context;
    this.prebufferMs = prebufferMs;
    this.onPlayingChange = onPlayingChange;
    this.output = context.createGain();
    this.output.connect(context.destination);
    this.pending = []; // Float32Arrays waiting for the jitter buffer to fill
    this.pendingSamples = 0;
    this.prebufferTimer = null;
    this.active = []; // {source, start, duration} scheduled and not yet ended
    this.nextTime = 0;
    this.carry = null; // an odd trailing byte from the previous chunk
    this.completedMs = 0; // timeline position of everything fully played (or skipped)
    this.receivedMs = 0; // timeline length of everything received
    this.playing = false;
    this.stats = { samplesScheduled: 0, chunks: 0, underruns: 0, clears: 0 };
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
    this.receivedMs += (samples.length / RATE) * 1000;
    if (this.active.length > 0) {
      this.schedule(samples);
      return;
    }
    this.pending.push(samples);
    this.pendingSamples += samples.length;
    if ((this.pendingSamples / RATE) * 1000 >= this.prebufferMs) {
      this.flushPending();
    } else if (this.prebufferTimer === null) {
      this.prebufferTimer = setTimeout(() => this.flushPending(), this.prebufferMs);
    }
  }

  flushPending() {
    if (this.prebufferTimer !== null) {
      clearTimeout(this.prebufferTimer);
      this.prebufferTimer = null;
    }
    const chunks = this.pending;
    this.pending = [];
    this.pendingSamples = 0;
    for (const samples of chunks) this.schedule(samples);
  }

  schedule(samples) {
    const ctx = this.context;
    const earliest = ctx.currentTime + 0.03;
    if (this.nextTime < earliest) {
      if (this.active.length > 0) this.stats.underruns += 1;
      this.nextTime = earliest;
    }
    const buffer = ctx.createBuffer(1, samples.length, RATE);
    buffer.copyToChannel(samples, 0);
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.output);
    const entry = { source, start: this.nextTime, duration: buffer.duration };
    source.onended = () => this.ended(entry);
    source.start(this.nextTime);
    this.active.push(entry);
    this.nextTime += buffer.duration;
    this.stats.samplesScheduled += samples.length;
    this.setPlaying(true);
  }

  ended(entry) {
    const index = this.active.indexOf(entry);
    if (index === -1) return; // already dropped by clear()
    this.active.splice(index, 1);
    this.completedMs += entry.duration * 1000;
    if (this.active.length === 0 && this.pending.length === 0) this.setPlaying(false);
  }

  setPlaying(playing) {
    if (this.playing === playing) return;
    this.playing = playing;
    this.onPlayingChange(playing);
  }

  /** The play head: ms of interviewer audio heard since the start (see above). */
  positionMs() {
    const now = this.context.currentTime;
    let ms = this.completedMs;
    for (const { start, duration } of this.active) {
      ms += Math.max(0, Math.min(now - start, duration)) * 1000;
    }
    return Math.round(ms);
  }

  /** Stop all audio now (barge-in, disconnect). Returns what had been heard
   * (positionMs() just before); the play head then jumps to the end of what was received. */
  clear() {
    const heard = this.positionMs();
    const active = this.active;
    this.active = [];
    for (const { source } of active) {
      source.onended = null;
      try {
        source.stop();
      } catch {
        // already stopped
      }
      source.disconnect();
    }
    if (this.prebufferTimer !== null) clearTimeout(this.prebufferTimer);
    this.prebufferTimer = null;
    this.pending = [];
    this.pendingSamples = 0;
    this.carry = null;
    this.nextTime = 0;
    this.completedMs = this.receivedMs;
    this.stats.clears += 1;
    this.setPlaying(false);
    return heard;
  }

  /** Start a new timeline (a new socket: the relay counts positions per socket). */
  resetTimeline() {
    this.clear();
    this.completedMs = 0;
    this.receivedMs = 0;
  }

  /** Seconds of audio scheduled but not yet played. */
  bufferedSeconds() {
    return Math.max(0, this.nextTime - this.context.currentTime) + this.pendingSamples / RATE;
  }
}
