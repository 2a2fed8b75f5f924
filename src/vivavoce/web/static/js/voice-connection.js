// The /voice WebSocket with automatic reconnection.
//
// A socket that drops without the interview being over (network blip, proxy restart,
// server deploy) is reopened with growing delays; the caller is told about each attempt
// so the page can show progress, and about the reopened socket so it can resume.

// Close codes after which trying again cannot help: normal close, policy violation
// (bad origin, bad token), message too big. The server uses no application (4xxx)
// codes: a refusal is an `error` message followed by 1008 (protocol.md).
function isFinalClose(code) {
  return code === 1000 || code === 1008 || code === 1009;
}

const MAX_BUFFERED_BYTES = 512 * 1024; // ~10 s of PCM16 24 kHz: beyond that, drop frames

export class VoiceConnection {
  /**
   * @param {string} url ws(s)://…/voice?token=…
   * @param {object} handlers onOpen({reconnected}), onJson(message), onAudio(ArrayBuffer),
   *   onReconnecting({attempt, maxAttempts, delayMs}), onLost({code, reason}) — gave up or
   *   a final close.
   */
  constructor(url, handlers, { maxAttempts = 6 } = {}) {
    this.url = url;
    this.handlers = handlers;
    this.maxAttempts = maxAttempts;
    this.attempt = 0;
    this.socket = null;
    this.finished = false; // the interview is over: a close is expected, never retried
    this.timer = null;
    this.everOpened = false;
    this.droppedFrames = 0;
    this.sentBytes = 0;
  }

  connect() {
    const socket = new WebSocket(this.url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    socket.onopen = () => {
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.attempt = 0;
      this.handlers.onOpen?.({ reconnected });
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          return; // not ours to interpret; the protocol says to ignore what we do not know
        }
        if (message && typeof message.type === "string") this.handlers.onJson?.(message);
      } else {
        this.handlers.onAudio?.(event.data);
      }
    };
    socket.onclose = (event) => this.closed(socket, event);
    // onerror is always followed by onclose, which decides what to do.
    socket.onerror = () => {};
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    if (this.finished) return;
    if (isFinalClose(event.code) || this.attempt >= this.maxAttempts) {
      this.handlers.onLost?.({ code: event.code, reason: event.reason, gaveUp: !isFinalClose(event.code) });
      return;
    }
    this.attempt += 1;
    const delayMs = Math.min(500 * 2 ** (this.attempt - 1), 8000);
    this.handlers.onReconnecting?.({ attempt: this.attempt, maxAttempts: this.maxAttempts, delayMs });
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.finished) this.connect();
    }, delayMs);
  }

  get open() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.open) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  /** Send one audio frame; dropped (and counted) when the socket is closed or backed up. */
  sendAudio(buffer) {
    if (!this.open || this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.droppedFrames += 1;
      return false;
    }
    this.socket.send(buffer);
    this.sentBytes += buffer.byteLength;
    return true;
  }

  /** The socket is stalled (stall-watch.js): give it up now and reconnect, without
   * waiting for a closing handshake that cannot get through. 4000: "stalled", ours. */
  reconnectNow() {
    const socket = this.socket;
    if (!socket || this.finished) return;
    socket.onclose = null;
    socket.onmessage = null;
    socket.close(4000, "stalled");
    this.closed(socket, { code: 1006, reason: "stalled" });
  }

  /** The interview is over: close without reconnecting. */
  finish(code = 1000, reason = "done") {
    this.finished = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close(code, reason);
  }
}
