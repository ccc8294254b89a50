// The experiments pages (admin): `#/experiments` lists them, `#/experiments/<name>` shows one:
// its verdict and caveats, per-variant figures with intervals, the figures over time, the
// sample-ratio check, and Stop / Ship with a confirm step. Data: the /experiments routes.

import { adminKeyForm, refused } from "./admin_key.js";
import { api, ApiError } from "./api.js";
import { overTimePanel } from "./experiment_chart.js";
import { srmText, variantCards, verdictBody, verdictText } from "./experiment_results.js";
import { h, timeAgo, toast } from "./ui.js";

const REFRESH_MS = 10000;
const KEY_LABEL = "Experiments need a key with the admin scope (recomind demo prints one)";

/** A readable sentence for a failed call, never the raw body. */
export function problem(err, what) {
  if (refused(err)) return "Paste an admin key to see the experiments (this key lacks the admin scope, or there is none).";
  if (err instanceof ApiError) return `Could not ${what}: ${err.message}${err.status >= 500 ? " (try again shortly)" : ""}`;
  return `Could not ${what}: the server did not answer.`;
}

const statusChip = (status) => h("span", { class: `chip status status-${status}` }, status);
const hrefOf = (name) => `#/experiments/${encodeURIComponent(name)}`;

function page(title, ...body) {
  return h("section", { class: "page experiments", "aria-labelledby": "exp-title" },
    h("div", { class: "dash-head" }, h("h1", { id: "exp-title" }, ...title),
      h("div", { class: "head-actions" },
        h("button", { type: "button", class: "secondary", "data-route": "#/dashboard" }, "Dashboard"),
        h("button", { type: "button", class: "secondary", id: "exp-refresh", "aria-label": "Refresh now" }, "Refresh"))),
    ...body);
}

/** Mount the periodic loader shared by both views; returns the cleanup. */
function mountLoader(container, view, keyForm, message, load) {
  async function refresh() {
    try {
      const note = await load(); // a sentence to show instead of the figures, or nothing
      keyForm.hide();
      message.textContent = note || "";
    } catch (err) {
      message.textContent = problem(err, "load the experiments");
      if (refused(err)) keyForm.show();
      else keyForm.hide();
    }
  }
  view.querySelector("#exp-refresh").addEventListener("click", () => refresh());
  container.append(view);
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => {
    clearInterval(timer);
    view.remove();
  };
}

function listItem(e) {
  const variants = e.variants.map((v) => `${v.name} (${v.ranker})`).join(" vs ");
  const when = e.status === "running" ? `started ${timeAgo(e.created_at)}`
    : e.status === "shipped" ? `shipped ${e.shipped_variant} ${timeAgo(e.stopped_at || e.created_at)}`
      : `stopped ${timeAgo(e.stopped_at || e.created_at)}`;
  return h("li", { class: "exp-item", dataset: { experiment: e.name, status: e.status } },
    h("a", { href: hrefOf(e.name), class: "exp-name" }, e.name), statusChip(e.status),
    h("p", { class: "muted" }, `${e.surface} · ${variants}`),
    h("p", { class: "muted" }, `${when} · primary ${e.primary.replace("_", " ")} · horizon ${e.horizon_users} users per variant`),
    e.status === "running" ? h("p", { class: "exp-verdict" }, "…") : null);
}

/** A running experiment's verdict in one line, under its name in the list. */
async function showVerdict(item, name) {
  const line = item.querySelector(".exp-verdict");
  try {
    line.textContent = verdictText(await api.experimentResults(name)).headline;
  } catch (err) {
    line.textContent = problem(err, "load its results");
  }
}

export function mountExperiments(container) {
  const list = h("ul", { class: "exp-list", id: "experiment-list" }, h("li", { class: "muted" }, "Loading…"));
  const message = h("p", { class: "form-error", id: "exp-message", role: "status" });
  const keyForm = adminKeyForm({ label: KEY_LABEL, onKey: () => view.querySelector("#exp-refresh").click() });
  const view = page(["Experiments"], keyForm.el, message,
    h("section", { class: "panel", "aria-labelledby": "exp-list-title" },
      h("h2", { id: "exp-list-title" }, "Ranker experiments"), list));
  return mountLoader(container, view, keyForm, message, async () => {
    const { experiments } = await api.experiments();
    const items = experiments.map(listItem);
    list.replaceChildren(...items);
    await Promise.all(experiments.map((e, i) => e.status === "running" && showVerdict(items[i], e.name)));
    if (!experiments.length) {
      list.replaceChildren(h("li", { class: "muted", id: "experiments-empty" },
        "No experiments yet: create one with ", h("code", {}, "recomind experiments create"),
        " or POST /experiments."));
    }
  });
}

