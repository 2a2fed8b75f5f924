// Operator: the list of interviews (search, filters, score sort, paging done by the
// server), usage and cost, delete, and the CSV export of what the filters select.
// Invites live in admin-invite.js. Auth is the HttpOnly vivavoce_admin cookie.

import { $, el, show, setText, formatDate, formatNumber, formatClock } from "./dom.js";
import { api } from "./api.js";
import { readUsage } from "./shapes.js";
import { setUpInvites, showLink } from "./admin-invite.js";

const PAGE_SIZE = 20;
const main = $("#main");
const body = $("#interviews-body");
const listError = $("#list-error");
const state = { offset: 0, total: 0, filters: new URLSearchParams() };

function showError(node, error) {
  setText(node, error.status === 401 ? "Your session has expired. Please log in again." : error.message);
  show(node, true);
}

/** The filters as API parameters; "To" includes its whole day. */
function readFilters() {
  const params = new URLSearchParams();
  const value = (id) => $(id).value.trim();
  if (value("#search")) params.set("q", value("#search"));
  if (value("#status-filter")) params.set("status", value("#status-filter"));
  if (value("#since-filter")) params.set("since", value("#since-filter"));
  if (value("#until-filter")) {
    const day = new Date(`${value("#until-filter")}T00:00:00Z`);
    day.setUTCDate(day.getUTCDate() + 1);
    params.set("until", day.toISOString().slice(0, 10));
  }
  if (value("#min-score")) params.set("min_score", value("#min-score"));
  if (value("#sort") && value("#sort") !== "newest") params.set("sort", value("#sort"));
  return params;
}

function row(item) {
  const usage = readUsage(item);
  const name = item.candidate_name || "(no name)";
  const detail = [item.field, item.level, item.target_role].filter(Boolean).join(" · ");
  const open = el("a", { href: `/results/${encodeURIComponent(item.id)}`, class: "button secondary" }, "Open");
  const actions = [open];
  if (item.status === "created" || item.status === "live") {
    const link = el("button", { type: "button", class: "secondary" }, "Link");
    link.setAttribute("aria-label", `Show the link for ${name}`);
    link.addEventListener("click", () => showLink(item, load));
    actions.push(link);
  }
  const remove = el("button", { type: "button", class: "danger", "data-id": item.id }, "Delete");
  remove.setAttribute("aria-label", `Delete the interview with ${name}`);
  remove.addEventListener("click", () => deleteInterview(item, name, remove));
  actions.push(remove);
  const duration = item.duration_s;
  return el(
    "tr",
    { "data-id": item.id, "data-status": item.status || "" },
    el("td", {}, name, detail ? el("div", { class: "hint" }, detail) : null,
      item.reference ? el("div", { class: "hint" }, item.reference) : null),
    el("td", { class: "state" }, item.status_text || item.status || "–",
      item.end_reason_text ? el("div", { class: "hint" }, item.end_reason_text) : null),
    el("td", {}, formatDate(item.created_at)),
    el("td", { class: "started" }, item.started_at ? formatDate(item.started_at) : "–"),
    el("td", { class: "num" }, duration === null || duration === undefined ? "–" : formatClock(duration)),
    el("td", { class: "num score" }, item.overall_score ?? "–"),
    el("td", { class: "num tokens" }, usage.tokens ? formatNumber(usage.tokens) : "…"),
    el("td", { class: "num" }, formatNumber(usage.cost, 4)),
    el("td", {}, el("div", { class: "actions" }, ...actions)),
  );
}

/** The list carries cost only; fetch each shown interview for its token counts. */
async function fillTokens(items) {
  return Promise.all(
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
}

export async function load() {
  main.dataset.state = "loading";
  show(listError, false);
  const params = new URLSearchParams(state.filters);
  params.set("limit", String(PAGE_SIZE));
  params.set("offset", String(state.offset));
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
  const exportParams = new URLSearchParams(state.filters);
  exportParams.set("format", "csv");
  $("#export-csv").setAttribute("href", `/api/interviews?${exportParams}`);
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

$("#filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  state.filters = readFilters();
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
setUpInvites(load);
load();
