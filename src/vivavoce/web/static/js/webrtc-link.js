// The room's WebRTC peer (protocol.md "WebRTC"): the microphone on an RTCPeerConnection
// straight to OpenAI, and the interviewer's voice back on its remote track.
//
// The browser never talks to OpenAI's API: its offer goes to the server inside
// `start_interview`, the server places the call with its own key and sends the answer
// back on /voice (`webrtc_answer`). This module only makes the offer, applies the answer
// and says how the connection is doing (`webrtc_state`).

// Loopback and LAN hosts gather in milliseconds; a host whose only interface is loopback
// (and a browser without --allow-loopback-in-peer-connection) never completes, so the
// offer goes with what was gathered by then. A call that cannot connect falls back to the
// relay on the server's side.
const GATHER_TIMEOUT_MS = 3000;

/** Whether the room offers WebRTC: the page's `data-transport` allows it and the browser
 * has RTCPeerConnection. `relay`, or no attribute (an older server), never does. */
export function offersWebrtc(transport) {
  return (transport === "webrtc" || transport === "auto") && typeof window.RTCPeerConnection === "function";
}

export class WebrtcLink {
  /**
   * @param {MediaStreamTrack} track the microphone (a clone is sent, so muting the call
   *   does not silence the relay's capture after a fallback)
   * @param {{onState: (state: string) => void, onTrack: (stream: MediaStream) => void}} handlers
   *   onState gets "connected", "failed" or "disconnected" (the `webrtc_state` values),
   *   each change once; onTrack the interviewer's remote stream.
   */
  constructor(track, { onState, onTrack }) {
    this.onState = onState;
    this.reported = null;
    this.closed = false;
    // No ICE servers: the browser's own addresses only (nothing is asked of a third party).
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.track = track.clone();
    this.pc.addTrack(this.track, new MediaStream([this.track]));
    // OpenAI's event channel; the server follows the call over its sideband, so the room
    // only opens it (the call expects one).
    this.channel = this.pc.createDataChannel("oai-events");
    this.pc.ontrack = (event) => {
      if (!this.closed) onTrack(event.streams[0] || new MediaStream([event.track]));
    };
    this.pc.onconnectionstatechange = () => this.stateChanged();
  }

  get connectionState() {
    return this.closed ? "closed" : this.pc.connectionState;
  }

  /** The offer SDP, with the candidates gathered (there is no trickle on /voice). */
  async offer() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await this.gathered();
    return this.pc.localDescription.sdp;
  }

  gathered() {
    if (this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.pc.iceGatheringState === "complete" || this.closed) done();
      };
      const done = () => {
        clearTimeout(timer);
        this.pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      };
      const timer = setTimeout(done, GATHER_TIMEOUT_MS);
      this.pc.addEventListener("icegatheringstatechange", check);
    });
  }

  /** Apply the server's `webrtc_answer`. An answer the browser cannot use is reported as
   * `failed`, so the server falls back to the relay at once instead of waiting. */
  async accept(sdp) {
    if (this.closed) return;
    try {
      await this.pc.setRemoteDescription({ type: "answer", sdp: String(sdp || "") });
    } catch {
      this.report("failed");
    }
  }

  stateChanged() {
    if (this.closed) return;
    const state = this.pc.connectionState;
    if (state === "connected" || state === "failed") this.report(state);
    else if (state === "disconnected" && this.reported === "connected") this.report("disconnected");
  }

  report(state) {
    if (this.closed || state === this.reported) return;
    this.reported = state;
    this.onState(state);
  }

  /** Muted, the call's track sends silence (the interviewer hears nothing). */
  setMuted(muted) {
    this.track.enabled = !muted;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    try {
      this.channel.close();
      this.pc.close();
    } finally {
      this.track.stop();
    }
  }
}
