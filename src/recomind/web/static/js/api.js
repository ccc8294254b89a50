// Thin wrappers over the RecoMind HTTP API (same origin, JSON in and out).
// Every call carries a credential: the signed-in user's token for the user's own data, the
// admin key (pasted on the dashboard) for admin calls; none when there is neither.

import { adminKey, currentUser, setToken } from "./session.js";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

// A body that is not JSON (a proxy's error page) becomes a readable error, not a SyntaxError.
function parseJson(text, status) {
  try {
    return JSON.parse(text);
  } catch {
    return { message: `the server answered HTTP ${status} without a JSON body` };
  }
}

async function send(method, path, body, headers, keepalive) {
  const init = { method, headers: { accept: "application/json", ...headers }, keepalive };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  const data = text ? parseJson(text, res.status) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// The demo's sign-in: a token for a user id (created under `name` if it does not exist).
export async function requestToken({ userId, name }) {
  const body = {};
  if (userId) body.user_id = userId;
  if (name) body.name = name;
  const issued = await send("POST", "/auth/token", body, {}, false);
  return { ...issued, expiresAt: Date.now() + 1000 * (issued.expires_in - 30) };
}

async function userToken(renew) {
  const user = currentUser();
  if (!user) return null;
  if (!renew && user.token && (user.expires_at || 0) > Date.now()) return user.token;
  const issued = await requestToken({ userId: user.user_id, name: user.name || user.user_id });
  setToken(issued.access_token, issued.expiresAt);
  return issued.access_token;
}

async function credential(as, renew) {
  const key = adminKey();
  if (as === "admin" && key) return key;
  try {
    return (await userToken(renew)) || key;
  } catch {
    return key;
  }
}

async function request(method, path, body, { keepalive = false, as = "user" } = {}) {
  const auth = async (renew) => {
    const token = await credential(as, renew);
    return token ? { authorization: `Bearer ${token}` } : {};
  };
  try {
    return await send(method, path, body, await auth(false), keepalive);
  } catch (err) {
    // An expired or foreign token (the server's secret changed): sign in again, once.
    if (!(err instanceof ApiError) || err.status !== 401 || !currentUser()) throw err;
    return send(method, path, body, await auth(true), keepalive);
  }
}

const enc = encodeURIComponent;

export const api = {
  trending: (n) => request("GET", `/trending?n=${n}`),
  recommendations: (userId, n) => request("GET", `/recommendations/${enc(userId)}?n=${n}`),
  action: (userId, videoId, actionType, watchTimeMs, opts) =>
    request(
      "POST",
      "/video_action",
      {
        user_id: userId,
        video_id: videoId,
        action_type: actionType,
        ...(watchTimeMs == null ? {} : { watch_time_ms: Math.max(0, Math.round(watchTimeMs)) }),
      },
      opts,
    ),
  user: (userId) => request("GET", `/users/${enc(userId)}`),
  users: (limit = 50) => request("GET", `/users?limit=${limit}`, undefined, { as: "admin" }),
  profile: (userId) => request("GET", `/users/${enc(userId)}/profile`),
  actions: (userId, actionType, limit = 20) =>
    request("GET", `/users/${enc(userId)}/actions?action_type=${actionType}&limit=${limit}`),
  stats: () => request("GET", "/api/stats", undefined, { as: "admin" }),
  experiments: () => request("GET", "/experiments", undefined, { as: "admin" }),
  experiment: (name) => request("GET", `/experiments/${enc(name)}`, undefined, { as: "admin" }),
  experimentResults: (name) =>
    request("GET", `/experiments/${enc(name)}/results`, undefined, { as: "admin" }),
  stopExperiment: (name) =>
    request("POST", `/experiments/${enc(name)}/stop`, {}, { as: "admin" }),
  shipExperiment: (name, variant) =>
    request("POST", `/experiments/${enc(name)}/ship`, variant ? { variant } : {}, { as: "admin" }),
};
