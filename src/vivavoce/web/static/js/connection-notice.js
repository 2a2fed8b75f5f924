// The room's notice about the /voice connection: reconnecting (the attempt and a
// progress bar), reconnected, and "you are back", which goes away by itself.

import { show, setText } from "./dom.js";

const BACK_FOR_MS = 6000;

export class ConnectionNotice {
  /** @param {HTMLElement} panel  @param {HTMLElement} text  @param {HTMLProgressElement} progress */
  constructor(panel, text, progress) {
    this.panel = panel;
    this.text = text;
    this.progress = progress;
    this.timer = null;
  }

  hide() {
    clearTimeout(this.timer);
    show(this.panel, false);
    this.panel.classList.remove("ok");
  }

  reconnecting({ attempt, maxAttempts, delayMs }) {
    clearTimeout(this.timer);
    this.panel.classList.remove("ok");
    this.progress.hidden = false;
    show(this.panel, true);
    setText(
      this.text,
      `The connection dropped. Reconnecting (attempt ${attempt} of ${maxAttempts}, in ${Math.ceil(delayMs / 1000)} s)…`,
    );
    this.progress.max = maxAttempts;
    this.progress.value = attempt - 1;
  }

  /** No answer from the server for a few seconds (stall-watch.js). */
  unstable() {
    clearTimeout(this.timer);
    this.panel.classList.remove("ok");
    this.progress.hidden = true;
    show(this.panel, true);
    setText(this.text, "Connection unstable… Waiting for it to come back.");
  }

  reconnected() {
    this.progress.value = this.progress.max;
    setText(this.text, "Reconnected. Picking the interview up again…");
  }

  /** The relay picked the interview up again: say so for a few seconds. */
  resumed() {
    show(this.panel, true);
    this.panel.classList.add("ok");
    this.progress.hidden = true;
    setText(this.text, "You are back: the interview continues where it stopped.");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.hide(), BACK_FOR_MS);
  }
}
