// The microphone: getUserMedia -> AudioWorklet (capture-worklet.js) -> PCM16 24 kHz frames.

export class MicrophoneError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "MicrophoneError";
    this.code = code;
  }
}

// Versioned with this module: import.meta.url carries the release's path (pages.py).
const WORKLET_URL = new URL("./capture-worklet.js", import.meta.url).href;

/**
 * Open the microphone. onFrame(ArrayBuffer) gets 40 ms of PCM16 24 kHz mono;
 * onLevel(0..1) gets each frame's RMS level. Pass `context` to share an AudioContext
 * (the room plays and records on one). Resolves to {context, stream, stop()} (`stream`:
 * the microphone's MediaStream, which the room also sends over WebRTC); rejects with a
 * MicrophoneError (code microphone_denied, microphone_missing or audio_unsupported).
 */
export async function openMicrophone({ onFrame = () => {}, onLevel = () => {}, context } = {}) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !Ctx || !window.AudioWorkletNode) {
    throw new MicrophoneError("audio_unsupported", "This browser cannot record audio.");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (error) {
    const name = error && error.name;
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
      throw new MicrophoneError("microphone_missing", "No usable microphone.");
    }
    throw new MicrophoneError("microphone_denied", "Microphone access was refused.");
  }
  const ownContext = !context;
  const ctx = context || new Ctx({ latencyHint: "interactive" });
  try {
    if (ctx.state === "suspended") await ctx.resume();
    await ctx.audioWorklet.addModule(WORKLET_URL);
  } catch (error) {
    stream.getTracks().forEach((t) => t.stop());
    if (ownContext) ctx.close();
    throw new MicrophoneError("audio_unsupported", "Could not start audio processing.");
  }
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, "vivavoce-capture", {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    channelCount: 1,
    channelCountMode: "explicit",
  });
  // The worklet only runs while it is pulled by the destination; route it there through a
  // muted gain so the candidate does not hear themselves.
  const sink = ctx.createGain();
  sink.gain.value = 0;
  node.port.onmessage = (event) => {
    const data = event.data;
    if (data && data.type === "frame") {
      onLevel(data.level);
      onFrame(data.buffer);
    }
  };
  source.connect(node);
  node.connect(sink);
  sink.connect(ctx.destination);
  let stopped = false;
  return {
    context: ctx,
    stream,
    stop() {
      if (stopped) return;
      stopped = true;
      node.port.onmessage = null;
      source.disconnect();
      node.disconnect();
      sink.disconnect();
      stream.getTracks().forEach((t) => t.stop());
      if (ownContext) ctx.close();
    },
  };
}
