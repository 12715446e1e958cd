// Talks to the server: the login session (REST /api/v1/auth) and GraphQL.
// Every write carries the session's CSRF token in X-CSRF-Token.

let me = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(message, code, fields = [], status = 0) {
    super(message);
    this.code = code;
    this.fields = fields;
    this.status = status;
  }
}

export function currentUser() {
  return me;
}

export function isAdmin() {
  return me?.role === 'admin';
}

const CLIENT_KEY = 'tessera.activeClient';

/// The client the platform operator is looking at (its own when unset);
/// `null` for everybody else, whose lists are always their own client's.
export function activeClient() {
  if (!me?.is_platform) return null;
  return sessionStorage.getItem(CLIENT_KEY) || null;
}

export function setActiveClient(id) {
  if (id) sessionStorage.setItem(CLIENT_KEY, id);
  else sessionStorage.removeItem(CLIENT_KEY);
}

/// `filter` with the active client named (platform operator only).
export function scoped(filter = {}) {
  const c = activeClient();
  return c ? { ...filter, clientIds: [c] } : filter;
}

/// Called with the user (or null) whenever the login state changes.
export function onAuthChange(fn) {
  listeners.add(fn);
}

function setUser(user) {
  me = user;
  listeners.forEach((fn) => fn(me));
}

async function problem(resp) {
  let body = {};
  try {
    body = await resp.json();
  } catch {
    /* not JSON */
  }
  const message = body.detail || body.title || `request failed (${resp.status})`;
  return new ApiError(message, body.code || String(resp.status), body.errors || [], resp.status);
}

export async function loadMe() {
  const resp = await fetch('/api/v1/auth/me', { credentials: 'same-origin' });
  if (resp.status === 401) {
    setUser(null);
    return null;
  }
  if (!resp.ok) throw await problem(resp);
  setUser(await resp.json());
  return me;
}

export async function login(email, password) {
  const resp = await fetch('/api/v1/auth/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (!resp.ok) throw await problem(resp);
  setUser(await resp.json());
  return me;
}

export async function logout() {
  const resp = await fetch('/api/v1/auth/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': me?.csrf_token || '' },
  });
  setActiveClient(null);
  setUser(null);
  if (!resp.ok && resp.status !== 401) throw await problem(resp);
}

/// Runs a GraphQL operation; throws ApiError with the server's machine code
/// (`extensions.code`) and field errors.
export async function gql(query, variables = {}) {
  const resp = await fetch('/graphql', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me?.csrf_token || '' },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await resp.json();
  } catch {
    throw new ApiError(`the server answered ${resp.status}`, 'http_' + resp.status, [], resp.status);
  }
  if (resp.status === 401) {
    setUser(null);
  }
  if (body.errors && body.errors.length) {
    const e = body.errors[0];
    const ext = e.extensions || {};
    throw new ApiError(e.message, ext.code || 'error', ext.errors || [], resp.status);
  }
  return body.data;
}
