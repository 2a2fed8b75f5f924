// Notices a stalled /voice connection during a live interview (issue 13).
//
// A socket can stay "open" while nothing flows (a dead Wi-Fi, a sleeping proxy): the
// browser would not notice for minutes, and the candidate would talk into nothing. So
// the room sends the protocol's `ping` every 2 s and watches for the `pong`s: after
// 3 s without one it says the connection is unstable, after 6 s it gives the socket up
// and reconnects with its link (the server resumes the interview). Pongs coming back
// before that clear the warning.

export const PING_EVERY_MS = 2000;
export const UNSTABLE_AFTER_MS = 3000;
export const DEAD_AFTER_MS = 6000;
const CHECK_EVERY_MS = 250;

export class StallWatch {
  /**
   * @param {object} hooks send(message) -> bool, onUnstable(), onStable(), onDead()
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.unstable = false;
    this.lastPong = 0;
    this.timers = [];
  }

  /** The interview is live on a (new) socket: start pinging and watching. */
  start() {
    this.stop();
    this.lastPong = Date.now();
    this.hooks.send({ type: "ping" });
    this.timers = [
      setInterval(() => this.hooks.send({ type: "ping" }), PING_EVERY_MS),
      setInterval(() => this.check(), CHECK_EVERY_MS),
    ];
  }

  /** A `pong` arrived: the connection works. */
  pong() {
    this.lastPong = Date.now();
    if (!this.unstable) return;
    this.unstable = false;
    this.hooks.onStable();
  }

  check() {
    const quietMs = Date.now() - this.lastPong;
    if (quietMs >= DEAD_AFTER_MS) {
      this.stop();
      this.hooks.onDead();
    } else if (quietMs >= UNSTABLE_AFTER_MS && !this.unstable) {
      this.unstable = true;
      this.hooks.onUnstable();
    }
  }

  /** Not live any more (ended, reconnecting, gave the socket up). */
  stop() {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.unstable = false;
  }
}
