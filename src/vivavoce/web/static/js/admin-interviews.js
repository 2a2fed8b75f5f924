// Operator: list, filter, open and delete interviews; usage and cost per interview and in
// total; create an invitation link. Auth is the HttpOnly vivavoce_admin cookie.

import { $, el, show, setText, formatDate, formatNumber, formatClock } from "./dom.js";
import { api } from "./api.js";
import { readUsage, readDuration } from "./shapes.js";

const PAGE_SIZE = 20;
const main = $("#main");
const body = $("#interviews-body");
const listError = $("#list-error");
const state = { offset: 0, total: 0, status: "" };

function showError(node, error) {
  setText(node, error.status === 401 ? "Your session has expired. Please log in again." : error.message);
  show(node, true);
}

function row(item) {
  const usage = readUsage(item);
  const duration = readDuration(item);
  const candidate = item.candidate || {};
  const name = item.candidate_name || candidate.name || "(no name)";
  const detail = item.field || candidate.field || candidate.target_role || "";
  const open = el("a", { href: `/results/${encodeURIComponent(item.id)}`, class: "button secondary" }, "Open");
  const remove = el("button", { type: "button", class: "danger", "data-id": item.id }, "Delete");
  remove.setAttribute("aria-label", `Delete the interview with ${name}`);
  remove.addEventListener("click", () => deleteInterview(item, name, remove));
  return el(
    "tr",
    { "data-id": item.id, "data-status": item.status || "" },
    el("td", {}, name, detail ? el("div", { class: "hint" }, detail) : null),
    el("td", {}, item.status || "–", item.end_reason ? el("div", { class: "hint" }, item.end_reason) : null),
    el("td", {}, formatDate(item.started_at || item.created_at)),
    el("td", { class: "num" }, duration === null ? "–" : formatClock(duration)),
    el("td", { class: "num tokens" }, usage.tokens ? formatNumber(usage.tokens) : "…"),
    el("td", { class: "num" }, formatNumber(usage.cost, 4)),
    el("td", {}, el("div", { class: "actions" }, open, remove)),
  );
}

/** The list carries cost only; fetch each shown interview for its token counts. */
async function fillTokens(items) {
  const usages = await Promise.all(
    items.map(async (item) => {
      const cell = body.querySelector(`tr[data-id="${CSS.escape(item.id)}"] .tokens`);
      try {
        const usage = readUsage(await api(`/api/interviews/${encodeURIComponent(item.id)}`));
        if (cell) setText(cell, formatNumber(usage.tokens));
        return usage;
      } catch {
        if (cell) setText(cell, "–");
        return readUsage(item);
      }
    }),
  );
  return usages;
}

async function load() {
  main.dataset.state = "loading";
  show(listError, false);
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
  if (state.status) params.set("status", state.status);
  let page;
  try {
    page = await api(`/api/interviews?${params}`);
  } catch (error) {
    showError(listError, error);
    main.dataset.state = "error";
    return;
  }
  const items = (page && page.items) || [];
  state.total = Number(page && page.total) || items.length;
  body.replaceChildren(...items.map(row));
  show($("#empty-list"), items.length === 0);
  const last = Math.min(state.offset + items.length, state.total);
  setText($("#page-info"), state.total ? `${state.offset + 1}–${last} of ${state.total}` : "");
  $("#prev-page").disabled = state.offset === 0;
  $("#next-page").disabled = last >= state.total;
  await loadTotals(await fillTokens(items));
  main.dataset.state = "ready";
}

async function loadTotals(usages) {
  setText($("#total-count"), formatNumber(state.total));
  try {
    const usage = await api("/api/usage");
    const totals = (usage && (usage.totals || usage.total)) || usage || {};
    setText($("#total-tokens"), formatNumber(totals.total_tokens ?? totals.tokens));
    setText($("#total-cost"), formatNumber(totals.cost_usd ?? totals.cost, 4));
    setText(
      $("#totals-note"),
      usage && usage.since ? `All interviews created ${usage.since} to ${usage.until} (estimated from the price table).` : "All interviews.",
    );
  } catch {
    // No usage endpoint (or no access): add up the interviews on this page instead.
    const sum = usages.reduce((a, u) => ({ tokens: a.tokens + u.tokens, cost: a.cost + u.cost }), { tokens: 0, cost: 0 });
    setText($("#total-tokens"), formatNumber(sum.tokens));
    setText($("#total-cost"), formatNumber(sum.cost, 4));
    setText($("#totals-note"), "Totals of the interviews shown on this page.");
  }
}

async function deleteInterview(item, name, button) {
  if (!window.confirm(`Delete the interview with ${name}? Its transcript and evaluation are deleted too.`)) return;
  button.disabled = true;
  try {
    await api(`/api/interviews/${encodeURIComponent(item.id)}${item.status === "live" ? "?force=true" : ""}`, { method: "DELETE" });
    if (body.children.length === 1 && state.offset > 0) state.offset -= PAGE_SIZE;
    await load();
  } catch (error) {
    showError(listError, error);
    button.disabled = false;
  }
}

async function invite(event) {
  event.preventDefault();
  const form = event.target;
  const value = (n) => form.elements.namedItem(n).value.trim();
  const result = $("#invite-result");
  const missing = ["name", "major", "year"].filter((n) => !value(n));
  if (missing.length) {
    setText(result, "Name, field and level are required.");
    result.dataset.kind = "error";
    return;
  }
  const candidate = {
    name: value("name"),
    major: value("major"),
    year: value("year"),
    target_role: value("target_role"),
    skills: value("skills").split(",").map((s) => s.trim()).filter(Boolean),
  };
  try {
    const created = await api("/api/interviews", { method: "POST", json: { candidate } });
    result.replaceChildren("Send this link to the candidate: ", el("a", { href: created.candidate_url, id: "invite-link" }, created.candidate_url));
    result.dataset.kind = "ok";
    form.reset();
    await load();
  } catch (error) {
    setText(result, error.message);
    result.dataset.kind = "error";
  }
}

$("#filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.status = $("#status-filter").value;
  state.offset = 0;
  load();
});
$("#prev-page").addEventListener("click", () => {
  state.offset = Math.max(0, state.offset - PAGE_SIZE);
  load();
});
$("#next-page").addEventListener("click", () => {
  state.offset += PAGE_SIZE;
  load();
});
$("#invite-form").addEventListener("submit", invite);
load();
