// Sign in: pick an existing user or create one by name (no passwords yet).

import { api } from "./api.js";
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
      done(await api.createUser(name));
    } catch (err) {
      error.textContent = `Could not create the account: ${err.message}`;
    }
  });

  const list = h("ul", { class: "user-list", "aria-label": "Existing users" },
    h("li", {}, "Loading users…"));
  const view = h("section", { class: "page signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h("p", { class: "muted" }, "Choose who you are to get a personal feed. (Real accounts come later.)"),
    form,
    h("section", { class: "panel", "aria-labelledby": "pick-title" },
      h("h2", { id: "pick-title" }, "Or continue as"), list),
  );
  container.append(view);
  nameInput.focus();

  function done(user) {
    signIn(user);
    toast(`Signed in as ${user.name}`);
    location.hash = "#/";
  }

  api.users(50).then((users) => {
    list.replaceChildren(
      ...users.map((u) => h("li", {},
        h("button", {
          type: "button", class: "user-pick", dataset: { userId: u.user_id },
          "aria-label": `Sign in as ${u.name} (${u.user_id})`, onclick: () => done(u),
        }, h("span", { class: "avatar", "aria-hidden": "true" }, (u.name[0] || "?").toUpperCase()),
        h("span", {}, u.name), h("small", {}, u.user_id)))),
    );
    if (!users.length) list.replaceChildren(h("li", {}, "No users yet: create one above."));
  }).catch((err) => list.replaceChildren(h("li", {}, `Could not list users: ${err.message}`)));

  return () => view.remove();
}
