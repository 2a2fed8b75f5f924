// Error codes and causes from /voice and the API, in words a candidate understands. The
// server's operator hint is never shown on a candidate screen, only the cause (or code) as
// a reference to pass on.

const SETUP_PROBLEM =
  "The interview service is not set up correctly at the moment, so the interview cannot run. " +
  "This is not something you did. Please tell the person who invited you; they can fix it.";
const BUSY =
  "The interview service is very busy right now. Please wait a minute and try again.";
const OUTAGE =
  "The interview service is having trouble right now. Please try again in a few minutes.";

const MESSAGES = {
  invalid_api_key: SETUP_PROBLEM,
  missing_api_key: SETUP_PROBLEM,
  no_api_key: SETUP_PROBLEM,
  account_deactivated: SETUP_PROBLEM,
  insufficient_quota: SETUP_PROBLEM,
  insufficient_permissions: SETUP_PROBLEM,
  missing_scopes: SETUP_PROBLEM,
  mismatched_organization: SETUP_PROBLEM,
  mismatched_project: SETUP_PROBLEM,
  model_not_found: SETUP_PROBLEM,
  no_realtime_access: SETUP_PROBLEM,
  realtime_forbidden: SETUP_PROBLEM,
  beta_api_shape_disabled: SETUP_PROBLEM,
  unsupported_country_region_territory:
    "The interview service cannot be used from this location. Please tell the person who invited you.",
  rate_limit_exceeded: BUSY,
  rate_limited: BUSY,
  too_many_interviews: BUSY,
  capacity: BUSY,
  server_error: OUTAGE,
  upstream_error: OUTAGE,
  upstream_unavailable: OUTAGE,
  upstream_closed: OUTAGE,
  internal_error: OUTAGE,
  unavailable: OUTAGE,
  budget_exhausted:
    "The interview service has reached its spending limit for now. Your link still works: " +
    "please try again later.",
  budget_exceeded: "This interview reached its usage limit and has been stopped. Thank you for your time.",
  max_duration: "The time for this interview is up. Thank you!",
  time_limit: "The time for this interview is up. Thank you!",
  idle_timeout: "The interview was stopped because we did not hear anything for a while.",
  token_invalid: "This interview link is not valid. Please check it, or ask for a new one.",
  token_expired: "This interview link has expired. Please ask for a new one.",
  token_required: "This interview needs a personal link. Please use the link you were sent.",
  interview_not_available: "This interview has already taken place. Please ask for a new link.",
  invalid_token: "This interview link is not valid. Please check it, or ask for a new one.",
  unauthorized: "This interview link is not valid. Please check it, or ask for a new one.",
  not_found: "We could not find this interview. Please check your link, or ask for a new one.",
  interview_not_found: "We could not find this interview. Please check your link, or ask for a new one.",
  interview_ended: "This interview has already finished.",
  already_ended: "This interview has already finished.",
  already_connected: "This interview is already open in another window or tab. Close it there first.",
  interview_in_progress: "This interview is already open in another window or tab. Close it there first.",
  replaced: "This interview continues in another window or tab.",
  start_timeout: "The interview did not start in time. Please try again.",
  network: "We lost the connection to the interview service. Check your internet connection and try again.",
  microphone_denied:
    "Your browser did not let us use the microphone. Allow microphone access for this site " +
    "(usually through the icon in the address bar), then try again.",
  microphone_missing: "We could not find a microphone. Connect one and try again.",
  audio_unsupported:
    "This browser cannot record audio for the interview. Please use a recent Chrome, Edge, Firefox or Safari.",
  invalid_input: "Some details are missing or not valid. Please check the form.",
};

const GENERIC = "Something went wrong with the interview. Please try again in a minute.";

