// Who is signed in, and the credentials the app sends.
// The user (id, name) and their token are kept in localStorage; the token comes from the
// demo's sign-in (POST /auth/token: choose a user, no password). An admin key pasted on the
// dashboard is kept in sessionStorage (this tab only) and sent for admin calls.

const KEY = "recomind.user";
const ADMIN_KEY = "recomind.adminKey";
const listeners = new Set();

export function currentUser() {
  try {
    const raw = localStorage.getItem(KEY);
    const user = raw ? JSON.parse(raw) : null;
    return user && typeof user.user_id === "string" ? user : null;
  } catch {
    return null;
  }
}

// `token` and `expiresAt` (ms) come with a sign-in; a user without them gets a token on the
// first call that needs one.
export function signIn(user, token = null, expiresAt = null) {
  localStorage.setItem(KEY, JSON.stringify({
    user_id: user.user_id, name: user.name, token, expires_at: expiresAt,
  }));
  listeners.forEach((fn) => fn(currentUser()));
}

export function setToken(token, expiresAt) {
  const user = currentUser();
  if (!user) return;
  localStorage.setItem(KEY, JSON.stringify({ ...user, token, expires_at: expiresAt }));
}

export function signOut() {
  localStorage.removeItem(KEY);
  listeners.forEach((fn) => fn(null));
}

export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function adminKey() {
  try {
    return sessionStorage.getItem(ADMIN_KEY) || null;
  } catch {
    return null;
  }
}

export function setAdminKey(key) {
  if (key) sessionStorage.setItem(ADMIN_KEY, key);
  else sessionStorage.removeItem(ADMIN_KEY);
}
