// Which way the room's audio goes (protocol.md "WebRTC"): the relay — PCM frames on the
// /voice socket both ways, as the original protocol has it — or a WebRTC call — the
// microphone track straight to OpenAI and the interviewer's voice on the call's remote
// track, /voice carrying only the interview's messages.
//
// The page's `data-transport` (the server's VIVAVOCE_TRANSPORT) says whether the room may
// offer WebRTC; the server decides. The mode is "offering" from the offer until the
// server answers `interview_started`: with `transport: "webrtc"` the call carries the
// audio; anything else (`"relay"`, no field from a server that ignores offers) or a
// `webrtc_fallback` at any time closes the call and the room relays, on the same socket
// and without a second start_interview.
//
// `main`'s data-* attributes, read by the browser tests: data-media (relay | offering |
// webrtc), data-webrtc-state (connected | failed | disconnected | closed),
// data-fallback-reason.

import { offersWebrtc, WebrtcLink } from "./webrtc-link.js";
import { RemoteVoice } from "./remote-voice.js";

export class RoomMedia {
  /**
   * @param {{transport: string, main: HTMLElement, context: AudioContext,
   *   element: HTMLAudioElement, send: (message: object) => boolean,
   *   onPlayingChange: (playing: boolean) => void}} options
   */
  constructor({ transport, main, context, element, send, onPlayingChange }) {
    this.offers = offersWebrtc(transport);
    this.main = main;
    this.send = send;
    this.voice = new RemoteVoice(context, element, { onPlayingChange });
    this.link = null;
    this.muted = false;
    this.use("relay");
  }

  use(mode) {
    this.mode = mode;
    this.main.dataset.media = mode;
  }

  /** True when the microphone goes up as PCM frames on /voice (the relay). */
  get relayed() {
    return this.mode === "relay";
  }

  /** The interviewer's voice is playing on the call's track. */
  get playing() {
    return this.voice.playing;
  }

  /**
   * What `start_interview` adds: `{webrtc: {sdp}}` with a fresh offer when the room
   * offers WebRTC, else nothing (the relay). Any earlier call is closed first (a start
   * after a reconnect makes a new one). Resolves to null when another start replaced this
   * one while it gathered: that start is not to be sent.
   * @param {MediaStreamTrack | undefined} track the microphone
   */
  async startFields(track) {
    this.close();
    if (!this.offers || !track) return {};
    let link;
    try {
      link = new WebrtcLink(track, {
        onState: (state) => this.stateOf(link, state),
        onTrack: (stream) => link === this.link && this.voice.attach(stream),
      });
      this.link = link;
      link.setMuted(this.muted);
      this.use("offering");
      const sdp = await link.offer();
      if (link !== this.link) return null;
      return { webrtc: { sdp } };
    } catch {
      // No usable peer connection here after all: the original protocol, relayed.
      if (link && link !== this.link) return null;
      this.close();
      return {};
    }
  }

  /** The server's `webrtc_answer`. */
  answer(message) {
    if (this.link && this.mode === "offering") this.link.accept(message.sdp);
  }

  stateOf(link, state) {
    if (link !== this.link) return;
    this.main.dataset.webrtcState = state;
    this.send({ type: "webrtc_state", state });
  }

  /** `interview_started`: its `transport` says which way the audio goes from now on. */
  started(message) {
    if (message.transport === "webrtc" && this.link) {
      this.use("webrtc");
    } else if (!this.relayed) {
      this.close();
    }
  }

  /** `webrtc_fallback`: the call is over; the same interview goes on over the relay. */
  fallback(message) {
    this.main.dataset.fallbackReason = String(message.reason || "");
    this.close();
  }

  setMuted(muted) {
    this.muted = muted;
    if (this.link) this.link.setMuted(muted);
  }

  /** Close the call, if any (the end, an error, a reconnect, leaving the page); relay. */
  close() {
    if (this.link) {
      this.link.close();
      this.link = null;
      this.main.dataset.webrtcState = "closed";
    }
    this.voice.detach();
    this.use("relay");
  }
}
