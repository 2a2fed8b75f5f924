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
        turn.interrupted ? el("span", { class: "interrupted-mark", title: "The candidate cut in here" }, "interrupted") : null,
      ),
    );
  }
  if (list.length === 0) ol.append(el("li", { class: "status" }, "Nothing was said in this interview."));
}

function normaliseText(text) {
  return String(text).toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

/** The candidate's transcript line a quote comes from: the turn the server found it in,
 * else the candidate line containing it (never an interviewer line). */
function lineForQuote(quote, turn) {
  const candidate = turns.filter((t) => t.speaker === "candidate");
  if (Number.isFinite(Number(turn))) {
    const own = candidate.find((t) => t.n === Number(turn));
    if (own) return own;
  }
  const needle = normaliseText(quote).split(" ").slice(0, 12).join(" ");
  if (!needle) return null;
  return candidate.find((t) => normaliseText(t.text).includes(needle)) || null;
}

// Quotes already on the page (normalised): each is shown once.
let shownQuotes = new Set();

/** A quote as a list item with a link to its own transcript line. Words already shown
 * elsewhere on the page (or sent as a reference, `ref`: the offline evaluation cites a
 * sentence it quoted for another point) are not repeated: the item is only a link to
 * the line they are on. */
function quoteItem(raw) {
  const quote = typeof raw === "string" ? raw : String((raw && raw.text) || "");
  const key = normaliseText(quote);
  if (!key) return null;
  if (shownQuotes.has(key) || (raw && raw.ref)) return quoteReference(quote, raw && raw.turn);
  shownQuotes.add(key);
  const line = lineForQuote(quote, raw && raw.turn);
  const text = el("blockquote", {}, `“${quote}”`);
  if (!line) return el("li", {}, text);
  const link = el(
    "a",
    { href: `#line-${line.n}`, class: "quote-link", "data-line": line.n, "aria-label": `See line ${line.n} in the transcript` },
    "see in transcript",
  );
  link.addEventListener("click", () => highlight(line.n));
  return el("li", {}, text, " ", link);
}

function quoteReference(quote, turn) {
  const line = lineForQuote(quote, turn);
  if (!line) return null;
  const link = el(
    "a",
    { href: `#line-${line.n}`, class: "quote-ref-link", "data-line": line.n },
    `Your words at line ${line.n} of the transcript (quoted on this page)`,
  );
  if (operator) link.textContent = `The candidate's words at line ${line.n} of the transcript (quoted on this page)`;
  link.addEventListener("click", () => highlight(line.n));
  return el("li", { class: "quote-ref" }, link);
}

/** The quotes that back one point (a strength, a dimension…), as a list, or null. */
function citedList(quotes) {
  const items = (Array.isArray(quotes) ? quotes : []).map(quoteItem).filter(Boolean);
  return items.length ? el("ul", { class: "cited quotes" }, ...items) : null;
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
  shownQuotes = new Set();
  showSimulated(body.simulated || ev.simulated);
  const method = body.method_label || ev.method_label;
  if (method) setText($("#evaluation-method"), method.charAt(0).toUpperCase() + method.slice(1));
  show($("#evaluation-method"), Boolean(method));
  if (ev.summary) setText($("#evaluation-summary"), ev.summary);
  // Which signals were used: a non-English interview gets the language-neutral ones only,
  // and the offline page says so here (beside a model's evaluation, "Rule-based signals"
  // says it).
  const languageNote = ev.method === "offline" && ev.signals ? ev.signals.note : null;
  const notes = [body.low_confidence ? body.message : null, languageNote].filter(Boolean);
  setText($("#evaluation-note"), notes.join(" "));
  const dimensions = readDimensions(ev);
  setText($("#overall-score"), ev.overall_score ?? "–");
  $("#score-chart").replaceChildren(dimensions.length ? scoreChart(dimensions) : el("p", {}, "No scores."));
  // Per-question quotes first: they are the answers' own words; a point or dimension
  // citing the same sentence again does not repeat it.
  const questions = readQuestions(ev).map((q) => {
    const quotes = (Array.isArray(q.quotes) ? q.quotes : []).map(quoteItem).filter(Boolean);
    // The interviewer's whole question (the server sends the full turn); where the
    // candidate cut in, marked so.
    const heading = el("h4", {}, q.question || "Question");
    if (q.interrupted) {
      heading.append(el("span", { class: "interrupted-mark", title: "You cut in before the interviewer finished" }, "interrupted"));
    }
    return el(
      "li",
      {},
      heading,
      q.answer_summary ? el("p", {}, el("strong", {}, ANSWER_LABEL), withoutLeadIn(q.answer_summary)) : null,
      q.strong ? el("p", {}, el("strong", {}, "Strong: "), q.strong) : null,
      q.improve ? el("p", {}, el("strong", {}, "To improve: "), q.improve) : null,
      quotes.length ? el("ul", { class: "quotes" }, ...quotes) : null,
    );
  });
  $("#per-question").replaceChildren(...questions);
  const dimensionQuotes = Array.isArray(ev.dimensions) ? ev.dimensions : [];
  const dl = el("dl");
  dimensions.forEach((d, i) => {
    const raw = dimensionQuotes[i] || {};
    dl.append(el("dt", {}, `${d.name} — ${d.score}/5`), el("dd", {}, d.justification, citedList(raw.quotes)));
  });
  $("#dimensions").replaceChildren(dl);
  const cited = ev.cited || {};
  const withQuotes = (items, quotes) => items.map((text, i) => el("li", {}, text, citedList((quotes || [])[i])));
  $("#strengths").replaceChildren(...withQuotes(readList(ev.strengths), cited.strengths));
  $("#improvements").replaceChildren(...withQuotes(readList(ev.improvements), cited.improvements));
  // Each plan step with the words that show why it is suggested (offline: `cited`).
  const plan = readList(ev.practice_plan);
  const planQuotes = cited.practice_plan || [];
  $("#practice-plan").replaceChildren(
    ...(plan.length > 1
      ? [el("ol", {}, ...withQuotes(plan, planQuotes))]
      : [el("p", {}, plan[0] || "–"), citedList(planQuotes[0])].filter(Boolean)),
  );
  renderSignals(ev);
  show($("#evaluation-pending"), false);
  show($("#evaluation"), true);
  const rerunStatus = document.getElementById("rerun-status");
  if (rerunStatus && rerunStatus.textContent) setText(rerunStatus, "The new evaluation is shown below.");
  setState("done");
}

/** Beside the model's evaluation: the rule-based signals per answer and any score they
 * capped. (An offline evaluation's own points already cite them.) */
function renderSignals(ev) {
  const signals = ev.signals;
  const section = $("#signals");
  if (!signals || ev.method === "offline") {
    show(section, false);
    return;
  }
  const capped = (ev.cap && Array.isArray(ev.cap.applied) ? ev.cap.applied : []).map((c) => {
    const name = (readDimensions(ev).find((d) => d.id === c.key) || { name: c.key }).name;
    return el("li", {}, `${name}: the model gave ${c.model_score}, capped at ${c.cap} — the signals found its evidence in ${Math.round(c.evidence_share * 100)}% of the answers.`);
  });
  $("#signals-cap").replaceChildren(...capped);
  setText(
    $("#signals-note"),
    [signals.note, ev.cap && ev.cap.note, capped.length ? null : "The signals back the model's scores: nothing was capped."]
      .filter(Boolean)
      .join(" "),
  );
  const answers = Array.isArray(signals.answers) ? signals.answers : [];
  $("#signals-answers").replaceChildren(
    ...answers.map((a) => {
      const parts = [`${a.words} words`, `${(a.numbers || []).length} numbers`, `named: ${(a.named_terms || []).join(", ") || "none"}`];
      if (Array.isArray(a.star)) parts.push(`STAR: ${a.star.join(", ") || "none"}`);
      if (Array.isArray(a.hedges)) parts.push(`${a.hedges.length + (a.fillers || []).length} hedges or fillers`);
      if (a.relevance !== null && a.relevance !== undefined) parts.push(`${Math.round(a.relevance * 100)}% of the question's key terms`);
      return el("li", {}, `Answer at line ${(a.turns || [])[0] ?? "?"}: ${parts.join("; ")}.`);
    }),
  );
  show(section, true);
}

function showSimulated(simulated) {
  if (!simulated) return;
  if (operator) {
    setText(
      $("#simulated-text"),
      "The candidate's words were not transcribed: the candidate lines in this transcript are examples the simulator supplied, so the feedback shows how the evaluation works, not how they did. Simulated interviews cost nothing.",
    );
  }
  show($("#simulated-note"), true);
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
    showSimulated(record.simulated);
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
  showSimulated(ev.simulated);
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
  // The browser's print dialog (also "Save as PDF"); app.css prints the report alone.
  $("#print-results").addEventListener("click", () => window.print());
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
