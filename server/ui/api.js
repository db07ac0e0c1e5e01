// The JSON API, through relative URLs under the app's root, with the token
// cookie (same origin). Errors become ApiError with the server's code,
// message and, for a query syntax error, column.

import { url } from "./util.js";

/** An error answer of the API: `{"error": {"code", "message", "column"?}}`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `The server answered ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = body?.error?.code ?? "http_" + status;
    this.column = body?.error?.column ?? null;
  }
}

/**
 * Calls the API at `path` (e.g. "api/runs?q=…"); returns the parsed JSON.
 * `options.body` is sent as JSON; `options.signal` aborts.
 */
export async function api(path, options = {}) {
  const init = {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    credentials: "same-origin",
    headers: { accept: "application/json" },
    signal: options.signal,
  };
  if (options.body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(url(path), init);
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** A query string from an object, skipping undefined and empty values. */
export function qs(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** GET /api/runs: a page of runs and the total. */
export function searchRuns({ q = "", sort, limit, offset, signal } = {}) {
  return api(`api/runs${qs({ q, sort, limit, offset })}`, { signal });
}

/**
 * The newest runs first, cheaply: the server's fast order is by creation,
 * ascending, so the page is taken from the end and reversed.
 */
export async function newestRuns({ q = "", limit, offset = 0, total, signal }) {
  if (total === undefined) {
    total = (await searchRuns({ q, limit: 0, signal })).total;
  }
  const end = Math.max(0, total - offset);
  const start = Math.max(0, end - limit);
  if (end === 0) return { runs: [], total, unreadable: [] };
  const page = await searchRuns({
    q,
    limit: end - start,
    offset: start,
    signal,
  });
  page.runs.reverse();
  return page;
}

/**
 * Checks a query (and sort) without searching: null when fine, else
 * `{field, code, message, column?}`. A bad query is an answer here rather
 * than a failed request, which the browser would log as an error.
 */
export async function checkQuery(q, { kind = "runs", sort = "", signal } = {}) {
  if (!q.trim() && !sort.trim()) return null;
  const answer = await api(`ui/check${qs({ q, kind, sort })}`, { signal });
  return answer.ok ? null : answer;
}
