// Who is signed in: a user chosen or created in the web app, kept in localStorage.
// (Real authentication comes later; this only remembers an id and a name.)

const KEY = "recomind.user";
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

export function signIn(user) {
  localStorage.setItem(KEY, JSON.stringify({ user_id: user.user_id, name: user.name }));
  listeners.forEach((fn) => fn(currentUser()));
}

export function signOut() {
  localStorage.removeItem(KEY);
  listeners.forEach((fn) => fn(null));
}

export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
