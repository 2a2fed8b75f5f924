// The results page: the evaluation (chart, scores, feedback linked to the transcript) and
// the transcript, polling while the evaluation is still being written.

import { $, el, svg, show, setText, formatClock } from "./dom.js";
import { api, withToken } from "./api.js";
import { readTurns, readDimensions, readList, readQuestions, readDuration } from "./shapes.js";

const main = $("#main");
const id = main.dataset.interviewId;
const token = main.dataset.token || "";
const base = `/api/interviews/${encodeURIComponent(id)}`;

const POLL_MIN_MS = 1500;
const POLL_MAX_MS = 10000;
let turns = [];
const operator = main.dataset.operator === "true";
// The candidate reads about "your interview"; the operator about "the interview".
const whose = operator ? "The" : "Your";
const STATUS_TEXT = {
  pending: `${whose} interview is waiting to be evaluated…`,
  running: `${whose} interview is being evaluated…`,
};
let polling = false;

function setState(value) {
  main.dataset.state = value;
}

function fail(message) {
  setText($("#results-error"), message);
  show($("#results-error"), true);
}

function renderTranscript(list) {
  const ol = $("#transcript");
  ol.replaceChildren();
  for (const turn of list) {
    ol.append(
      el(
        "li",
        { id: `line-${turn.n}`, class: `turn turn-${turn.speaker}`, dataset: { speaker: turn.speaker } },
        el("span", { class: "who" }, turn.speaker === "candidate" ? "Candidate" : "Interviewer"),
        el("span", { class: "text" }, turn.text),
      ),
    );
  }
  if (list.length === 0) ol.append(el("li", { class: "status" }, "Nothing was said in this interview."));
}

function normaliseText(text) {
  return String(text).toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

/** The transcript line a quote comes from (the candidate's first, then anyone's). */
function lineForQuote(quote) {
  const needle = normaliseText(quote);
  if (!needle) return null;
  const ordered = [...turns.filter((t) => t.speaker === "candidate"), ...turns];
  return ordered.find((t) => normaliseText(t.text).includes(needle)) || null;
}

const LABEL_LINE_CHARS = 27; // what fits in the label column at the chart's font size

/** A dimension's name beside its bar: one line, or two split at a space; a name too long
 * even for two lines is shortened (the full name is in the list below, in the chart's
 * accessible name and in the label's tooltip). */
function dimensionLabel(name, y) {
  const lines = splitLabel(name);
  const label = svg("text", { x: 0, y: lines.length === 1 ? y + 19 : y + 12 });
  lines.forEach((line, i) => label.append(svg("tspan", { x: 0, dy: i === 0 ? 0 : 15 }, line)));
  if (lines.join(" ") !== name) label.append(svg("title", {}, name));
  return label;
}

function splitLabel(name) {
  if (name.length <= LABEL_LINE_CHARS) return [name];
  const cut = name.lastIndexOf(" ", LABEL_LINE_CHARS);
  const first = cut > 0 ? name.slice(0, cut) : name.slice(0, LABEL_LINE_CHARS);
  let rest = name.slice(first.length).trim();
  if (rest.length > LABEL_LINE_CHARS) rest = `${rest.slice(0, LABEL_LINE_CHARS - 1).trimEnd()}…`;
  return [first, rest];
}

// A phone's chart: the side-by-side layout's viewBox (550 wide) shrinks to ~340 px there,
// and its 13-unit text to 8 px. Stacked (each name above its bar) it is 340 units wide,
// drawn at about 1:1, so its text stays at the page's size.
const PHONE = "(max-width: 40rem)";
const STACKED_W = 340;
const STACKED_LABEL_CHARS = 44;

function stackedChart(dimensions) {
  const rowH = 46;
  const barW = STACKED_W - 44;
  const height = rowH * dimensions.length + 4;
  const chart = svg("svg", {
    viewBox: `0 0 ${STACKED_W} ${height}`,
    role: "img",
    "aria-label": dimensions.map((d) => `${d.name}: ${d.score} of 5`).join("; "),
    id: "score-svg",
    class: "stacked",
  });
  dimensions.forEach((d, i) => {
    const y = i * rowH;
    const short = d.name.length > STACKED_LABEL_CHARS
      ? `${d.name.slice(0, STACKED_LABEL_CHARS - 1).trimEnd()}…` : d.name;
    const label = svg("text", { x: 0, y: y + 15 }, short);
    if (short !== d.name) label.append(svg("title", {}, d.name));
    chart.append(
      label,
      svg("rect", { class: "track", x: 0, y: y + 22, width: barW, height: 18, rx: 4 }),
      svg("rect", {
        class: "bar", x: 0, y: y + 22, width: Math.round((barW * d.score) / 5), height: 18, rx: 4,
        "data-score": d.score,
      }),
      svg("text", { x: barW + 8, y: y + 36 }, `${d.score}/5`),
    );
  });
  return chart;
}

function scoreChart(dimensions) {
  if (window.matchMedia(PHONE).matches) return stackedChart(dimensions);
  // Horizontal bars, one per dimension, on a 0–5 scale; an accessible name lists them all.
  const rowH = 34;
  const labelW = 200;
  const barW = 300;
  const width = labelW + barW + 50;
  const height = rowH * dimensions.length + 24;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": dimensions.map((d) => `${d.name}: ${d.score} of 5`).join("; "),
    id: "score-svg",
  });
  dimensions.forEach((d, i) => {
    const y = i * rowH + 4;
    chart.append(
      dimensionLabel(d.name, y),
      svg("rect", { class: "track", x: labelW, y: y + 4, width: barW, height: 20, rx: 4 }),
      svg("rect", {
        class: "bar",
        x: labelW,
        y: y + 4,
        width: Math.round((barW * d.score) / 5),
        height: 20,
        rx: 4,
        "data-score": d.score,
      }),
      svg("text", { x: labelW + barW + 8, y: y + 19 }, `${d.score}/5`),
    );
  });
  for (let s = 1; s <= 5; s++) {
    const x = labelW + (barW * s) / 5;
    chart.append(svg("text", { x: x - 4, y: height - 4 }, String(s)));
  }
  return chart;
}

