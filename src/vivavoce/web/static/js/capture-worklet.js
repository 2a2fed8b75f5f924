// AudioWorklet processor: microphone samples (at the AudioContext's rate, often 48 kHz)
// -> mono PCM16 at 24 kHz, posted to the main thread in 40 ms frames with their level.
//
// Resampling is done here rather than by asking for AudioContext({sampleRate: 24000}),
// because not every browser can connect a microphone to a context of another rate.

const TARGET_RATE = 24000;
const FRAME_SAMPLES = 960; // 40 ms at 24 kHz: small enough for low latency, few messages

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    // `sampleRate` is the worklet scope's global: the context's rate.
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.pos = 0; // read position in the current block; may be in [-1, 0): between blocks
    this.prev = 0; // last (filtered) sample of the previous block
    // One-pole low-pass before decimating, so energy above 12 kHz folds back less.
    // A first-order filter is crude but cheap, and speech has little energy up there.
    const cutoff = Math.min(10000, TARGET_RATE * 0.45);
    this.alpha = this.step > 1 ? 1 - Math.exp((-2 * Math.PI * cutoff) / sampleRate) : 1;
    this.lp = 0;
    this.scratch = new Float32Array(128);
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
    this.sumSquares = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || !input[0]) return true;
    const n = input[0].length;
    if (this.scratch.length < n) this.scratch = new Float32Array(n);
    const x = this.scratch;
    // Mix down to mono, then low-pass.
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let c = 0; c < input.length; c++) v += input[c][i];
      v /= input.length;
      this.lp += this.alpha * (v - this.lp);
      x[i] = this.lp;
    }
    // Linear interpolation at positions pos, pos+step, ... within this block.
    while (this.pos < n - 1) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const a = i < 0 ? this.prev : x[i];
      const b = x[i + 1];
      this.push(a + (b - a) * frac);
      this.pos += this.step;
    }
    this.pos -= n;
    this.prev = x[n - 1];
    return true;
  }

  push(value) {
    const s = value > 1 ? 1 : value < -1 ? -1 : value;
    this.frame[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
    this.sumSquares += s * s;
    if (this.filled === FRAME_SAMPLES) {
      const level = Math.sqrt(this.sumSquares / FRAME_SAMPLES);
      const buffer = this.frame.buffer;
      this.port.postMessage({ type: "frame", buffer, level }, [buffer]);
      this.frame = new Int16Array(FRAME_SAMPLES);
      this.filled = 0;
      this.sumSquares = 0;
    }
  }
}

registerProcessor("vivavoce-capture", CaptureProcessor);
