// The room before Begin: the interview's record greets the candidate and sets the time
// limit. Reopening a link whose interview is live (a reload, a closed tab, another
// device): the room greets the candidate back, runs its clock from the interview's start
// and shows the lines said so far before "Continue the interview".

import { $, show, setText, formatClock } from "./dom.js";
import { api } from "./api.js";
import { resultsUrl } from "./room-links.js";
import { readTurns } from "./shapes.js";

/** Before Begin: greet the candidate, apply this interview's own time limit, and do not
 * offer to begin an interview that has already taken place. */
export async function loadInterview({ state, ui, main, setPhase, setSpeaker }) {
  if (!state.interviewId || !state.token) return;
  let record;
  try {
    record = await api(`/api/interviews/${encodeURIComponent(state.interviewId)}`, { token: state.token });
  } catch {
    return; // the relay gives the definitive answer when the candidate begins
  }
  const limit = Number(record.settings && record.settings.max_duration_s);
  if (limit > 0 && state.phase === "ready") {
    state.limitSeconds = limit;
    setText(ui.limit, formatClock(limit));
  }
  const name = record.candidate && record.candidate.name;
  if (name) setText($("#welcome"), `Welcome, ${name}.`);
  if (record.status === "live" && state.phase === "ready") await offerToContinue(record, name, { state, ui, main });
  if (record.status === "ended" || record.status === "failed") {
    show(ui.beginPanel, false);
    setPhase("ended");
    setSpeaker("ended");
    setText(ui.endedText, "This interview has already taken place.");
    ui.resultsLink.href = resultsUrl(state.interviewId, state.token);
    show(ui.resultsLink, true);
    show(ui.ended, true);
  }
}

/** The link's interview is already under way (this page was reloaded, or the browser
 * lost it): show what was said so far and offer to continue; the relay resumes it. */
export async function offerToContinue(record, name, { state, ui, main }) {
  const started = Date.parse(record.started_at || "");
  if (Number.isFinite(started)) {
    state.resumeStartedAt = started;
    setText(ui.elapsed, formatClock(Math.min((Date.now() - started) / 1000, state.limitSeconds)));
  }
  setText($("#welcome"), name ? `Welcome back, ${name}.` : "Welcome back.");
  setText($("#begin-intro"), "Your interview was interrupted. It continues where it stopped, and the clock has kept running.");
  setText(ui.begin, "Continue the interview");
  main.dataset.continuing = "true";
  try {
    const body = await api(`/api/interviews/${encodeURIComponent(state.interviewId)}/transcript?format=json`, { token: state.token });
    if (state.phase !== "ready") return; // already begun: the live transcript is in charge
    for (const turn of readTurns(body)) state.transcript.final(turn.speaker, turn.text);
  } catch {
    // Only the earlier lines are missing; the interview itself can go on.
  }
}