// While the interview goes on (an `error` with `fatal: false`), words that say to carry
// on; "try again" would send the candidate away from an interview that is still running.
const BUSY_FOR_A_MOMENT = "The interviewer is busy for a moment. Please pause briefly, then carry on.";
const HICCUP = "The interviewer had a brief technical hiccup. Please carry on.";
const GOING_ON = new Map([
  [BUSY, BUSY_FOR_A_MOMENT],
  [OUTAGE, HICCUP],
]);

// The server's `cause` (the doctor's cause ids, protocol.md) says what went wrong more
// precisely than OpenAI's `code`. Listed here are the causes the room can word better
// than the server's generic sentence: trouble between the service and OpenAI, which is
// not the candidate's connection ("the connection was lost" suggests it is). These words
// are for an interview the failure has used up (the server ended it); one kept for the
// same link is marked `retryable` and worded by the server, which knows when to come
// back. Causes the operator fixes in the configuration (key, quota, access, model,
// region) are not listed: the server words those itself.
const CAUSES = {
  rate_limited: {
    stopped:
      "The AI interviewer is too busy right now, so the interview had to stop. This is not " +
      "something you did. Please tell the person who invited you.",
    goingOn: BUSY_FOR_A_MOMENT,
  },
  openai_unavailable: {
    stopped:
      "The AI service behind the interviewer is having trouble right now, so the interview " +
      "had to stop. This is not your internet connection or anything you did. Please tell " +
      "the person who invited you.",
    goingOn: HICCUP,
  },
  network_unreachable: {
    stopped:
      "The interview service cannot reach the AI interviewer right now, so the interview " +
      "had to stop. This is not your internet connection or anything you did. Please tell " +
      "the person who invited you.",
    goingOn: HICCUP,
  },
};

/** The candidate-facing sentence for an error code (never the server's operator text). */
export function candidateMessage(code) {
  return MESSAGES[code] || GENERIC;
}

/** The cause id of a server `error` message (top level, or `details.cause` as the first
 * vivavoce servers sent it), or "". */
export function causeOf(error) {
  const cause = error.cause || (error.details && error.details.cause);
  return typeof cause === "string" ? cause : "";
}

// A link's interview stopped but kept for the same link, when the server has no words.
const COME_BACK_LATER =
  "The interview cannot go on right now. This is not something you did, and your link " +
  "still works: please try again later with the same link.";

/**
 * The words for a server `error` message ({code, cause, message, fatal, retryable}): for
 * an interview kept for the same link (`retryable`), the server's sentence (it says when
 * to come back); otherwise by its cause where the room has better words for it, else the
 * server's own sentence for a cause it named, else by its code, else the server's
 * sentence, else a generic one. The operator `hint` is never used.
 */
export function serverErrorMessage(error) {
  const fatal = error.fatal !== false;
  const cause = causeOf(error);
  const server = typeof error.message === "string" ? error.message.trim() : "";
  if (fatal && error.retryable === true) return server || COME_BACK_LATER;
  const byCause = Object.hasOwn(CAUSES, cause) ? CAUSES[cause] : null;
  if (byCause) return fatal ? byCause.stopped : byCause.goingOn;
  if (cause && server) return server;
  const byCode = Object.hasOwn(MESSAGES, error.code) ? MESSAGES[error.code] : null;
  if (byCode) return fatal ? byCode : GOING_ON.get(byCode) || server || byCode;
  return server || GENERIC;
}

/** Whether the problem is the operator's to fix (retrying will not help the candidate). */
export function isSetupProblem(code) {
  return MESSAGES[code] === SETUP_PROBLEM;
}

// After a drop, the relay may refuse to continue an interview it has already closed
// (it ends the interview when the browser goes away). The candidate then needs to hear
// that what they said is kept, not that their link is used up.
export const LOST_AND_ENDED =
  "The connection was lost, so the interview ended early. Everything you said until then " +
  "has been saved, and you still get your feedback.";

// Reopened after a drop, but the relay will not resume it: its time is (nearly) up.
export const TIME_UP_ON_RETURN =
  "There is too little time left to continue this interview, so it has ended. Everything " +
  "you said has been saved, and you still get your feedback.";
