// Requests to the hub's own APIs (same origin; the base path comes from the page).

export const BASE = document.documentElement.dataset.base || "";

/** Absolute path of a hub URL with a query (null/empty values dropped). */
export function url(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === "") continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return `${BASE}${path}${text ? `?${text}` : ""}`;
}

/** An error from the hub: the RFC 9457 problem's detail, status and body. */
export class HubError extends Error {
  constructor(status, detail, body) {
    super(detail);
    this.status = status;
    this.body = body;
  }
}

async function problem(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const detail = (body && (body.detail || body.title)) || `${response.status} ${response.statusText}`;
  return new HubError(response.status, String(detail), body);
}

/** GET a JSON document; throws HubError with the problem's detail. */
export async function getJSON(path, query = {}, options = {}) {
  const response = await fetch(url(path, query), {
    headers: { Accept: "application/json" },
    signal: options.signal,
  });
  if (!response.ok) throw await problem(response);
  return response.json();
}

/** GET a text document (CSV). */
export async function getText(path, query = {}, options = {}) {
  const response = await fetch(url(path, query), { signal: options.signal });
  if (!response.ok) throw await problem(response);
  return response.text();
}

/** POST a JSON body; returns the JSON answer. */
export async function postJSON(path, body, options = {}) {
  const response = await fetch(url(path), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    signal: options.signal,
  });
  if (!response.ok) throw await problem(response);
  return response.json();
}

/**
 * Send a request with a method, an optional JSON body and extra headers; returns the JSON
 * answer (null for an empty body). Throws HubError with the problem's detail.
 */
export async function requestJSON(method, path, body = undefined, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url(path, options.query || {}), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: options.signal,
  });
  if (!response.ok) throw await problem(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** Forget the cached list of collections (after a job published a derived collection). */
export function forgetCollections() {
  cache.delete(url("/stac/collections", { limit: 1000 }));
}

const cache = new Map();
/** GET a JSON document once per page load (collections, tilejson without query...). */
export function getCached(path, query = {}) {
  const key = url(path, query);
  if (!cache.has(key)) {
    cache.set(key, getJSON(path, query).catch((err) => {
      cache.delete(key);
      throw err;
    }));
  }
  return cache.get(key);
}

/** Every collection of the hub (cached for the page's life). */
export function allCollections() {
  return getCached("/stac/collections", { limit: 1000 }).then((doc) => doc.collections);
}

/** One collection document (cached). */
export function collection(cid) {
  return getCached(`/stac/collections/${encodeURIComponent(cid)}`);
}

/** The set of path templates of the hub's OpenAPI document (what this hub can answer). */
export function apiPaths() {
  return getCached("/api").then((doc) => new Set(Object.keys(doc.paths || {})));
}

/** Whether the hub serves a path template (e.g. "/regions"). */
export async function hasPath(...templates) {
  const paths = await apiPaths().catch(() => new Set());
  return templates.some((t) => paths.has(t));
}
