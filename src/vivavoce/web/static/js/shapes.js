// Tolerant readers for API bodies. The REST API is the contract, but a page should still
// render something sensible when a field is missing or the shape is an older variant.

/** Transcript turns from `GET /api/interviews/{id}/transcript?format=json`. */
export function readTurns(body) {
  const list = Array.isArray(body) ? body : (body && (body.turns || body.items || body.transcript)) || [];
  return list
    .filter((t) => t && typeof t === "object")
    .map((t, index) => ({
      n: Number.isFinite(Number(t.sequence)) ? Number(t.sequence) : index + 1,
      speaker: normaliseSpeaker(t.speaker || t.role),
      text: String(t.text || t.content || ""),
      at: t.started_at || t.at || null,
      // "interrupted": the candidate cut the interviewer short; fullText is what the
      // interviewer was saying in full (text is what was heard).
      interrupted: t.state === "interrupted",
      fullText: t.full_text ? String(t.full_text) : null,
    }))
    .filter((t) => t.text.trim() !== "");
}

export function normaliseSpeaker(value) {
  const v = String(value || "").toLowerCase();
  return v === "candidate" || v === "user" || v === "student" ? "candidate" : "interviewer";
}

/** Dimensions as [{id, name, score, justification}] from a list or a {key: {...}} map. */
export function readDimensions(evaluation) {
  const raw = evaluation.dimensions || [];
  const list = Array.isArray(raw)
    ? raw
    : Object.entries(raw).map(([id, d]) => ({ id, ...(d || {}) }));
  return list
    .filter((d) => d && Number.isFinite(Number(d.score)))
    .map((d) => ({
      id: String(d.id || d.key || d.name || ""),
      name: String(d.name || d.title || d.id || d.key || ""),
      score: Math.max(0, Math.min(5, Number(d.score))),
      justification: String(d.justification || ""),
    }));
}

export function readList(value) {
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? v : v && (v.text || v.title) ? String(v.text || v.title) : JSON.stringify(v)));
  if (typeof value === "string" && value.trim()) return [value];
  return [];
}

export function readQuestions(evaluation) {
  const list = evaluation.per_question || evaluation.questions || [];
  return Array.isArray(list) ? list.filter((q) => q && typeof q === "object") : [];
}

/** Total tokens and cost of an interview record, whatever the exact field names. */
export function readUsage(record) {
  const usage = (record && record.usage) || {};
  const sum = (...names) => names.reduce((acc, n) => acc + (Number(usage[n] ?? record[n]) || 0), 0);
  let tokens = Number(usage.total_tokens ?? record.total_tokens);
  if (!Number.isFinite(tokens)) {
    tokens = sum("input_text_tokens", "input_audio_tokens", "output_text_tokens", "output_audio_tokens");
  }
  const costSource = record.cost ?? usage.cost_usd ?? record.cost_usd;
  const cost =
    costSource && typeof costSource === "object"
      ? Number(costSource.total_usd ?? costSource.usd ?? costSource.total)
      : Number(costSource);
  return { tokens: Number.isFinite(tokens) ? tokens : 0, cost: Number.isFinite(cost) ? cost : 0 };
}

/** Duration in seconds from started/ended timestamps (or a duration field). */
export function readDuration(record) {
  // Number(null) is 0: a missing duration must stay unknown, not become "0:00".
  const given = record.duration_seconds;
  if (given !== null && given !== undefined && given !== "" && Number.isFinite(Number(given))) {
    return Number(given) >= 1 ? Number(given) : null;
  }
  const start = Date.parse(record.started_at || "");
  const end = Date.parse(record.ended_at || "");
  if (!Number.isFinite(start) || !Number.isFinite(end)) return null;
  const seconds = (end - start) / 1000;
  // Under a second is no interview worth a length (a start that failed at once).
  return seconds >= 1 ? seconds : null;
}
