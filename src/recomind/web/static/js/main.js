// The app shell: a hash router over the feed, sign-in, profile, dashboard and experiments views.

import { mountDashboard } from "./dashboard.js";
import { mountExperiment, mountExperiments } from "./experiments.js";
import { mountFeed } from "./feed.js";
import { mountProfile } from "./profile.js";
import { currentUser, onSessionChange } from "./session.js";
import { mountSignIn } from "./signin.js";

const routes = {
  "#/": mountFeed,
  "#/signin": mountSignIn,
  "#/profile": mountProfile,
  "#/dashboard": mountDashboard,
  "#/experiments": mountExperiments,
};
// `#/experiments/<name>`: one experiment (the name is URL-encoded in the hash).
const EXPERIMENT = "#/experiments/";

function resolve(hash) {
  if (routes[hash]) return { hash, mount: routes[hash] };
  if (hash.startsWith(EXPERIMENT) && hash.length > EXPERIMENT.length) {
    let name = hash.slice(EXPERIMENT.length);
    try {
      name = decodeURIComponent(name);
    } catch {
      // a malformed escape: look the name up as written (the page says if it is unknown)
    }
    return { hash: "#/experiments", mount: (main) => mountExperiment(main, name) };
  }
  return { hash: "#/", mount: routes["#/"] };
}

const main = document.getElementById("main");
let cleanup = () => {};

function route() {
  const { hash, mount } = resolve(location.hash);
  cleanup();
  main.replaceChildren();
  document.body.dataset.view = hash.slice(2) || "feed";
  cleanup = mount(main) || (() => {});
  for (const b of document.querySelectorAll("[data-route]")) {
    if (b.classList.contains("brand")) continue;
    if (b.dataset.route === hash || (b.id === "nav-account" && hash === "#/signin")) {
      b.setAttribute("aria-current", "page");
    } else {
      b.removeAttribute("aria-current");
    }
  }
}

function updateAccount() {
  const user = currentUser();
  const b = document.getElementById("nav-account");
  b.textContent = user ? user.name : "Sign in";
  b.dataset.route = user ? "#/profile" : "#/signin";
  b.setAttribute("aria-label", user ? `Profile of ${user.name}` : "Sign in");
}

document.addEventListener("click", (e) => {
  const b = e.target instanceof Element ? e.target.closest("[data-route]") : null;
  if (!b) return;
  if (location.hash === b.dataset.route) route();
  else location.hash = b.dataset.route;
});
window.addEventListener("hashchange", route);
onSessionChange(updateAccount);
updateAccount();
route();
