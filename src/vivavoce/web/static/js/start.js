// The start page: candidate details (pre-filled from a résumé), a microphone check, and
// "Start interview", which creates the interview and opens its room.

import { $, show, setText } from "./dom.js";
import { api } from "./api.js";
import { candidateMessage } from "./candidate-errors.js";
import { openMicrophone, MicrophoneError } from "./microphone.js";
import { LevelMeter } from "./level-meter.js";

const form = $("#candidate-form");
const fileInput = $("#resume-file");
const resumeStatus = $("#resume-status");
const micButton = $("#mic-test");
const meter = new LevelMeter($("#mic-meter-fill"), $("#mic-level"));
const micStatus = $("#mic-status");
const formError = $("#form-error");
const startButton = $("#start-button");

// Résumé guesses -> form fields (first non-empty guess wins). The level comes in the
// form's own words (`level_label`, the server's list that also fills the datalist),
// never as the question bank's code; the field of study as written on the résumé.
const FIELD_MAP = {
  name: ["name"],
  major: ["major"],
  year: ["level_label"],
  skills: ["skills"],
  experience: ["experience"],
  education: ["education"],
};
const REQUIRED = ["name", "major", "year"];
const REQUIRED_WORDS = { name: "your name", major: "your field", year: "your level" };

function input(name) {
  return form.elements.namedItem(name);
}

async function uploadResume() {
  const file = fileInput.files && fileInput.files[0];
  if (!file) return;
  if (file.size > 5 * 1024 * 1024) {
    setText(resumeStatus, "That file is larger than 5 MB. Please choose a smaller one.");
    resumeStatus.dataset.kind = "error";
    return;
  }
  setText(resumeStatus, `Reading ${file.name}…`);
  resumeStatus.dataset.kind = "busy";
  const data = new FormData();
  data.append("file", file);
  try {
    const result = await api("/api/resume", { method: "POST", form: data });
    const filled = [];
    const fields = (result && result.fields) || {};
    for (const [to, sources] of Object.entries(FIELD_MAP)) {
      let value = sources.map((from) => fields[from]).find((v) => v && (!Array.isArray(v) || v.length));
      if (Array.isArray(value)) value = value.join(", ");
      // Never overwrite what the candidate already typed.
      if (value && !input(to).value.trim()) {
        input(to).value = String(value);
        filled.push(input(to).labels[0].textContent.replace(/\(.*\)/, "").trim());
      }
    }
    input("resume_text").value = (result && result.text) || "";
    updateMissing();
    setText(
      resumeStatus,
      filled.length
        ? `We read your résumé and filled in: ${filled.join(", ")}. Please check them.`
        : "We read your résumé. Please fill in the fields below.",
    );
    resumeStatus.dataset.kind = "ok";
  } catch (error) {
    // The API's message for a résumé problem is written for the person uploading it.
    setText(resumeStatus, `${error.message || "We could not read that file."} You can fill in the form by hand.`);
    resumeStatus.dataset.kind = "error";
  }
}

let mic = null;
let heardSomething = false;

async function toggleMicCheck() {
  if (mic) {
    mic.stop();
    mic = null;
    setText(micButton, "Test my microphone");
    meter.reset();
    return;
  }
  micButton.disabled = true;
  setText(micStatus, "Asking for the microphone…");
  try {
    mic = await openMicrophone({
      onLevel: (level) => {
        meter.set(level);
        if (!heardSomething && level > 0.01) {
          heardSomething = true;
          setText(micStatus, "Your microphone works.");
          micStatus.dataset.kind = "ok";
        }
      },
    });
    setText(micButton, "Stop the test");
    if (!heardSomething) setText(micStatus, "Listening… say something.");
  } catch (error) {
    const code = error instanceof MicrophoneError ? error.code : "audio_unsupported";
    setText(micStatus, candidateMessage(code));
    micStatus.dataset.kind = "error";
  } finally {
    micButton.disabled = false;
  }
}

function candidateFromForm() {
  const text = (name) => input(name).value.trim();
  return {
    name: text("name"),
    major: text("major"),
    year: text("year"),
    target_role: text("target_role"),
    skills: text("skills")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    experience: text("experience"),
    education: text("education"),
    resume_text: input("resume_text").value,
  };
}

/** "Please fill in your name, your field and your level.", naming only what is missing. */
function missingMessage(missing) {
  const words = missing.map((name) => REQUIRED_WORDS[name]);
  const list = words.length > 1 ? `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}` : words[0];
  return `Please fill in ${list}.`;
}

let checked = false; // the candidate has tried to start: keep the message up to date

/** After a first try, the message and the invalid marks follow the fields as they fill
 * (typed, or from the résumé); it goes away when nothing is missing. */
function updateMissing() {
  if (!checked) return [];
  const missing = REQUIRED.filter((n) => !input(n).value.trim());
  for (const name of REQUIRED) input(name).setAttribute("aria-invalid", String(missing.includes(name)));
  if (formError.dataset.kind === "missing") {
    if (missing.length) setText(formError, missingMessage(missing));
    else {
      show(formError, false);
      formError.dataset.kind = "";
    }
  }
  return missing;
}

async function start(event) {
  event.preventDefault();
  show(formError, false);
  formError.dataset.kind = "";
  checked = true;
  const missing = updateMissing();
  if (missing.length) {
    setText(formError, missingMessage(missing));
    formError.dataset.kind = "missing";
    show(formError, true);
    input(missing[0]).focus();
    return;
  }
  startButton.disabled = true;
  setText(startButton, "Starting…");
  const candidate = candidateFromForm();
  try {
    const created = await api("/api/interviews", { method: "POST", json: { candidate } });
    try {
      sessionStorage.setItem(`vivavoce.candidate.${created.id}`, JSON.stringify(candidate));
    } catch {
      // private mode: the server has the details anyway
    }
    if (mic) mic.stop();
    location.assign(`/interview/${encodeURIComponent(created.id)}?token=${encodeURIComponent(created.token)}`);
  } catch (error) {
    const message =
      error.status === 401 || error.status === 403
        ? "This service only runs interviews from an invitation link. Please use the link you were sent."
        : error.code === "invalid_input"
          ? candidateMessage("invalid_input")
          : candidateMessage(error.code);
    setText(formError, message);
    show(formError, true);
    startButton.disabled = false;
    setText(startButton, "Start interview");
  }
}

fileInput.addEventListener("change", uploadResume);
micButton.addEventListener("click", toggleMicCheck);
form.addEventListener("submit", start);
for (const name of REQUIRED) input(name).addEventListener("input", updateMissing);
