// Operator dashboard: trending now, events per minute, cache hit rate, consumer lag, batch jobs,
// online figures per source.

import { adminKeyForm, refused } from "./admin_key.js";
import { api } from "./api.js";
import { adminKey, setAdminKey } from "./session.js";
import { drawBars, svgBars } from "./chart.js";
import { onlinePanel } from "./online.js";
import { h, tagHue } from "./ui.js";

const REFRESH_MS = 5000;

function tile(label, id) {
  return h("div", { class: "tile" },
    h("span", { class: "tile-label", id: `${id}-label` }, label),
    h("output", { class: "tile-value", id, "aria-labelledby": `${id}-label` }, "…"));
}

export function mountDashboard(container) {
  const canvas = h("canvas", {
    id: "events-chart", class: "chart", role: "img",
    "aria-label": "Events per minute over the last 30 minutes",
  });
  const trending = h("div", { class: "trending-chart", id: "trending-chart" });
  const updated = h("p", { class: "muted", role: "status" });
  const online = onlinePanel();
  // The dashboard's data needs an admin key: pasted here, kept in this tab (sessionStorage).
  const keyForm = adminKeyForm({
    label: "The dashboard needs a key with the admin scope (recomind demo prints one)",
    onKey: () => refresh(),
  });
  const view = h("section", { class: "page dashboard", "aria-labelledby": "dash-title" },
    h("div", { class: "dash-head" },
      h("h1", { id: "dash-title" }, "Operator dashboard"),
      h("div", { class: "head-actions" },
        h("button", { type: "button", class: "secondary", "data-route": "#/experiments" }, "Experiments"),
        h("button", { type: "button", class: "secondary", id: "forget-key", hidden: !adminKey(),
          "aria-label": "Forget the admin key", onclick: () => { setAdminKey(null); refresh(); } },
        "Forget key"),
        h("button", { type: "button", class: "secondary", "aria-label": "Refresh now", onclick: () => refresh() },
          "Refresh"))),
    keyForm.el,
    h("div", { class: "tiles" },
      tile("Events / min", "stat-epm"),
      tile("Events (30 min)", "stat-events30"),
      tile("Cache hit rate", "stat-hit-rate"),
      tile("Consumer lag", "stat-lag"),
      tile("Batch jobs", "stat-batch"),
      tile("Videos · users · actions", "stat-totals"),
    ),
    h("section", { class: "panel", "aria-labelledby": "epm-title" },
      h("h2", { id: "epm-title" }, "Events per minute"), canvas),
    h("section", { class: "panel", "aria-labelledby": "trend-title" },
      h("h2", { id: "trend-title" }, "Trending now"), trending),
    online.el,
    updated,
  );
  container.append(view);

  let last = null;
  const set = (id, text) => { view.querySelector(`#${id}`).textContent = text; };

  function render(s) {
    last = s;
    const sum30 = s.events_per_minute.reduce((a, b) => a + b, 0);
    set("stat-epm", String(s.events_last_minute));
    set("stat-events30", String(sum30));
    set("stat-hit-rate", s.cache.hit_rate == null ? "n/a" : `${(100 * s.cache.hit_rate).toFixed(1)} %`);
    set("stat-lag", s.consumer_lag == null ? "n/a" : String(s.consumer_lag));
    set("stat-batch", s.batch_jobs == null ? "n/a"
      : s.batch_jobs.map((j) => `${j.name}: ${j.status}`).join(", ") || "none");
    set("stat-totals", `${s.totals.videos} · ${s.totals.users} · ${s.totals.actions}`);
    online.render(s.online);
    drawChart();
    const rows = s.trending.map((t) => ({ label: t.title, value: t.score, hue: tagHue(t.tags[0]) }));
    trending.replaceChildren(svgBars(rows, { width: Math.max(280, trending.clientWidth || 480) }));
    trending.firstChild.setAttribute("aria-label", `Top ${s.trending.length} trending videos by score`);
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }

  function drawChart() {
    if (!last) return;
    const n = last.events_per_minute.length;
    const labels = last.events_per_minute.map((_, i) => (i === n - 1 ? "now" : `-${n - 1 - i}m`));
    drawBars(canvas, last.events_per_minute, labels);
    canvas.dataset.drawn = "true";
  }

  async function refresh() {
    view.querySelector("#forget-key").hidden = !adminKey();
    try {
      render(await api.stats());
      keyForm.hide();
    } catch (err) {
      const denied = refused(err);
      updated.textContent = denied
        ? (adminKey() ? "This key may not read the dashboard (it needs the admin scope)." : "Paste an admin key to see the dashboard.")
        : `Could not load stats: ${err.message}`;
      if (denied) keyForm.show();
      else keyForm.hide();
    }
  }

  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  window.addEventListener("resize", drawChart);
  return () => {
    clearInterval(timer);
    window.removeEventListener("resize", drawChart);
    view.remove();
  };
}
