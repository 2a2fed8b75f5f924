// The interview room: microphone -> /voice -> interviewer's voice and live transcript.

import { $, show, setText, formatClock } from "./dom.js";
import { candidateMessage, causeOf, serverErrorMessage, LOST_AND_ENDED, TIME_UP_ON_RETURN } from "./candidate-errors.js";
import { openMicrophone, MicrophoneError } from "./microphone.js";
import { PcmPlayer } from "./player.js";
import { RoomMedia } from "./room-media.js";
import { LevelMeter } from "./level-meter.js";
import { showSpeaker } from "./room-status.js";
import { ConfirmDialog } from "./confirm-dialog.js";
import { ConnectionNotice } from "./connection-notice.js";
import { StallWatch } from "./stall-watch.js";
import { VoiceConnection } from "./voice-connection.js";
import { LiveTranscript } from "./transcript.js";
import { loadInterview } from "./room-continue.js";
import { candidateContext, linkAddress, resultsUrl, wsUrl } from "./room-links.js";

const START_TIMEOUT_MS = 15000; // the original client's limit for the start acknowledgement
const END_TIMEOUT_MS = 8000;
// The relay cuts the interviewer's reply at the last position we reported when the
// candidate barges in; report often so that cut is close to what was really heard.
const POSITION_EVERY_MS = 100;

const main = $("#main");
const ui = {
  begin: $("#begin-button"),
  beginPanel: $("#begin-panel"),
  mute: $("#mute-button"),
  end: $("#end-button"),
  speaker: $("#speaker"),
  speakerLabel: $("#speaker-label"),
  elapsed: $("#elapsed"),
  limit: $("#limit"),
  error: $("#room-error"),
  errorText: $("#room-error-text"),
  errorRef: $("#room-error-ref"),
  retry: $("#retry-button"),
  retryPanel: $("#retry-panel"),
  retryText: $("#retry-text"),
  retryLink: $("#retry-link"),
  retryAgain: $("#retry-again-button"),
  ended: $("#ended-panel"),
  endedText: $("#ended-text"),
  resultsLink: $("#results-link"),
  controls: $("#controls"),
  mic: $("#room-mic"),
};

const simulator = main.dataset.simulator === "true";
const notice = new ConnectionNotice($("#connection"), $("#connection-text"), $("#connection-progress"));
const meter = new LevelMeter($("#room-meter-fill"), $("#room-mic-level"));

const state = {
  token: main.dataset.token || "",
  interviewId: main.dataset.interviewId || "",
  limitSeconds: Number(main.dataset.maxSeconds) || 1800,
  phase: "ready",
  muted: false,
  startedAt: null,
  candidateSpeaking: false,
  context: null,
  mic: null,
  player: null,
  media: null, // the relay or a WebRTC call (room-media.js)
  conn: null,
  // In simulator mode the candidate's lines are the simulator's examples, not their words.
  transcript: new LiveTranscript($("#transcript"), {
    scroller: $(".transcript-card"),
    candidateLabel: simulator ? "You (example line)" : undefined,
  }),
  timers: { start: null, end: null, clock: null, position: null, notice: null },
  busyRetries: 0, // starts tried again after a refusal by the server's limits
  lastReportedMs: -1,
  // A link whose interview is already live (the page was reloaded or reopened after a
  // drop): when it started, so the clock goes on from there as the relay's does.
  resumeStartedAt: null,
  seenItemIds: [], // transcript lines shown, named on a reconnect to get what was missed
};

// While live, pings the server; a silent connection is flagged, then reopened (issue 13).
const stall = new StallWatch({
  send: (message) => Boolean(state.conn && state.conn.send(message)),
  onUnstable: () => (notice.unstable(), setSpeaker("unstable")),
  onStable: () => (notice.hide(), refreshSpeaker()),
  onDead: () => state.conn && state.conn.reconnectNow(),
});

function setPhase(phase) {
  state.phase = phase;
  main.dataset.phase = phase;
}

function setSpeaker(who) {
  showSpeaker(ui.speaker, ui.speakerLabel, who, { muted: state.muted });
}

function refreshSpeaker() {
  if (state.phase !== "live") return;
  if (stall.unstable) setSpeaker("unstable"); // never "You are speaking" into nothing
  else if (interviewerPlaying()) setSpeaker("interviewer");
  else if (state.candidateSpeaking && !state.muted) setSpeaker("candidate");
  else setSpeaker(ui.speaker.dataset.speaker === "thinking" ? "thinking" : "listening");
}

