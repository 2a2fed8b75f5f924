// Operator: the doctor's view — key source/type/mask/fingerprint, each check, each cause
// with its fix steps, and "Run checks again".

import { $, el, show, setText } from "./dom.js";
import { api } from "./api.js";

const main = $("#main");
const rerun = $("#rerun");

const STATUS_LABEL = { ok: "OK", pass: "OK", fail: "FAILED", error: "FAILED", warn: "WARNING", warning: "WARNING", skip: "SKIPPED", skipped: "SKIPPED" };

function renderKey(key) {
  const k = key || {};
  setText($("#key-source"), k.source || "not set");
  setText($("#key-type"), k.type || "–");
  setText($("#key-masked"), k.masked || "–");
  setText($("#key-fingerprint"), k.fingerprint || "–");
}

function renderChecks(checks) {
  $("#checks").replaceChildren(
    ...checks.map((c) => {
      const status = String(c.status || "").toLowerCase();
      return el(
        "li",
        { "data-check": c.name, "data-status": status },
        el("span", { class: "badge", "data-status": status }, STATUS_LABEL[status] || status.toUpperCase()),
        " ",
        el("strong", {}, c.name),
        c.detail ? el("div", {}, c.detail) : null,
        Number.isFinite(Number(c.ms)) ? el("div", { class: "hint" }, `${Math.round(Number(c.ms))} ms`) : null,
      );
    }),
  );
}

function renderCauses(causes) {
  const blocks = causes.map((cause) => {
    const fix = Array.isArray(cause.fix) ? cause.fix : cause.fix ? [cause.fix] : [];
    return el(
      "article",
      { class: "cause", "data-cause": cause.id },
      el("h3", {}, cause.title || cause.id),
      cause.explanation ? el("p", {}, cause.explanation) : null,
      fix.length ? el("h4", {}, "How to fix it") : null,
      fix.length ? el("ol", { class: "fix" }, ...fix.map((step) => el("li", {}, step))) : null,
    );
  });
  $("#causes").replaceChildren(...blocks);
  show($("#causes-section"), blocks.length > 0);
}

async function run(refresh) {
  rerun.disabled = true;
  main.dataset.state = "loading";
  show($("#setup-error"), false);
  setText($("#checks-status"), refresh ? "Running the checks again…" : "Running the checks…");
  try {
    const report = await api(`/api/diagnostics${refresh ? "?refresh=1" : ""}`);
    renderKey(report.key);
    renderChecks(Array.isArray(report.checks) ? report.checks : []);
    renderCauses(Array.isArray(report.causes) ? report.causes : []);
    const overall = $("#overall");
    overall.dataset.ok = String(Boolean(report.ok));
    setText(overall, report.ok ? "Everything works." : "Something needs fixing: see below.");
    setText($("#checks-status"), `Checked at ${new Date().toLocaleTimeString()}.`);
    main.dataset.state = report.ok ? "ok" : "problem";
  } catch (error) {
    setText($("#setup-error"), error.status === 401 ? "Your session has expired. Please log in again." : `The checks could not run: ${error.message}`);
    show($("#setup-error"), true);
    setText($("#checks-status"), "");
    main.dataset.state = "error";
  } finally {
    rerun.disabled = false;
  }
}

rerun.addEventListener("click", () => run(true));
run(false);
