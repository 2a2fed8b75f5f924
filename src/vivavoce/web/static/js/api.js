// fetch() wrapper for vivavoce's REST API: JSON in, JSON out, and one error type whose
// code/message come from the server's {"error": {code, message, details}} body.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * Call the API. options: method, json (a body to send as JSON), form (FormData), token
 * (sent as Authorization: Bearer). Resolves to the parsed body (or text); rejects with
 * ApiError — status 0 and code "network" when the server could not be reached.
 */
export async function api(url, { method = "GET", json, form, token, signal } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url, { method, headers, body, signal, credentials: "same-origin" });
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError(0, "network", "We could not reach the server. Check your connection and try again.");
  }
  const type = response.headers.get("content-type") || "";
  let data = null;
  if (response.status !== 204) {
    data = type.includes("json") ? await response.json().catch(() => null) : await response.text();
  }
  if (!response.ok) {
    const err = (data && typeof data === "object" && data.error) || {};
    throw new ApiError(
      response.status,
      err.code || `http_${response.status}`,
      err.message || `The server answered ${response.status}.`,
      err.details,
    );
  }
  return data;
}

/** Add ?token=… to a URL (for links that cannot carry a header, such as downloads). */
export function withToken(url, token) {
  if (!token) return url;
  const sep = url.includes("?") ? "&" : "?";
  return `${url}${sep}token=${encodeURIComponent(token)}`;
}