// The page speaks to whoever reads it: the candidate reads about "your answer", the
// operator about the candidate's.
const ANSWER_LABEL = operator ? "The candidate's answer: " : "Your answer: ";

/** A summary that starts by saying what it is ("You answered: …") would repeat the label
 * beside it; drop that lead-in. */
function withoutLeadIn(summary) {
  const text = String(summary);
  const trimmed = text.replace(/^\s*(you answered|your answer|the candidate answered|answer)\s*:\s*/i, "");
  return trimmed ? trimmed.charAt(0).toUpperCase() + trimmed.slice(1) : text;
}

function renderEvaluation(body) {
  // The API wraps the stored result: {status, message, overall_score, result: {...}}.
  const ev = { ...(body.result || body), overall_score: body.overall_score ?? (body.result && body.result.overall && body.result.overall.score) };
  if (ev.summary) setText($("#evaluation-summary"), ev.summary);
  if (body.low_confidence && body.message) setText($("#evaluation-note"), body.message);
  const dimensions = readDimensions(ev);
  setText($("#overall-score"), ev.overall_score ?? "–");
  $("#score-chart").replaceChildren(dimensions.length ? scoreChart(dimensions) : el("p", {}, "No scores."));
  const dl = el("dl");
  for (const d of dimensions) {
    dl.append(el("dt", {}, `${d.name} — ${d.score}/5`), el("dd", {}, d.justification));
  }
  $("#dimensions").replaceChildren(dl);
  $("#strengths").replaceChildren(...readList(ev.strengths).map((s) => el("li", {}, s)));
  $("#improvements").replaceChildren(...readList(ev.improvements).map((s) => el("li", {}, s)));
  const plan = readList(ev.practice_plan);
  $("#practice-plan").replaceChildren(
    plan.length > 1 ? el("ol", {}, ...plan.map((p) => el("li", {}, p))) : el("p", {}, plan[0] || "–"),
  );
  const questions = readQuestions(ev).map((q) => {
    const quotes = (Array.isArray(q.quotes) ? q.quotes : []).map((raw) => {
      // {text, turn}: turn is the sequence number of the transcript line it was found in.
      const quote = typeof raw === "string" ? raw : String((raw && raw.text) || "");
      const byTurn = raw && Number.isFinite(Number(raw.turn)) ? turns.find((t) => t.n === Number(raw.turn)) : null;
      const line = byTurn || lineForQuote(quote);
      const text = el("blockquote", {}, `“${quote}”`);
      if (!line) return el("li", {}, text);
      const link = el("a", { href: `#line-${line.n}`, class: "quote-link", "data-line": line.n }, "see in transcript");
      link.addEventListener("click", () => highlight(line.n));
      return el("li", {}, text, " ", link);
    });
    return el(
      "li",
      {},
      el("h4", {}, q.question || "Question"),
      q.answer_summary ? el("p", {}, el("strong", {}, ANSWER_LABEL), withoutLeadIn(q.answer_summary)) : null,
      q.strong ? el("p", {}, el("strong", {}, "Strong: "), q.strong) : null,
      q.improve ? el("p", {}, el("strong", {}, "To improve: "), q.improve) : null,
      quotes.length ? el("ul", { class: "quotes" }, ...quotes) : null,
    );
  });
  $("#per-question").replaceChildren(...questions);
  show($("#evaluation-pending"), false);
  show($("#evaluation"), true);
  const rerunStatus = document.getElementById("rerun-status");
  if (rerunStatus && rerunStatus.textContent) setText(rerunStatus, "The new evaluation is shown below.");
  setState("done");
}

function highlight(n) {
  document.querySelectorAll(".turn.highlight").forEach((t) => t.classList.remove("highlight"));
  const line = document.getElementById(`line-${n}`);
  if (line) line.classList.add("highlight");
}