function showError(code, words, { fatal = true, cause = "" } = {}) {
  // `words` are chosen for the candidate (serverErrorMessage); a server error's `hint` is
  // for the operator and never shown here. The reference names the cause when there is
  // one: it is what `vivavoce doctor` and the operator's setup page call the problem.
  setText(ui.errorText, words || candidateMessage(code));
  const reference = cause || code;
  setText(ui.errorRef, reference ? `Reference for the organiser: ${reference}` : "");
  ui.error.dataset.code = code || "";
  ui.error.dataset.cause = cause;
  ui.error.classList.toggle("transient", !fatal);
  show(ui.error, true);
  clearTimeout(state.timers.notice);
  if (!fatal) state.timers.notice = setTimeout(() => show(ui.error, false), 8000);
}

function interviewerPlaying() {
  return Boolean((state.player && state.player.playing) || (state.media && state.media.playing));
}

async function sendStart() {
  const context = candidateContext(state.interviewId);
  const track = state.mic && state.mic.stream.getAudioTracks()[0];
  // With WebRTC, the call's offer (protocol.md "WebRTC"); null: a newer start took over.
  const media = await state.media.startFields(track);
  if (media === null || !(state.phase === "starting" || state.phase === "reconnecting")) return;
  const message = { type: "start_interview", ...media };
  if (context) message.candidateContext = context;
  if (state.interviewId) message.interview_id = state.interviewId;
  if (state.phase === "reconnecting") message.seen_item_ids = state.seenItemIds.slice(-400);
  state.conn.send(message);
  clearTimeout(state.timers.start);
  state.timers.start = setTimeout(() => {
    if (state.phase === "starting") fail("start_timeout");
    else if (state.phase === "reconnecting") fail("network");
  }, START_TIMEOUT_MS);
}

function reportPosition(force = false) {
  // The relay's play head; on WebRTC, OpenAI cuts a barged-in reply where it stopped.
  if (!state.player || !state.conn || !state.media.relayed) return;
  const ms = state.player.positionMs();
  if (!force && ms === state.lastReportedMs) return;
  state.lastReportedMs = ms;
  state.conn.send({ type: "playback_position", ms });
}

function isOver() {
  return state.phase === "ended" || state.phase === "failed" || state.phase === "retry";
}

function onAudio(buffer) {
  if (isOver() || !state.player) return;
  state.player.enqueue(buffer);
  main.dataset.aiSamples = String(state.player.stats.samplesScheduled);
}

// The relay's player or the WebRTC call's voice (room-media.js) started or stopped.
function onPlayingChange() {
  const playing = interviewerPlaying();
  main.dataset.playing = String(playing);
  clearInterval(state.timers.position);
  state.timers.position = null;
  if (state.player.playing) state.timers.position = setInterval(() => reportPosition(), POSITION_EVERY_MS);
  else reportPosition(true);
  if (!playing && ui.speaker.dataset.speaker === "interviewer") setSpeaker("listening");
  refreshSpeaker();
}

function shown(turn, speaker) {
  state.transcript.final(speaker, turn.text);
  if (turn.item_id) state.seenItemIds.push(String(turn.item_id));
}

function onJson(message) {
  switch (message.type) {
    case "connected":
      if (state.phase === "starting" || state.phase === "reconnecting") sendStart();
      break;
    case "interview_starting":
      clearTimeout(state.timers.start);
      setSpeaker("starting");
      break;
    case "webrtc_answer":
      state.media.answer(message);
      break;
    case "webrtc_fallback": // the call did not connect: the same interview, relayed
      state.media.fallback(message);
      break;
    case "interview_started":
      clearTimeout(state.timers.start);
      state.media.started(message);
      if (state.busyRetries > 0) notice.hide();
      goLive(message);
      break;
    case "ai_transcription":
      if (message.is_final) shown(message, "interviewer");
      else state.transcript.delta("interviewer", message.text);
      break;
    case "student_speech_started":
      state.candidateSpeaking = true;
      state.transcript.candidateStarted();
      refreshSpeaker();
      break;
    case "student_transcription_delta":
      state.transcript.delta("candidate", message.text);
      break;
    case "student_transcription":
      if (message.is_final === false) {
        state.transcript.delta("candidate", message.text);
      } else {
        shown(message, "candidate");
        if (state.candidateSpeaking) {
          state.candidateSpeaking = false;
          setSpeaker("thinking");
          refreshSpeaker();
        }
      }
      break;
    case "ai_audio_clear": {
      // Barge-in: silence now. The relay has already cut the reply where we last said
      // we were; our play head jumps to the end of what we received, as does its own.
      if (state.player) {
        main.dataset.heardBeforeClearMs = String(state.player.clear());
        main.dataset.clears = String(state.player.stats.clears);
        state.lastReportedMs = state.player.positionMs();
      }
      break;
    }
    case "pong":
      stall.pong();
      break;
    case "missed_turns": // said while this browser was cut off (protocol.md)
      for (const turn of message.turns || []) shown(turn, turn.speaker);
      break;
    case "error":
      onServerError(message);
      break;
    case "interview_ended":
      if (message.retryable === true) offerRetry();
      else finish(message);
      break;
    default:
      break; // the protocol grows: ignore what we do not know
  }
}

