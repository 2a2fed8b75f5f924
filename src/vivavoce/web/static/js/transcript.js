// The live transcript: interviewer and candidate lines, deltas settling into final text.
//
// The list is an aria-live region announcing additions only. A line's provisional text
// (the deltas) sits in an aria-hidden span; when the final text arrives it is added as a
// new span, so a screen reader reads each utterance once, complete, not every delta.
//
// The scroller (the transcript's box) follows the newest words while the reader is at its
// bottom; a reader who scrolled up to reread is left where they are until they come back
// down. Only the box scrolls, never the page around it.

import { el } from "./dom.js";

const LABELS = { interviewer: "Interviewer", candidate: "You" };
// How close to the bottom (px) still counts as "at the bottom": a line or so.
const FOLLOW_SLACK_PX = 48;

export class LiveTranscript {
  /**
   * @param {HTMLElement} list the <ol> the lines go into
   * @param {{candidateLabel?: string, scroller?: HTMLElement}} options `scroller`: the
   *   element that scrolls (default: the list itself)
   */
  constructor(list, { candidateLabel = LABELS.candidate, scroller = list } = {}) {
    this.list = list;
    this.scroller = scroller;
    this.labels = { ...LABELS, candidate: candidateLabel || LABELS.candidate };
    this.open = { interviewer: null, candidate: null }; // lines still receiving deltas
    this.following = true;
    scroller.addEventListener("scroll", () => {
      this.following = this.distanceFromBottom() <= FOLLOW_SLACK_PX;
    }, { passive: true });
  }

  distanceFromBottom() {
    const box = this.scroller;
    return box.scrollHeight - box.scrollTop - box.clientHeight;
  }

  line(speaker) {
    let line = this.open[speaker];
    if (!line) {
      const draft = el("span", { class: "draft", "aria-hidden": "true" });
      line = el(
        "li",
        { class: `turn turn-${speaker}`, dataset: { speaker, final: "false" } },
        el("span", { class: "who" }, this.labels[speaker]),
        draft,
      );
      line.draft = draft;
      this.list.append(line);
      this.open[speaker] = line;
    }
    return line;
  }

  /** The candidate started speaking: reserve their line now, so it stays in order even
   * though the transcript arrives after the interviewer has started answering. */
  candidateStarted() {
    const line = this.line("candidate");
    if (!line.draft.textContent) line.draft.textContent = "…";
    line.classList.add("listening");
    this.scroll();
  }

  delta(speaker, text) {
    if (!text) return;
    const line = this.line(speaker);
    if (line.draft.textContent === "…") line.draft.textContent = "";
    line.draft.textContent += text;
    this.scroll();
  }

  final(speaker, text) {
    const trimmed = (text || "").trim();
    const line = this.open[speaker];
    this.open[speaker] = null;
    if (!trimmed) {
      // An empty final (silence, an idle nudge) is not a turn: drop the reserved line.
      if (line) line.remove();
      return;
    }
    const target = line || this.line(speaker);
    this.open[speaker] = null;
    target.draft.remove();
    target.classList.remove("listening");
    target.append(el("span", { class: "text" }, trimmed));
    target.dataset.final = "true";
    this.scroll();
  }

  /** Drop lines still waiting for words (speech that never became a transcript). */
  dropEmptyDrafts() {
    for (const speaker of Object.keys(this.open)) {
      const line = this.open[speaker];
      if (line && (line.draft.textContent === "…" || !line.draft.textContent.trim())) line.remove();
      else if (line) this.final(speaker, line.draft.textContent);
      this.open[speaker] = null;
    }
  }

  /** Keep the newest words in view: the bottom of the box, where the current line
   * grows (scrollIntoView would align a tall line by its top and hide its new words,
   * and would scroll the page too). */
  scroll() {
    if (!this.following) return;
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}
