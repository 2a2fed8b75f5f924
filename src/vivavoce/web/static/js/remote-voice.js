// The interviewer's voice on WebRTC: the call's remote track played by an <audio>
// element (the browser's own jitter buffer and echo cancellation apply), and its level
// watched through a WebAudio analyser, so the room can say when the interviewer speaks
// as it does from its player on the relay.

const POLL_MS = 50;
// RMS above which the remote track is speech: the call sends digital silence (or comfort
// noise far below this) between replies.
const SPEAKING_LEVEL = 0.004;
// The interviewer has stopped once the track has been quiet this long (pauses between
// words and sentences are shorter).
const QUIET_MS = 600;

export class RemoteVoice {
  /**
   * @param {AudioContext} context the room's context (for the analyser only: the audio
   *   element does the playing)
   * @param {HTMLAudioElement} element
   * @param {{onPlayingChange?: (playing: boolean) => void}} handlers
   */
  constructor(context, element, { onPlayingChange = () => {} } = {}) {
    this.context = context;
    this.element = element;
    this.onPlayingChange = onPlayingChange;
    this.source = null;
    this.analyser = null;
    this.samples = null;
    this.timer = null;
    this.quietSince = 0;
    this.playing = false;
    this.heardMs = 0; // how long the interviewer's track has carried speech
  }

  /** Play `stream` (the call's remote stream) and watch its level. */
  attach(stream) {
    this.detach();
    this.element.srcObject = stream;
    // Begin was clicked, so the page may play; a refusal leaves the element paused and
    // the status never says "speaking" (the level stays 0): nothing to handle here.
    this.element.play().catch(() => {});
    this.source = this.context.createMediaStreamSource(stream);
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 1024;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  level() {
    if (!this.analyser) return 0;
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const x of this.samples) sum += x * x;
    return Math.sqrt(sum / this.samples.length);
  }

  poll() {
    const now = performance.now();
    if (this.level() >= SPEAKING_LEVEL) {
      this.heardMs += POLL_MS;
      this.quietSince = 0;
      this.setPlaying(true);
    } else if (this.playing) {
      if (!this.quietSince) this.quietSince = now;
      else if (now - this.quietSince >= QUIET_MS) this.setPlaying(false);
    }
  }

  setPlaying(playing) {
    if (this.playing === playing) return;
    this.playing = playing;
    this.onPlayingChange(playing);
  }

  /** Stop playing and watching (the call closed: a fallback, the end, a reconnect). */
  detach() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.source) this.source.disconnect();
    this.source = null;
    this.analyser = null;
    this.element.pause();
    this.element.srcObject = null;
    this.quietSince = 0;
    this.setPlaying(false);
  }
}
