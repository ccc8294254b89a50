// Thin wrappers over the RecoMind HTTP API (same origin, JSON in and out).

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function request(method, path, body, { keepalive = false } = {}) {
  const init = { method, headers: { accept: "application/json" }, keepalive };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
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
  createUser: (name) => request("POST", "/users", { name }),
  user: (userId) => request("GET", `/users/${enc(userId)}`),
  users: (limit = 50) => request("GET", `/users?limit=${limit}`),
  profile: (userId) => request("GET", `/users/${enc(userId)}/profile`),
  actions: (userId, actionType, limit = 20) =>
    request("GET", `/users/${enc(userId)}/actions?action_type=${actionType}&limit=${limit}`),
  stats: () => request("GET", "/api/stats"),
};
