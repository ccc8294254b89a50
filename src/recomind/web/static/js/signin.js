// Sign in: create a user by name, or choose one by id or from the list. The demo's sign-in
// (POST /auth/token) has no password: it gives a token for whichever user you choose. A real
// app signs its users in itself and mints their tokens in its backend (docs/security.md).

import { api, requestToken } from "./api.js";
import { signIn } from "./session.js";
import { h, toast } from "./ui.js";

export function mountSignIn(container) {
  const nameInput = h("input", {
    id: "new-name", name: "name", required: true, maxlength: 200, autocomplete: "nickname",
    placeholder: "e.g. Sam",
  });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "panel", "aria-labelledby": "create-title" },
    h("h2", { id: "create-title" }, "New here?"),
    h("label", { for: "new-name" }, "Your name"),
    nameInput,
    h("button", { type: "submit", class: "primary", "aria-label": "Create account and sign in" },
      "Create and sign in"),
    error,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      error.textContent = "Please enter a name.";
      return;
    }
    try {
      done(await requestToken({ name }));
    } catch (err) {
      error.textContent = `Could not create the account: ${err.message}`;
    }
  });

  const idInput = h("input", {
    id: "user-id", name: "user_id", required: true, maxlength: 128, autocomplete: "username",
    placeholder: "e.g. u2", pattern: "[A-Za-z0-9_.:\\-]{1,128}",
  });
  const idError = h("p", { class: "form-error", role: "alert" });
  const idForm = h("form", { class: "panel", "aria-labelledby": "id-title" },
    h("h2", { id: "id-title" }, "Have a user id?"),
    h("label", { for: "user-id" }, "Your user id"),
    idInput,
    h("button", { type: "submit", class: "primary", "aria-label": "Sign in with this user id" },
      "Sign in"),
    idError,
  );
  idForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const userId = idInput.value.trim();
    try {
      done(await requestToken({ userId }));
    } catch (err) {
      idError.textContent = err.status === 404 ? `No user ${userId}.` : `Could not sign in: ${err.message}`;
    }
  });

  const list = h("ul", { class: "user-list", "aria-label": "Existing users" },
    h("li", {}, "Loading users…"));
  const view = h("section", { class: "page signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h("p", { class: "muted" },
      "Choose who you are to get a personal feed. (A demo: no passwords; you get a token for the user you choose.)"),
    form,
    idForm,
    h("section", { class: "panel", "aria-labelledby": "pick-title" },
      h("h2", { id: "pick-title" }, "Or continue as"), list),
  );
  container.append(view);
  nameInput.focus();

  function done(issued) {
    signIn(issued.user, issued.access_token, issued.expiresAt);
    toast(`Signed in as ${issued.user.name}`);
    location.hash = "#/";
  }

  async function pick(u) {
    try {
      done(await requestToken({ userId: u.user_id }));
    } catch (err) {
      toast(`Could not sign in: ${err.message}`);
    }
  }

  api.users(50).then((users) => {
    list.replaceChildren(
      ...users.map((u) => h("li", {},
        h("button", {
          type: "button", class: "user-pick", dataset: { userId: u.user_id },
          "aria-label": `Sign in as ${u.name} (${u.user_id})`, onclick: () => pick(u),
        }, h("span", { class: "avatar", "aria-hidden": "true" }, (u.name[0] || "?").toUpperCase()),
        h("span", {}, u.name), h("small", {}, u.user_id)))),
    );
    if (!users.length) list.replaceChildren(h("li", {}, "No users yet: create one above."));
  }).catch((err) => list.replaceChildren(h("li", { class: "muted" },
    err.status === 401 || err.status === 403
      ? "Listing users needs the admin key (paste it on the dashboard). The demo's users are u1 … u40."
      : `Could not list users: ${err.message}`)));

  return () => view.remove();
}
