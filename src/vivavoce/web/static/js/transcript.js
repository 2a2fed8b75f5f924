// The live transcript: interviewer and candidate lines, deltas settling into final text.
//
// The list is an aria-live region announcing additions only. A line's provisional text
// (the deltas) sits in an aria-hidden span; when the final text arrives it is added as a
// new span, so a screen reader reads each utterance once, complete, not every delta.

import { el } from "./dom.js";

const LABELS = { interviewer: "Interviewer", candidate: "You" };

export class LiveTranscript {
  constructor(list, { candidateLabel = LABELS.candidate } = {}) {
    this.list = list;
    this.labels = { ...LABELS, candidate: candidateLabel };
    this.open = { interviewer: null, candidate: null }; // lines still receiving deltas
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
  }

  delta(speaker, text) {
    if (!text) return;
    const line = this.line(speaker);
    if (line.draft.textContent === "…") line.draft.textContent = "";
    line.draft.textContent += text;
    this.scroll(line);
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
    this.scroll(target);
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

  scroll(line) {
    line.scrollIntoView({ block: "nearest" });
  }
}
