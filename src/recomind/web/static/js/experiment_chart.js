// An experiment's figures over time: one line per variant of a cumulative metric per hour
// (the results' `over_time`), with a metric picker and a legend in text.

import { svgLines } from "./chart.js";
import { METRICS } from "./experiment_results.js";
import { percent } from "./online.js";
import { h } from "./ui.js";

const COLORS = 5; // .swatch-0 … .swatch-4 in experiments.css, the same colours as the lines
const STROKES = ["#4da3ff", "#ff3b6b", "#ffd24d", "#5ad17a", "#c38bff"];

function hourLabel(ms) {
  const d = new Date(ms);
  return d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** `{ el, render(results) }`: the over-time panel. */
export function overTimePanel() {
  let last = null;
  const picker = h("select", { id: "over-time-metric", "aria-label": "Metric over time" },
    METRICS.map((m) => h("option", { value: m.key }, m.title)));
  const legend = h("ul", { class: "legend", id: "over-time-legend" });
  const box = h("div", { class: "chart-box", id: "over-time-chart" });
  const note = h("p", { class: "muted" }, "Cumulative per hour: each point is the figure over every impression up to that hour.");
  const el = h("section", { class: "panel", "aria-labelledby": "over-time-title" },
    h("div", { class: "panel-head" }, h("h2", { id: "over-time-title" }, "Over time"), picker),
    legend, box, note);

  function render(r) {
    last = r;
    const rows = r.over_time || [];
    const key = picker.value;
    const title = METRICS.find((m) => m.key === key).title;
    if (!rows.length) {
      legend.replaceChildren();
      box.replaceChildren(h("p", { class: "muted", id: "over-time-empty" }, "No served pages yet."));
      return;
    }
    const series = r.variants.map((v, i) => ({
      name: v.name,
      color: STROKES[i % COLORS],
      points: rows.filter((p) => p.variant === v.name).map((p) => ({ x: Date.parse(p.at), y: p[key] })),
    }));
    legend.replaceChildren(...series.map((s, i) => h("li", {},
      h("span", { class: `swatch swatch-${i % COLORS}`, "aria-hidden": "true" }), s.name)));
    const svg = svgLines(series, {
      width: Math.max(300, Math.min(900, box.clientWidth || 640)),
      format: (y) => percent(y),
      xLabel: hourLabel,
    });
    svg.setAttribute("aria-label", `${title} per variant, cumulative per hour`);
    box.replaceChildren(svg);
  }

  picker.addEventListener("change", () => last && render(last));
  return { el, render };
}