// How many times a start refused by the server's limits (busy, too many connections) is
// tried again on its own before the room offers "Try again" instead.
const BUSY_RETRIES = 5;

/**
 * A refusal by the server's limits (`retryable: true` with `retry_after_s`, then close
 * 1013; protocol.md "Refusals"): before the interview is live, wait the time the server
 * asks, counting down, then start again on a fresh connection — a bounded number of
 * times. Returns false when this is not such a refusal, or the retries are used up.
 */
function waitWhenBusy(message) {
  const after = Number(message.retry_after_s);
  if (message.retryable !== true || message.retry_after_s == null || !Number.isFinite(after)) return false;
  if (!(state.phase === "starting" || state.phase === "reconnecting")) return false;
  if (state.busyRetries >= BUSY_RETRIES) return false;
  state.busyRetries += 1;
  main.dataset.busyRetries = String(state.busyRetries);
  clearTimeout(state.timers.start);
  if (state.conn) state.conn.finish(); // no automatic reconnect: the wait is the server's
  notice.busy(after, () => {
    state.conn.finished = false; // the same connection object, opened afresh
    state.conn.connect(); // its `connected` sends the start again (onJson)
  });
  return true;
}

function onServerError(message) {
  const code = message.code || "error";
  if (waitWhenBusy(message)) return;
  if (code === "interview_not_available" && state.startedAt !== null) {
    finish({ message: LOST_AND_ENDED });
    return;
  }
  if (code === "interview_not_available" && state.resumeStartedAt !== null) {
    finish({ message: TIME_UP_ON_RETURN });
    return;
  }
  if (code === "replaced") {
    // The same link was opened elsewhere and took the interview over (protocol.md): not a
    // problem and not the end; this window simply steps back.
    finish({ message: message.message || candidateMessage(code) }, { results: false });
    main.dataset.replaced = "true";
    return;
  }
  // The original protocol has no `fatal`: treat its errors as ending the interview
  // unless the interview is live and the server says it can go on.
  const fatal = message.fatal !== false;
  showError(code, serverErrorMessage(message), { fatal, cause: causeOf(message) });
  if (fatal && message.retryable === true) {
    offerRetry();
    return;
  }
  if (fatal) {
    clearTimeout(state.timers.start);
    stopAudio();
    setPhase("failed");
    setSpeaker("stopped");
    if (state.conn) state.conn.finish();
    ui.mute.disabled = true;
    ui.end.disabled = true;
    show(ui.controls, false);
    notice.hide();
    if (state.startedAt !== null && state.interviewId) {
      // It ended mid-way: what was said is stored and will be evaluated.
      state.transcript.dropEmptyDrafts();
      setText(ui.endedText, "What you said until then has been saved.");
      ui.resultsLink.href = resultsUrl(state.interviewId, state.token);
      show(ui.resultsLink, true);
      show(ui.ended, true);
    }
  }
}

function goLive(message) {
  const wasLive = state.startedAt !== null;
  setPhase("live");
  if (message.resumed) {
    main.dataset.resumed = String(Number(main.dataset.resumed || 0) + 1);
    notice.resumed();
  } else {
    notice.hide();
  }
  if (message.interview_id) state.interviewId = String(message.interview_id);
  const limit = Number(message.max_seconds || message.limit_seconds);
  if (limit > 0) state.limitSeconds = limit;
  setText(ui.limit, formatClock(state.limitSeconds));
  const elapsedMs = Number(message.elapsed_ms);
  if (!wasLive) {
    // The relay's clock runs from the interview's first start, also across a reload.
    const since = message.resumed && state.resumeStartedAt !== null ? state.resumeStartedAt : null;
    state.startedAt = since !== null ? Math.min(since, Date.now()) : Date.now() - (elapsedMs > 0 ? elapsedMs : 0);
    main.dataset.clockFrom = String(Math.round(state.startedAt));
    state.timers.clock = setInterval(tick, 1000);
    window.addEventListener("beforeunload", warnBeforeLeaving);
  }
  ui.mute.disabled = false;
  ui.end.disabled = false;
  setSpeaker("listening");
  stall.start();
  refreshSpeaker();
  tick();
}

