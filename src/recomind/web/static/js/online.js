// The dashboard's online figures: per source (a model version, the model-free ranker,
// trending), what users did with the videos it showed them. `GET /api/stats` → `online`,
// written by the `online-figures` job; null until that job first ran.

import { h, timeAgo } from "./ui.js";

const JOB = "recomind jobs run online-figures";
const COLUMNS = ["Source", "Impressions", "Like rate", "Skip rate", "Mean watch fraction"];

/** `0.25` → `"25.0 %"`; null (no timed view yet) → `"n/a"`. */
export function percent(x) {
  return x == null ? "n/a" : `${(100 * x).toFixed(1)} %`;
}

function row(s) {
  const watch = s.mean_watch_fraction == null ? "no timed views"
    : `over ${s.watched} timed view${s.watched === 1 ? "" : "s"}`;
  return h("tr", { dataset: { source: s.source } },
    h("th", { scope: "row", class: "online-source" }, s.source),
    h("td", { class: "online-impressions" }, String(s.impressions)),
    h("td", { class: "online-like-rate", title: `${s.likes} liked` }, percent(s.like_rate)),
    h("td", { class: "online-skip-rate", title: `${s.skips} skipped` }, percent(s.skip_rate)),
    h("td", { class: "online-watch", title: watch }, percent(s.mean_watch_fraction)));
}

function computed(iso) {
  const at = new Date(iso);
  const when = Number.isNaN(at.getTime()) ? iso : at.toLocaleString();
  return h("p", { class: "muted online-note", id: "online-computed" },
    "Computed ", h("time", { datetime: iso, title: when }, timeAgo(iso)), ` (${when}) by the `,
    h("code", {}, "online-figures"), " job.");
}

function empty() {
  return h("div", { class: "online-empty", id: "online-empty" },
    h("p", {}, "No online figures yet — run ", h("code", {}, JOB), "."),
    h("p", { class: "muted" },
      "The job reads the served-list log (RECOMIND_IMPRESSIONS_LOG=true) and leaves its figures ",
      "in the cache for a day: a separate jobs process needs the Redis cache the server uses, ",
      "or add online-figures to RECOMIND_JOBS_SCHEDULED to run it inside the server."));
}

/** `{ el, render(online) }`: the panel, and a render of `/api/stats`' `online` into it. */
export function onlinePanel() {
  const body = h("div", { id: "online-figures" }, h("p", { class: "muted" }, "Loading…"));
  const el = h("section", { class: "panel", "aria-labelledby": "online-title" },
    h("h2", { id: "online-title" }, "Online figures per source"), body);

  function render(online) {
    if (online == null) {
      body.replaceChildren(empty());
      return;
    }
    const rows = online.sources.map(row);
    const table = h("div", { class: "table-scroll" },
      h("table", { class: "figures", id: "online-table", "aria-labelledby": "online-title" },
        h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows.length ? rows
          : h("tr", {}, h("td", { colspan: COLUMNS.length }, "No impressions in the last run.")))));
    const note = h("p", { class: "muted online-note" },
      "Per impression (one video on a served page); an action counts within a day of it.");
    body.replaceChildren(table, note, computed(online.generated_at));
  }

  return { el, render };
}