async function loadSummary() {
  try {
    const record = await api(base, { token });
    const candidate = record.candidate || {};
    const duration = readDuration(record);
    const parts = [candidate.name, candidate.target_role || candidate.field || candidate.major].filter(Boolean);
    if (duration !== null) parts.push(`${formatClock(duration)} long`);
    setText($("#results-summary"), parts.join(" · "));
    return record;
  } catch (error) {
    if (error.status === 404 || error.status === 401 || error.status === 403) {
      fail("We could not find this interview. Check your link, or ask for a new one.");
      setState("error");
      throw error;
    }
    return null; // a blip: carry on to the transcript and the evaluation
  }
}

async function loadTranscript() {
  try {
    turns = readTurns(await api(`${base}/transcript?format=json`, { token }));
  } catch {
    turns = [];
    fail("The transcript could not be loaded. Please reload the page in a moment.");
  }
  renderTranscript(turns);
  const download = $("#download-transcript");
  download.href = withToken(`${base}/transcript?format=markdown`, token);
  download.setAttribute("download", `interview-${id}.md`);
}

/** Operator only: why the evaluation failed (the API sends `error` to operators only)
 * and a button to run it again. */
function showOperatorPanel(ev) {
  const panel = document.getElementById("operator-panel");
  if (!operator || !panel) return;
  const parts = [`Evaluation: ${ev.status}`];
  if (ev.attempts) parts.push(`${ev.attempts} attempt${ev.attempts === 1 ? "" : "s"}`);
  if (ev.model) parts.push(`model ${ev.model}`);
  if (ev.cost_usd != null) parts.push(`cost $${Number(ev.cost_usd).toFixed(4)}`);
  setText($("#operator-detail"), parts.join(" · ") + (ev.error ? `. Error: ${ev.error}` : "."));
  show(panel, true);
}

async function rerunEvaluation() {
  const button = $("#rerun-evaluation");
  button.disabled = true;
  setText($("#rerun-status"), "Starting the evaluation again…");
  try {
    await api(`${base}/evaluation`, { method: "POST" });
    setText($("#rerun-status"), "The evaluation is running again.");
    show($("#results-error"), false);
    show($("#evaluation"), false);
    if (!polling) pollEvaluation();
  } catch (error) {
    setText($("#rerun-status"), error.message);
  } finally {
    button.disabled = false;
  }
}

async function pollEvaluation(delay = POLL_MIN_MS) {
  polling = true;
  let ev;
  try {
    ev = await api(`${base}/evaluation`, { token });
  } catch (error) {
    if (error.status === 404 || error.status >= 500 || error.status === 0) {
      ev = { status: "pending" }; // keep waiting through a blip
    } else {
      fail("The evaluation could not be loaded.");
      setState("error");
      polling = false;
      return;
    }
  }
  const status = ev.status || "pending";
  showOperatorPanel(ev);
  if (status === "done") {
    polling = false;
    renderEvaluation(ev);
    return;
  }
  if (status === "failed" || status === "insufficient") {
    polling = false;
    show($("#evaluation-pending"), false);
    // The API's message is written for the candidate ("the organiser can see why"); the
    // operator is the organiser, and reads the reason in their panel.
    const operatorText = status === "failed" ? "The evaluation failed: the reason is in the panel below; you can run it again." : null;
    fail(
      (operator && operatorText) ||
        ev.message ||
        (status === "insufficient"
          ? "This interview was too short to evaluate. The transcript is below."
          : "We could not evaluate this interview. The transcript is below; the organiser has been told."),
    );
    setState(status);
    return;
  }
  setState("pending");
  show($("#evaluation-pending"), true);
  // The API's message speaks to the candidate; the operator gets the plain status.
  const ownText = STATUS_TEXT[status] || STATUS_TEXT.running;
  setText($("#pending-text"), operator ? ownText : ev.message || ownText);
  if (typeof ev.progress === "number") $("#pending-progress").value = Math.round(ev.progress * 100);
  setTimeout(() => pollEvaluation(Math.min(delay * 1.5, POLL_MAX_MS)), delay);
}

async function main_() {
  if (operator) setText($("#evaluation-pending h2"), "The interview is being evaluated…");
  let record;
  try {
    record = await loadSummary();
  } catch {
    return;
  }
  await loadTranscript();
  if (record && (record.status === "created" || record.status === "live")) {
    // The evaluation starts when the interview ends; asking earlier is a 404.
    show($("#evaluation-pending"), true);
    setText($("#evaluation-pending h2"), record.status === "live" ? "The interview is still going on" : "No interview yet");
    setText(
      $("#pending-text"),
      record.status === "live"
        ? "Its evaluation starts when it ends; reload this page then."
        : "This interview has not taken place yet.",
    );
    $("#pending-progress").hidden = true;
    setState(`interview-${record.status}`);
    return;
  }
  await pollEvaluation();
}

const rerunButton = document.getElementById("rerun-evaluation");
if (rerunButton) rerunButton.addEventListener("click", rerunEvaluation);
main_();