function tick() {
  if (state.startedAt === null) return;
  const elapsed = (Date.now() - state.startedAt) / 1000;
  setText(ui.elapsed, formatClock(Math.min(elapsed, state.limitSeconds)));
  // One announcement, a minute before the end (the relay ends the interview at the limit).
  const note = $("#time-note");
  if (state.limitSeconds - elapsed <= 60 && !note.textContent && state.phase === "live") {
    setText(note, "About one minute left");
  }
}

function warnBeforeLeaving(event) {
  if (state.phase === "live") {
    event.preventDefault();
    event.returnValue = "";
  }
}

function stopAudio() {
  stall.stop();
  clearInterval(state.timers.clock);
  clearInterval(state.timers.position);
  if (state.player) state.player.clear();
  if (state.media) state.media.close();
  if (state.mic) state.mic.stop();
  state.mic = null;
  meter.reset();
  endDialog.close();
}

function finish(message, { results = true } = {}) {
  if (state.phase === "ended") return;
  clearTimeout(state.timers.end);
  reportPosition(true);
  stopAudio();
  state.transcript.dropEmptyDrafts();
  setPhase("ended");
  setSpeaker("ended");
  window.removeEventListener("beforeunload", warnBeforeLeaving);
  if (state.conn) state.conn.finish();
  ui.mute.disabled = true;
  ui.end.disabled = true;
  show(ui.controls, false); // nothing left to mute or end
  notice.hide();
  if (message && message.message) setText(ui.endedText, message.message);
  if (!results) {
    setText($("#ended-heading"), "The interview moved");
    setSpeaker("moved");
  }
  if (results && state.interviewId) {
    ui.resultsLink.href = resultsUrl(state.interviewId, state.token);
    show(ui.resultsLink, true);
  } else {
    show(ui.resultsLink, false);
  }
  show(ui.ended, true);
  ui.ended.scrollIntoView({ block: "nearest" });
  // The controls that had focus are gone; the next step is the results.
  if (!ui.resultsLink.hidden) ui.resultsLink.focus({ preventScroll: true });
}

/**
 * The server stopped this attempt but kept the interview for the same link (`retryable`
 * on `error` and `interview_ended`, protocol.md): the organiser fixes the service, or
 * OpenAI's trouble passes. Not the final ended state: no results, but the link's address
 * to keep and "Try again", which reloads the page (it then offers to begin, or to
 * continue an interview that had gone live).
 */
function offerRetry() {
  if (state.phase === "retry") return;
  clearTimeout(state.timers.start);
  clearTimeout(state.timers.end);
  stopAudio();
  state.transcript.dropEmptyDrafts();
  setPhase("retry");
  setSpeaker("paused");
  window.removeEventListener("beforeunload", warnBeforeLeaving);
  if (state.conn) state.conn.finish();
  ui.mute.disabled = true;
  ui.end.disabled = true;
  show(ui.controls, false);
  notice.hide();
  show(ui.ended, false);
  show(ui.retry, false);
  ui.error.dataset.retryable = "true";
  const wasLive = state.startedAt !== null || state.resumeStartedAt !== null;
  setText(
    ui.retryText,
    wasLive
      ? "What you said so far has been saved. Open this same link again later to continue where you stopped."
      : "Open this same link again later to start it.",
  );
  ui.retryLink.value = linkAddress();
  show(ui.retryPanel, true);
  ui.retryPanel.scrollIntoView({ block: "nearest" });
  // The controls that had focus are gone; the next step is to come back.
  ui.retryAgain.focus({ preventScroll: true });
}

function fail(code) {
  stopAudio();
  if (state.conn) state.conn.finish();
  setPhase("failed");
  setSpeaker("stopped");
  showError(code);
  ui.mute.disabled = true;
  ui.end.disabled = true;
  show(ui.controls, false);
  // Only a lost connection or a slow start may go better on a second try; a refused
  // link or a setup problem will not.
  ui.retry.hidden = !(code === "network" || code === "start_timeout");
}

function onLevel(level) {
  // Muted, the bar stays empty: a moving bar would say the interviewer hears it.
  meter.set(state.muted ? 0 : level);
}

function onFrame(buffer) {
  if (state.phase !== "live" || state.muted || !state.conn || !state.media.relayed) return;
  if (state.conn.sendAudio(buffer)) main.dataset.micBytes = String(state.conn.sentBytes);
}

