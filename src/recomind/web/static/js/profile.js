// Profile: the signed-in user's top tags and recent likes.

import { api } from "./api.js";
import { currentUser, signOut } from "./session.js";
import { h, tagHue, timeAgo } from "./ui.js";

export function mountProfile(container) {
  const user = currentUser();
  if (!user) {
    location.hash = "#/signin";
    return () => {};
  }
  const tags = h("ol", { class: "top-tags", "aria-label": "Top tags" }, h("li", {}, "Loading…"));
  const likes = h("ul", { class: "likes", "aria-label": "Recent likes" }, h("li", {}, "Loading…"));
  const view = h("section", { class: "page profile", "aria-labelledby": "profile-title" },
    h("div", { class: "profile-head" },
      h("span", { class: "avatar big", "aria-hidden": "true" }, (user.name[0] || "?").toUpperCase()),
      h("div", {},
        h("h1", { id: "profile-title" }, user.name),
        h("p", { class: "muted" }, `User id ${user.user_id}`)),
      h("button", {
        type: "button", class: "secondary", "aria-label": "Sign out",
        onclick: () => { signOut(); location.hash = "#/"; },
      }, "Sign out"),
    ),
    h("section", { class: "panel", "aria-labelledby": "tags-title" },
      h("h2", { id: "tags-title" }, "Your top tags"), tags),
    h("section", { class: "panel", "aria-labelledby": "likes-title" },
      h("h2", { id: "likes-title" }, "Recent likes"), likes),
  );
  container.append(view);

  api.profile(user.user_id).then((p) => {
    const top = p.top_tags.slice(0, 10);
    const max = Math.max(...top.map((t) => p.tag_weights[t] || 0), 1e-9);
    tags.replaceChildren(...top.map((t) => {
      const w = p.tag_weights[t] || 0;
      return h("li", { style: `--hue: ${tagHue(t)}` },
        h("span", { class: "tag-name" }, `#${t}`),
        h("span", {
          class: "bar", role: "img", "aria-label": `weight ${w.toFixed(2)}`,
          style: `--w: ${Math.max(4, (100 * w) / max)}%`,
        }));
    }));
    if (!top.length) tags.replaceChildren(h("li", { class: "muted" }, "Like a few videos to build your profile."));
  }).catch((err) => tags.replaceChildren(h("li", {}, `Could not load the profile: ${err.message}`)));

  api.actions(user.user_id, "like", 20).then((rows) => {
    likes.replaceChildren(...rows.map((r) => h("li", { dataset: { videoId: r.video_id } },
      h("span", { class: "like-title" }, r.title || r.video_id),
      h("span", { class: "muted" }, `${r.tags.map((t) => `#${t}`).join(" ")} · ${timeAgo(r.timestamp)}`),
    )));
    if (!rows.length) likes.replaceChildren(h("li", { class: "muted" }, "No likes yet."));
  }).catch((err) => likes.replaceChildren(h("li", {}, `Could not load likes: ${err.message}`)));

  return () => view.remove();
}
