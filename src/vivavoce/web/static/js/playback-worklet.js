// AudioWorklet processor: the interviewer's voice from one ring buffer.
//
// The main thread posts PCM as Float32 samples at 24 kHz ({type: "push", samples});
// this processor plays them at the context's rate. One node for the whole interview,
// instead of one AudioBufferSourceNode per chunk: the relay sends faster than real time,
// which made hundreds of scheduled nodes at once.
//
// A reply starts once `prebuffer` samples are queued or it has waited that long (a jitter
// buffer, so a slow second chunk does not cause a gap). When the ring runs dry it stops
// and waits again. {type: "clear"} (barge-in) empties the ring at once; the samples
// dropped count as consumed, because the relay's play head jumps past them too.
//
// It reports {type: "status", time, consumed, buffered, playing} after every change of
// playing state and every ~20 ms while playing: `consumed` is source samples rendered or
// skipped since the start, as of context time `time` (the end of the quantum just
// rendered). The main thread turns that into what was heard (player.js).
//
// Resampling from 24 kHz to the context's rate (usually 44.1 or 48 kHz) is linear
// interpolation: it is upsampling, so nothing aliases into the speech band, and its
// images above 12 kHz are weak for speech. (The capture side needs a real low-pass
// filter because it decimates.)

const SOURCE_RATE = 24000;
const REPORT_EVERY = 8; // render quanta (8 x 128 frames: about 20 ms at 48 kHz)

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.prebuffer = Math.max(0, Math.round(((opts.prebufferMs ?? 120) / 1000) * SOURCE_RATE));
    this.ring = new Float32Array(SOURCE_RATE * 30); // grows when more is queued
    this.read = 0; // ring index of the next sample to play
    this.size = 0; // samples queued
    this.frac = 0; // fractional source position between ring[read] and ring[read + 1]
    this.step = SOURCE_RATE / sampleRate; // source samples per output frame
    this.consumed = 0; // source samples played or skipped since the start
    this.playing = false;
    this.waited = 0; // output frames waited for the jitter buffer
    this.quanta = 0;
    this.epoch = 0; // the main thread's clear count: reports from before a clear are stale
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(message) {
    if (!message) return;
    if (message.type === "push") this.push(message.samples);
    else if (message.type === "clear") {
      this.epoch = message.epoch;
      this.consumed += this.size;
      this.read = 0;
      this.size = 0;
      this.frac = 0;
      this.waited = 0;
      this.setPlaying(false, "clear");
    }
  }

  push(samples) {
    if (this.size + samples.length > this.ring.length) {
      // Keep everything: unplayed audio is never dropped for lack of room.
      const bigger = new Float32Array(Math.max(this.ring.length * 2, this.size + samples.length));
      for (let i = 0; i < this.size; i++) bigger[i] = this.ring[(this.read + i) % this.ring.length];
      this.ring = bigger;
      this.read = 0;
    }
    const cap = this.ring.length;
    let write = (this.read + this.size) % cap;
    const first = Math.min(samples.length, cap - write);
    this.ring.set(samples.subarray(0, first), write);
    if (first < samples.length) this.ring.set(samples.subarray(first), 0);
    this.size += samples.length;
  }

  setPlaying(playing, why) {
    if (this.playing === playing && why !== "clear") return;
    this.playing = playing;
    this.report(why);
  }

  report(why) {
    this.port.postMessage({
      type: "status",
      why,
      epoch: this.epoch,
      time: currentTime + 128 / sampleRate,
      consumed: this.consumed,
      buffered: this.size,
      playing: this.playing,
    });
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    const frames = out.length;
    if (!this.playing && this.size > 0) {
      this.waited += frames;
      if (this.size >= this.prebuffer || (this.waited / sampleRate) * SOURCE_RATE >= this.prebuffer) {
        this.waited = 0;
        this.setPlaying(true, "start");
      }
    }
    if (this.playing) {
      const cap = this.ring.length;
      for (let i = 0; i < frames; i++) {
        if (this.size === 0) {
          out.fill(0, i);
          break;
        }
        const a = this.ring[this.read];
        const b = this.size > 1 ? this.ring[(this.read + 1) % cap] : a;
        out[i] = a + (b - a) * this.frac;
        this.frac += this.step;
        while (this.frac >= 1 && this.size > 0) {
          this.frac -= 1;
          this.read = (this.read + 1) % cap;
          this.size -= 1;
          this.consumed += 1;
        }
      }
      if (this.size === 0) {
        this.frac = 0;
        this.setPlaying(false, "drained"); // the reply's end, or the network's gap
      } else if (++this.quanta % REPORT_EVERY === 0) {
        this.report("tick");
      }
    } else {
      out.fill(0);
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    return true;
  }
}

registerProcessor("vivavoce-playback", PlaybackProcessor);
