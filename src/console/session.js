// The signed-in user and their token, kept for this tab only (sessionStorage), and the API
// calls made with it. A 401 ends the session: the token was revoked or expired.

const KEY = "belfry.session";

let current = null;
try {
  current = JSON.parse(sessionStorage.getItem(KEY));
} catch {
  current = null;
}
if (current && Date.parse(current.expiresAt) <= Date.now()) current = null;

const listeners = new Set();

export function session() {
  return current;
}

export function onSessionChange(listener) {
  listeners.add(listener);
}

function set(value) {
  current = value;
  if (value) sessionStorage.setItem(KEY, JSON.stringify(value));
  else sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener(current);
}

/** An API error with the server's code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API; answers the parsed JSON (or null), throws an ApiError otherwise. A body is
 * sent as JSON unless `contentType` says otherwise (then it is sent as it is). */
export async function api(method, path, body, contentType) {
  const headers = {};
  if (current) headers.authorization = `Bearer ${current.token}`;
  if (body !== undefined) headers["content-type"] = contentType ?? "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined || contentType ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check the connection.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = data?.error ?? {};
    if (response.status === 401 && current) set(null);
    throw new ApiError(response.status, error.code ?? "http_" + response.status,
      error.message ?? `The server answered ${response.status}.`);
  }
  return data;
}

export async function signIn(email, password) {
  const answer = await api("POST", "/api/auth/login", { email, password });
  set({ token: answer.token, expiresAt: answer.expiresAt, user: answer.user });
}

/** Keeps a token the server issued in place of the current one (after a password change). */
export function replaceToken(answer) {
  set({ token: answer.token, expiresAt: answer.expiresAt, user: answer.user });
}

/** The user's own name changed. */
export function renamed(name) {
  if (current) set({ ...current, user: { ...current.user, name } });
}

export async function signOut() {
  try {
    await api("POST", "/api/auth/logout");
  } catch {
    // Signed out here whatever the server says.
  }
  set(null);
}

export function isAdmin() {
  return current?.user.role === "admin" || current?.user.role === "operator";
}

let document = null;

/** The API's own OpenAPI document (fetched once): the console reads enumerations from it
 * rather than keeping lists of its own. */
export function apiDocument() {
  document ??= api("GET", "/api/openapi.json").catch((e) => {
    document = null;
    throw e;
  });
  return document;
}