/** Stop / Ship with a confirm step; `update(experiment, results)` keeps it in step. */
function actionsPanel(name, reload) {
  let confirming = null;
  const stop = h("button", { type: "button", class: "secondary", id: "exp-stop" }, "Stop experiment");
  const picker = h("select", { id: "ship-variant", "aria-label": "Variant to ship" });
  const ship = h("button", { type: "button", class: "primary", id: "exp-ship" }, "Ship variant");
  const hint = h("p", { class: "muted", id: "ship-hint" });
  const question = h("p", { id: "confirm-text" });
  const yes = h("button", { type: "button", class: "primary", id: "confirm-yes" }, "Confirm");
  const no = h("button", { type: "button", class: "secondary", id: "confirm-no" }, "Cancel");
  const confirm = h("div", { class: "confirm", id: "exp-confirm", role: "alertdialog", "aria-labelledby": "confirm-text", hidden: true },
    question, h("div", { class: "head-actions" }, yes, no));
  const error = h("p", { class: "form-error", id: "action-error", role: "alert" });
  const el = h("section", { class: "panel", id: "exp-actions", "aria-labelledby": "actions-title" },
    h("h2", { id: "actions-title" }, "Stop or ship"),
    h("div", { class: "action-row" }, stop),
    h("div", { class: "action-row" }, h("label", { for: "ship-variant" }, "Ship"), picker, ship), hint, confirm, error);

  const ask = (text, run) => {
    confirming = run;
    question.textContent = text;
    confirm.hidden = false;
    error.textContent = "";
    yes.focus();
  };
  const close = () => { confirming = null; confirm.hidden = true; };
  stop.addEventListener("click", () => ask(
    `Stop ${name}? Everyone is served as before the experiment; the figures stay readable.`,
    () => api.stopExperiment(name).then(() => toast(`Stopped ${name}`))));
  ship.addEventListener("click", () => {
    const v = picker.value;
    ask(`Ship ${v} of ${name}? Its ranker becomes what the surface serves to everyone, and the experiment ends.`,
      () => api.shipExperiment(name, v).then(() => toast(`Shipped ${v}`)));
  });
  no.addEventListener("click", close);
  yes.addEventListener("click", async () => {
    const run = confirming;
    close();
    try {
      await run();
    } catch (err) {
      error.textContent = problem(err, "do that");
    }
    reload();
  });
  picker.addEventListener("change", () => { ship.disabled = !picker.value; });

  function update(exp, results) {
    if (confirming) return; // never move the buttons under the admin's pointer
    const winner = results?.verdict?.winner || null;
    const names = exp.variants.map((v) => v.name);
    const keep = picker.value;
    picker.replaceChildren(h("option", { value: "" }, "Choose a variant"),
      ...names.map((n) => h("option", { value: n }, n === winner ? `${n} (winner)` : n)));
    picker.value = names.includes(keep) ? keep : winner || "";
    stop.disabled = exp.status !== "running";
    // Only a running experiment can be shipped (the API answers 409 otherwise).
    const running = exp.status === "running";
    picker.disabled = !running;
    ship.disabled = !running || !picker.value;
    hint.textContent = exp.status === "shipped" ? `Shipped ${exp.shipped_variant}: nothing more to ship.`
      : !running ? "Stopped: everyone is served as before it; a stopped experiment cannot be shipped."
        : winner ? `The verdict's winner is ${winner}.`
          : "No winner (yet): shipping a variant now is your call, not the experiment's.";
  }
  return { el, update };
}

export function mountExperiment(container, name) {
  const message = h("p", { class: "form-error", id: "exp-message", role: "status" });
  const meta = h("p", { class: "muted", id: "exp-meta" });
  const verdict = h("div", { id: "verdict" }, h("p", { class: "muted" }, "Loading…"));
  const variants = h("div", { id: "variants" });
  const srm = h("p", { id: "srm-text" });
  const generated = h("p", { class: "muted", id: "exp-generated" });
  const chip = h("span", { id: "exp-status" });
  const chart = overTimePanel();
  const keyForm = adminKeyForm({ label: KEY_LABEL, onKey: () => view.querySelector("#exp-refresh").click() });
  const actions = actionsPanel(name, () => view.querySelector("#exp-refresh").click());
  const view = page([name, " ", chip], meta, keyForm.el, message,
    h("section", { class: "panel", "aria-labelledby": "verdict-title" }, h("h2", { id: "verdict-title" }, "Verdict"), verdict),
    actions.el,
    h("section", { class: "panel", "aria-labelledby": "variants-title" }, h("h2", { id: "variants-title" }, "Variants"), variants, generated),
    chart.el,
    h("section", { class: "panel", "aria-labelledby": "srm-title" }, h("h2", { id: "srm-title" }, "Sample ratio"), srm),
    h("p", {}, h("a", { href: "#/experiments" }, "All experiments")));

  return mountLoader(container, view, keyForm, message, async () => {
    let exp;
    try {
      exp = await api.experiment(name);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        for (const panel of view.querySelectorAll("section.panel")) panel.hidden = true;
        return `No experiment is named “${name}”.`;
      }
      throw err;
    }
    let results = null;
    let failed = null;
    try {
      results = await api.experimentResults(name);
    } catch (err) {
      if (refused(err)) throw err;
      failed = problem(err, "load the results");
    }
    // Everything from one pair of answers at once: the status, the buttons, the figures.
    chip.replaceChildren(statusChip(exp.status));
    const ended = exp.status === "shipped" ? ` · shipped ${exp.shipped_variant} ${timeAgo(exp.stopped_at || exp.created_at)}`
      : exp.status === "stopped" ? ` · stopped ${timeAgo(exp.stopped_at || exp.created_at)}` : "";
    meta.textContent = `${exp.surface} · started ${timeAgo(exp.created_at)}${ended} · salt ${exp.salt}`;
    if (failed) verdict.replaceChildren(h("p", { class: "form-error" }, failed));
    actions.update(exp, results);
    if (!results) return null;
    verdict.replaceChildren(...verdictBody(results));
    variants.replaceChildren(variantCards(results));
    srm.textContent = srmText(results);
    const over = results.verdict?.status === "decided"
      ? ` Each variant's figures are over all its users so far; the differences and the verdict over its first ${results.horizon_users}.`
      : "";
    generated.textContent = `Figures computed ${timeAgo(results.generated_at)} from the served-list log and the event lake.${over}`;
    chart.render(results);
    return null;
  });
}
