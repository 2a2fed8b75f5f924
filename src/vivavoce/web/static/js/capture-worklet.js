// AudioWorklet processor: microphone samples (at the AudioContext's rate, often 48 kHz)
// -> mono PCM16 at 24 kHz, posted to the main thread in 40 ms frames with their level.
//
// Resampling is done here rather than by asking for AudioContext({sampleRate: 24000}),
// because not every browser can connect a microphone to a context of another rate. It is
// a windowed-sinc (Blackman, 32 taps) band-limited resampler with a precomputed table of
// fractional phases: linear interpolation alone would fold everything above 12 kHz back
// into the speech band when decimating from 48 kHz.

const TARGET_RATE = 24000;
const FRAME_SAMPLES = 960; // 40 ms at 24 kHz: small enough for low latency, few messages
const HALF = 16; // taps on each side of the output instant
const PHASES = 128; // fractional positions in the table (error well below 16-bit noise)

function buildTable(step) {
  // Cutoff in cycles per input sample: 90 % of the lower of the two Nyquist rates.
  const cutoff = 0.45 * Math.min(1, 1 / step);
  const table = [];
  for (let p = 0; p <= PHASES; p++) {
    const frac = p / PHASES;
    const row = new Float32Array(2 * HALF);
    let sum = 0;
    for (let k = 0; k < 2 * HALF; k++) {
      const t = k - HALF + 1 - frac; // distance from the output instant, in input samples
      const x = 2 * cutoff * t;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const w = 0.42 + 0.5 * Math.cos((Math.PI * t) / HALF) + 0.08 * Math.cos((2 * Math.PI * t) / HALF);
      row[k] = sinc * Math.max(0, w);
      sum += row[k];
    }
    for (let k = 0; k < row.length; k++) row[k] /= sum; // unity gain at DC
    table.push(row);
  }
  return table;
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    // `sampleRate` is the worklet scope's global: the context's rate.
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.table = buildTable(this.step);
    // Input history: buf[0] is input sample number `base`; it starts with HALF zeros so
    // the first outputs have a (silent) past.
    this.buf = new Float32Array(4096);
    this.base = -HALF;
    this.len = HALF;
    this.pos = 0; // input position (fractional) of the next output sample
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
    this.sumSquares = 0;
  }

  append(input, n) {
    if (this.len + n > this.buf.length) {
      const bigger = new Float32Array(Math.max(this.buf.length * 2, this.len + n));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    const channels = input.length;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let c = 0; c < channels; c++) v += input[c][i];
      this.buf[this.len + i] = v / channels;
    }
    this.len += n;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || !input[0]) return true;
    this.append(input, input[0].length);
    const last = this.base + this.len - 1; // newest input sample number
    for (;;) {
      let i = Math.floor(this.pos);
      let phase = Math.round((this.pos - i) * PHASES);
      if (phase === PHASES) {
        i += 1;
        phase = 0;
      }
      if (i + HALF > last) break; // needs input that has not arrived yet
      const row = this.table[phase];
      const start = i - HALF + 1 - this.base;
      let acc = 0;
      for (let k = 0; k < 2 * HALF; k++) acc += this.buf[start + k] * row[k];
      this.push(acc);
      this.pos += this.step;
    }
    // Forget input no future output can reach.
    const keepFrom = Math.floor(this.pos) - HALF + 1;
    const drop = keepFrom - this.base;
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.base += drop;
      this.len -= drop;
    }
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
