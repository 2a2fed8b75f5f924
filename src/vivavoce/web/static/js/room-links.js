// The room's addresses: its /voice socket, its results page, the link itself; and the
// candidate details the start page left for it.

export function wsUrl(token) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  return `${scheme}://${location.host}/voice${query}`;
}

export function candidateContext(interviewId) {
  // Filled in on the start page for this interview (the server also knows it from the
  // interview record; an invitation link arrives without it).
  try {
    const saved = sessionStorage.getItem(`vivavoce.candidate.${interviewId}`);
    return saved ? JSON.parse(saved) : undefined;
  } catch {
    return undefined;
  }
}

export function resultsUrl(interviewId, token) {
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  return `/results/${encodeURIComponent(interviewId)}${query}`;
}

/** The link's own address, to keep: the page's, without a fragment. */
export function linkAddress() {
  return location.href.split("#")[0];
}