async function begin() {
  ui.begin.disabled = true;
  show(ui.error, false);
  setPhase("connecting");
  setSpeaker("connecting");
  const Ctx = window.AudioContext || window.webkitAudioContext;
  try {
    if (!Ctx) throw new MicrophoneError("audio_unsupported", "no AudioContext");
    state.context = state.context || new Ctx({ latencyHint: "interactive" });
    if (state.context.state === "suspended") await state.context.resume();
    state.mic = await openMicrophone({ context: state.context, onFrame, onLevel });
    state.player = await PcmPlayer.open(state.context, { onPlayingChange });
    state.media = new RoomMedia({
      transport: main.dataset.transport,
      main,
      context: state.context,
      element: $("#interviewer-audio"),
      send: (message) => Boolean(state.conn && state.conn.send(message)),
      onPlayingChange,
    });
  } catch (error) {
    if (state.mic) state.mic.stop();
    state.mic = null;
    setPhase("ready");
    setSpeaker("idle");
    showError(error instanceof MicrophoneError ? error.code : "audio_unsupported");
    ui.begin.disabled = false;
    return;
  }
  show(ui.beginPanel, false);
  ui.mute.disabled = false; // a candidate may want to be muted while the interviewer speaks
  // The focused Begin button is gone: keep keyboard users on the controls, not the page top.
  ui.mute.focus();
  setPhase("starting");
  state.conn = new VoiceConnection(wsUrl(state.token), {
    onOpen: ({ reconnected }) => {
      if (reconnected) {
        state.player.resetTimeline();
        state.lastReportedMs = -1;
        notice.reconnected();
      }
    },
    onJson,
    onAudio,
    onReconnecting: ({ attempt, maxAttempts, delayMs }) => {
      if (state.player) state.player.clear(); // a WebRTC call stays until the new start
      stall.stop();
      if (state.phase === "live") {
        setPhase("reconnecting");
        state.candidateSpeaking = false;
        setSpeaker("reconnecting");
      }
      notice.reconnecting({ attempt, maxAttempts, delayMs });
      main.dataset.reconnects = String(Number(main.dataset.reconnects || 0) + 1);
    },
    onLost: ({ code, reason, gaveUp }) => {
      notice.hide();
      if (isOver()) return;
      if (state.phase === "ending") {
        finish(null);
        return;
      }
      // The server refuses with an `error` first (handled above, so the room is over by
      // now) and closes 1008 with the error's code as the reason.
      fail(!gaveUp && code === 1008 && reason ? reason : "network");
    },
  });
  state.conn.connect();
}

function toggleMute() {
  state.muted = !state.muted;
  ui.mute.setAttribute("aria-pressed", String(state.muted));
  setText(ui.mute, state.muted ? "Unmute microphone" : "Mute microphone");
  main.dataset.muted = String(state.muted);
  if (state.media) state.media.setMuted(state.muted);
  ui.mic.dataset.muted = String(state.muted);
  setText($("#room-mic-label"), state.muted ? "Your microphone (muted)" : "Your microphone");
  if (state.muted) meter.reset();
  if (state.phase === "live") refreshSpeaker();
}

// "End interview" asks first; called off, focus returns to the End button.
const endDialog = new ConfirmDialog($("#end-dialog"), {
  confirm: $("#end-confirm"),
  cancel: $("#end-cancel"),
  onConfirm: () => endInterview(),
  returnFocus: () => (state.phase === "live" || state.phase === "reconnecting" ? ui.end : null),
});

function askToEnd() {
  if (state.phase === "live" || state.phase === "reconnecting") endDialog.open();
}

function endInterview() {
  if (state.phase !== "live" && state.phase !== "reconnecting") return;
  setPhase("ending");
  ui.end.disabled = true;
  setText(ui.speakerLabel, "Ending the interview…");
  if (!state.conn || !state.conn.send({ type: "end_interview" })) {
    finish(null);
    return;
  }
  state.timers.end = setTimeout(() => finish(null), END_TIMEOUT_MS);
}

ui.begin.addEventListener("click", begin);
window.addEventListener("pagehide", () => state.media && state.media.close());
ui.mute.addEventListener("click", toggleMute);
ui.end.addEventListener("click", askToEnd);
ui.retry.addEventListener("click", () => location.reload());
ui.retryAgain.addEventListener("click", () => location.reload());
// One click selects the whole address, ready to copy.
ui.retryLink.addEventListener("focus", () => ui.retryLink.select());
setSpeaker("idle");
show(ui.resultsLink, false);
loadInterview({ state, ui, main, setPhase, setSpeaker });
