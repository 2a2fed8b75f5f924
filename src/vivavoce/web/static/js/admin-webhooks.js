// Operator: webhook endpoints (add with a secret generated here, remove) and the delivery
// log with every attempt and "Send again". The secret is sent once and never shown back.

import { $, el, show, setText, formatDate } from "./dom.js";
import { api } from "./api.js";

const main = $("#main");
const STATUS_WORDS = { pending: "Waiting to retry", sending: "Sending", delivered: "Delivered", failed: "Gave up" };

function generateSecret() {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

async function loadEndpoints() {
  const data = await api("/api/webhooks");
  const rows = (data.endpoints || []).map((e) => {
    const actions = [];
    if (e.id !== null) {
      const remove = el("button", { type: "button", class: "danger" }, "Remove");
      remove.setAttribute("aria-label", `Remove the endpoint ${e.url}`);
      remove.addEventListener("click", async () => {
        if (!window.confirm(`Remove ${e.url}? Its deliveries go too.`)) return;
        await api(`/api/webhooks/endpoints/${e.id}`, { method: "DELETE" });
        await loadEndpoints();
      });
      actions.push(remove);
    }
    return el("tr", {}, el("td", {}, el("span", { class: "link-text" }, e.url)),
      el("td", {}, e.source === "settings" ? "From the settings (VIVAVOCE_WEBHOOK_URL)" : e.description || "–"),
      el("td", {}, el("code", {}, e.secret)), el("td", {}, ...actions));
  });
  $("#endpoints-body").replaceChildren(...rows);
  show($("#no-endpoints"), rows.length === 0);
  setText($("#public-url-note"), data.public_url
    ? `Links in the events point to ${data.public_url}.`
    : "Set VIVAVOCE_PUBLIC_URL so the events carry a link to each interview's results (it is null until then).");
}

function deliveryRow(d) {
  const attempts = el("ol", {}, ...(d.attempt_log || []).map((a) =>
    el("li", {}, `${formatDate(a.at)}: ${a.status_code ? `HTTP ${a.status_code}` : "no answer"}${a.error ? ` — ${a.error}` : ""}`)));
  const resend = el("button", { type: "button", class: "secondary" }, "Send again");
  resend.setAttribute("aria-label", `Send ${d.type} again`);
  resend.disabled = d.status === "sending";
  resend.addEventListener("click", async () => {
    resend.disabled = true;
    try {
      await api(`/api/webhooks/deliveries/${d.id}/resend`, { method: "POST" });
      await loadLog();
    } catch (error) {
      setText($("#log-error"), error.message);
      show($("#log-error"), true);
      resend.disabled = false;
    }
  });
  const next = d.status === "pending" && d.next_attempt_at ? el("div", { class: "hint" }, `Next try ${formatDate(d.next_attempt_at)}`) : null;
  return el("tr", { "data-id": d.id, "data-status": d.status },
    el("td", {}, d.type, el("div", { class: "hint" }, formatDate(d.created_at))),
    el("td", {}, el("span", { class: "link-text" }, d.url)),
    el("td", { class: "delivery-status" }, STATUS_WORDS[d.status] || d.status, next),
    el("td", {}, el("details", {}, el("summary", {}, String(d.attempts)), attempts)),
    el("td", {}, resend));
}

async function loadLog() {
  show($("#log-error"), false);
  const page = await api("/api/webhooks/deliveries?limit=100");
  const rows = (page.items || []).map(deliveryRow);
  $("#deliveries-body").replaceChildren(...rows);
  show($("#no-deliveries"), rows.length === 0);
}

async function addEndpoint(event) {
  event.preventDefault();
  const status = $("#endpoint-status");
  const form = event.target;
  const value = (n) => form.elements.namedItem(n).value.trim();
  try {
    await api("/api/webhooks/endpoints", { method: "POST", json: { url: value("url"), secret: value("secret"), description: value("description") } });
    form.reset();
    await loadEndpoints();
    setText(status, "Added. New events are sent to it too.");
    status.dataset.kind = "ok";
  } catch (error) {
    const details = Array.isArray(error.details) ? error.details.map((d) => d.msg).filter(Boolean).join(" ") : "";
    setText(status, `${error.message} ${details}`.trim());
    status.dataset.kind = "error";
  }
}

$("#generate-secret").addEventListener("click", () => { $("#ep-secret").value = generateSecret(); });
$("#endpoint-form").addEventListener("submit", addEndpoint);
$("#refresh-log").addEventListener("click", () => loadLog());
Promise.all([loadEndpoints(), loadLog()])
  .then(() => { main.dataset.state = "ready"; })
  .catch((error) => {
    setText($("#log-error"), error.status === 401 ? "Your session has expired. Please log in again." : error.message);
    show($("#log-error"), true);
    main.dataset.state = "error";
  });
