// The room's status line: who is speaking, in words, with the microphone's muted state.
//
// The label is a polite live region (room.html), so each change is announced; only a
// real change is written, so a state is announced once.

const SPEAKER_TEXT = {
  idle: "Ready when you are",
  connecting: "Connecting…",
  starting: "The interviewer is getting ready…",
  listening: "Your turn — the interviewer is listening",
  interviewer: "The interviewer is speaking",
  candidate: "You are speaking",
  muted: "Your microphone is muted — the interviewer cannot hear you",
  thinking: "The interviewer is thinking…",
  reconnecting: "Reconnecting…",
  unstable: "Connection unstable…",
  ended: "The interview is over",
  moved: "The interview continues elsewhere",
  stopped: "The interview has stopped",
  paused: "The interview is paused — your link still works",
};

// States in which the candidate's microphone matters: muted, the status says so (a
// muted candidate is never "speaking", and the interviewer's turn says it is muted too).
const MIC_STATES = new Set(["listening", "interviewer", "candidate", "thinking"]);

/**
 * Show `who` ("listening", "interviewer", …) in the status.
 * @param {HTMLElement} speaker the row (its data-speaker drives the dot's colour)
 * @param {HTMLElement} label the live region
 */
export function showSpeaker(speaker, label, who, { muted = false } = {}) {
  const isMuted = muted && MIC_STATES.has(who);
  const shown = isMuted && (who === "candidate" || who === "listening") ? "muted" : who;
  speaker.dataset.speaker = shown;
  speaker.dataset.muted = String(isMuted);
  let text = SPEAKER_TEXT[shown] || "";
  if (isMuted && shown !== "muted") text += " (your microphone is muted)";
  if (label.textContent !== text) label.textContent = text;
}
