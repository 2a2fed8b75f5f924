// Operator: invite one candidate (résumé prefill, length, language, private note), invite
// many from a CSV (a CSV of links back, or every bad line named), and show a link again,
// copy it or re-issue it (the old one stops working).

import { $, el, show, setText } from "./dom.js";
import { api } from "./api.js";

const form = $("#invite-form");
const result = $("#invite-result");

function input(name) {
  return form.elements.namedItem(name);
}

/** Copy text; the Clipboard API needs a secure context, else select-and-copy. */
async function copyText(text, status) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", { "aria-hidden": "true" }, text);
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  setText(status, "Copied.");
  status.dataset.kind = "ok";
}

function linkBox(url, id, status) {
  const copy = el("button", { type: "button", class: "secondary", id: `copy-${id}` }, "Copy");
  copy.setAttribute("aria-label", "Copy the link");
  copy.addEventListener("click", () => copyText(url, status));
  return el("div", { class: "link-box" }, el("a", { href: url, id, class: "link-text" }, url), copy);
}

// Résumé guesses -> form fields (first non-empty guess wins), as the start page does.
const FIELD_MAP = { name: ["name"], major: ["field", "major"], year: ["level"], skills: ["skills"] };

async function uploadResume() {
  const status = $("#inv-resume-status");
  const file = $("#inv-resume").files && $("#inv-resume").files[0];
  if (!file) return;
  setText(status, `Reading ${file.name}…`);
  status.dataset.kind = "busy";
  const data = new FormData();
  data.append("file", file);
  try {
    const read = await api("/api/resume", { method: "POST", form: data });
    const fields = (read && read.fields) || {};
    const filled = [];
    for (const [to, sources] of Object.entries(FIELD_MAP)) {
      let value = sources.map((from) => fields[from]).find((v) => v && (!Array.isArray(v) || v.length));
      if (Array.isArray(value)) value = value.join(", ");
      if (to === "year" && typeof value === "string") value = value.replace(/_/g, " ");
      if (value && !input(to).value.trim()) {
        input(to).value = String(value);
        filled.push(to === "major" ? "field" : to === "year" ? "level" : to);
      }
    }
    input("resume_text").value = (read && read.text) || "";
    setText(status, filled.length ? `Read. Filled in: ${filled.join(", ")}.` : "Read. Fill in the fields below.");
    status.dataset.kind = "ok";
  } catch (error) {
    setText(status, `${error.message || "That file could not be read."} Fill in the form by hand.`);
    status.dataset.kind = "error";
  }
}

async function invite(event, reload) {
  event.preventDefault();
  const value = (n) => input(n).value.trim();
  const missing = ["name", "major", "year"].filter((n) => !value(n));
  for (const name of ["name", "major", "year"]) input(name).setAttribute("aria-invalid", String(missing.includes(name)));
  if (missing.length) {
    setText(result, "Name, field and level are required.");
    result.dataset.kind = "error";
    return;
  }
  const maxMinutes = Number($("#main").dataset.maxMinutes) || 60;
  const minutes = Number(value("minutes") || maxMinutes);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > maxMinutes) {
    setText(result, `The interview length must be a whole number of minutes from 1 to ${maxMinutes}.`);
    result.dataset.kind = "error";
    input("minutes").setAttribute("aria-invalid", "true");
    return;
  }
  input("minutes").setAttribute("aria-invalid", "false");
  const candidate = {
    name: value("name"),
    major: value("major"),
    year: value("year"),
    target_role: value("target_role"),
    skills: value("skills").split(",").map((s) => s.trim()).filter(Boolean),
    resume_text: input("resume_text").value,
  };
  const json = {
    candidate,
    // The API's floor is a minute; a shorter limit is not an interview.
    settings: { max_duration_s: Math.max(60, minutes * 60), language: value("language") || "en" },
  };
  if (value("note")) json.note = value("note");
  if (value("reference")) json.reference = value("reference");
  try {
    const created = await api("/api/interviews", { method: "POST", json });
    const status = el("p", { class: "status", role: "status" });
    result.replaceChildren(
      el("p", {}, `Send this link to ${candidate.name}:`),
      linkBox(created.candidate_url, "invite-link", status),
      status,
    );
    result.dataset.kind = "ok";
    form.reset();
    input("resume_text").value = "";
    setText($("#inv-resume-status"), "");
    await reload();
  } catch (error) {
    setText(result, error.message);
    result.dataset.kind = "error";
  }
}

