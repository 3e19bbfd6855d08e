// The JSON API client: every state-changing request carries the CSRF token (DESIGN §3).

const BASE = "/api/v1/";
let csrf = null;

export function setCsrf(token) {
  csrf = token;
}

/** The session's CSRF token, for requests not sent through call() (uploads). */
export function csrfToken() {
  return csrf;
}

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(detail || error || `HTTP ${status}`);
    this.status = status;
    this.error = error;
  }
}

/** Called with no argument when the node says the session is gone (401). */
export let onLoggedOut = () => {};
export function setLoggedOutHandler(fn) {
  onLoggedOut = fn;
}

/** Called after every answer from the node (the link works: a dropped socket may retry). */
export let onAnswer = () => {};
export function setAnswerHandler(fn) {
  onAnswer = fn;
}

export async function call(method, path, { body, params, quiet401, headers: extra } = {}) {
  let url = BASE + path;
  if (params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null) query.set(key, value);
    }
    const text = query.toString();
    if (text) url += "?" + text;
  }
  const headers = { ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  let resp;
  try {
    resp = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, "offline", "the node did not answer; check the link and try again");
  }
  onAnswer();
  let data = null;
  try {
    data = await resp.json();
  } catch (err) {
    data = null;
  }
  if (!resp.ok) {
    if (resp.status === 401 && !quiet401) onLoggedOut();
    throw new ApiError(resp.status, data && data.error, data && data.detail);
  }
  return data;
}

export const get = (path, params, opts) => call("GET", path, { params, ...opts });
export const post = (path, body, headers) => call("POST", path, { body, headers });
export const patch = (path, body) => call("PATCH", path, { body });
export const del = (path) => call("DELETE", path);
