// The admin-key form the admin pages (dashboard, experiments) show when a call is refused:
// the pasted key is kept in this tab (sessionStorage, see session.js) and sent for admin calls.

import { setAdminKey } from "./session.js";
import { h } from "./ui.js";

/** `{ el, show(), hide() }`: a hidden form; submitting it stores the key and calls `onKey`. */
export function adminKeyForm({ label, onKey }) {
  const input = h("input", {
    id: "admin-key", name: "admin_key", type: "password", autocomplete: "off",
    placeholder: "rmk_…", required: true,
  });
  const el = h("form", { class: "panel admin-key", "aria-labelledby": "key-title", hidden: true },
    h("h2", { id: "key-title" }, "Admin key"),
    h("label", { for: "admin-key" }, label),
    input,
    h("button", { type: "submit", class: "primary" }, "Use key"),
  );
  el.addEventListener("submit", (e) => {
    e.preventDefault();
    setAdminKey(input.value.trim());
    input.value = "";
    onKey();
  });
  return {
    el,
    show() {
      el.hidden = false;
      input.focus();
    },
    hide() {
      el.hidden = true;
    },
  };
}

/** True when the API refused the credential (none, wrong, or without the needed scope). */
export function refused(err) {
  return err != null && (err.status === 401 || err.status === 403);
}