async function bulk(event, reload) {
  event.preventDefault();
  const status = $("#bulk-result");
  const errors = $("#bulk-errors");
  errors.replaceChildren();
  const file = $("#bulk-file").files && $("#bulk-file").files[0];
  if (!file) {
    setText(status, "Choose a CSV file first.");
    status.dataset.kind = "error";
    return;
  }
  const data = new FormData();
  data.append("file", file);
  setText(status, "Creating the links…");
  status.dataset.kind = "busy";
  let response;
  try {
    response = await fetch("/api/invites/bulk", { method: "POST", body: data, credentials: "same-origin" });
  } catch {
    setText(status, "We could not reach the server. Try again.");
    status.dataset.kind = "error";
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const err = body.error || {};
    const lines = Array.isArray(err.details) ? err.details : [];
    setText(status, lines.length ? `Nothing was created: ${lines.length} line(s) need fixing.` : err.message || `The server answered ${response.status}.`);
    status.dataset.kind = "error";
    errors.replaceChildren(...lines.filter((l) => l && l.line).map((l) => el("li", { "data-line": l.line }, `Line ${l.line}: ${(l.problems || []).join(" ")}`)));
    return;
  }
  const text = await response.text();
  const count = Math.max(0, text.trim().split(/\r?\n/).length - 1);
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  setText(status, `${count} link(s) created. `);
  status.append(el("a", { href: url, download: "invites.csv", id: "bulk-download" }, "Download the links (CSV)"));
  status.dataset.kind = "ok";
  await reload();
}

/** The link dialog of one interview: shown again, copied, re-issued. */
export async function showLink(item, reload) {
  const dialog = $("#link-dialog");
  const status = $("#link-status");
  setText(status, "");
  setText($("#link-for"), `For ${item.candidate_name || "(no name)"}${item.reference ? ` (${item.reference})` : ""}.`);
  setText($("#shown-link"), "");
  setText($("#link-note"), "");
  show(dialog, true);
  dialog.dataset.id = item.id;
  const fill = (link) => {
    setText($("#shown-link"), link.candidate_url);
    setText($("#link-note"), link.note ? `Note: ${link.note}` : "");
    dialog.dataset.url = link.candidate_url;
  };
  try {
    fill(await api(`/api/interviews/${encodeURIComponent(item.id)}/link`));
  } catch (error) {
    setText(status, error.message);
    status.dataset.kind = "error";
  }
  $("#reissue-link").onclick = async () => {
    if (!window.confirm("Make a new link? The current link stops working at once.")) return;
    try {
      fill(await api(`/api/interviews/${encodeURIComponent(item.id)}/reissue`, { method: "POST" }));
      setText(status, "A new link was made; the old one no longer works.");
      status.dataset.kind = "ok";
      await reload();
    } catch (error) {
      setText(status, error.message);
      status.dataset.kind = "error";
    }
  };
  $("#copy-shown-link").onclick = () => dialog.dataset.url && copyText(dialog.dataset.url, status);
  $("#close-link").onclick = () => show(dialog, false);
  dialog.scrollIntoView({ block: "nearest" });
}

export function setUpInvites(reload) {
  $("#inv-resume").addEventListener("change", uploadResume);
  form.addEventListener("submit", (event) => invite(event, reload));
  $("#bulk-form").addEventListener("submit", (event) => bulk(event, reload));
}
