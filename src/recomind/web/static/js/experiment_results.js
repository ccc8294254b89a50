// An experiment's results in words and figures: the verdict, per-variant cards with 95 %
// intervals (a small interval bar per metric) and the difference against control, the
// sample-ratio check. Input: `GET /experiments/{name}/results` (null where a figure is undefined).

import { percent } from "./online.js";
import { h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
// A sample-ratio mismatch below this p-value (as recomind.analytics.ab_stats.SRM_ALPHA).
const SRM_ALPHA = 0.001;
const ALPHA = 0.05;
export const METRICS = [
  { key: "like_rate", label: "like rate", title: "Like rate", higherIsBetter: true },
  { key: "skip_rate", label: "skip rate", title: "Skip rate", higherIsBetter: false },
  { key: "watch_fraction", label: "watch fraction", title: "Mean watch fraction", higherIsBetter: true },
];
const metricOf = (key) => METRICS.find((m) => m.key === key) || { key, label: key, title: key, higherIsBetter: true };

const finite = (x) => typeof x === "number" && Number.isFinite(x);

/** A difference of two rates in percentage points: `0.021` → `"+2.1 points"`, `-0.0004` → `"0.0 points"`. */
export function points(x, unit = " points") {
  if (!finite(x)) return "n/a";
  const text = (100 * x).toFixed(1);
  if (Number(text) === 0) return `0.0${unit}`; // no "-0.0": a rounded zero has no sign
  return `${x > 0 ? "+" : ""}${text}${unit}`;
}

/** A p-value to 2 significant digits; below 0.001 as `"< 0.001"`. */
export function pValue(p) {
  if (!finite(p)) return "n/a";
  return p < 0.001 ? "< 0.001" : p.toPrecision(2);
}

/** `"p = 0.034"`, or `"p < 0.001"`. */
export function pIs(p) {
  const text = pValue(p);
  return text.startsWith("<") ? `p ${text}` : `p = ${text}`;
}

/** The differences' confidence level: 95 %, or Bonferroni's with several treatments. */
export function level(treatments) {
  const l = 100 * (1 - ALPHA / Math.max(1, treatments));
  return `${Number.isInteger(l) ? l : l.toFixed(1)} %`;
}

/** `"variant b"`, or `"control"` for a control named so. */
export function variantLabel(name) {
  return name === "control" ? "control" : `variant ${name}`;
}

function differenceText(d, lvl) {
  return `${points(d.difference)} (${lvl} CI ${points(d.low, "")} to ${points(d.high, "")}), ${pIs(d.p_value)}`;
}

/** Better, worse, or null (not significant) for a treatment's difference. */
function direction(d) {
  if (!d.significant || !finite(d.difference) || d.difference === 0) return null;
  return (d.difference > 0) === metricOf(d.metric).higherIsBetter ? "better" : "worse";
}

/** `{ tone, headline, lines }`: the verdict in plain words. */
export function verdictText(r) {
  const v = r.verdict || { status: "collecting", winner: null, caveats: [] };
  const treatments = r.variants.filter((x) => x.name !== r.control);
  const lvl = level(treatments.length);
  const primary = metricOf(r.primary);
  if (v.status === "srm") {
    const users = r.variants.map((x) => `${x.users} ${variantLabel(x.name)}`).join(", ");
    const weights = r.variants.map((x) => x.weight).join(" : ");
    return {
      tone: "srm",
      headline: "No verdict: sample-ratio mismatch",
      lines: [`Users per variant (${users}) do not follow the weights ${weights} (${pIs(r.srm_p_value)}): `
        + "assignment or logging is broken, so no figure here can be trusted until it is fixed."],
    };
  }
  if (v.status !== "decided") {
    const short = r.variants.filter((x) => x.users < r.horizon_users);
    const parts = (short.length ? short : r.variants)
      .map((x) => `${x.users} of ${r.horizon_users} users in ${variantLabel(x.name)}`);
    return {
      tone: "collecting",
      headline: `Collecting: ${parts.join("; ")}`,
      lines: [`No verdict until every variant has ${r.horizon_users} users. The verdict is computed once, `
        + "on the first users of each variant (a fixed horizon), so looking at the figures before then changes nothing."],
    };
  }
  const diffs = r.differences || [];
  const lines = [];
  let headline;
  const win = v.winner && diffs.find((d) => d.variant === v.winner && d.metric === primary.key);
  // Control wins when it beats every treatment; the differences are treatment minus control.
  const beaten = v.winner === r.control ? diffs.filter((d) => d.metric === primary.key) : [];
  if (win) {
    headline = `${v.winner} is better on ${primary.label}: ${differenceText(win, lvl)}`;
  } else if (beaten.length) {
    const each = beaten.map((d) => `${d.variant} ${differenceText(d, lvl)}`).join("; ");
    headline = `${r.control} is better on ${primary.label} than every treatment: ${each}`;
  } else {
    headline = `No winner on ${primary.label}: no variant beats ${r.control} significantly`;
  }
  for (const d of diffs) {
    if (d === win || beaten.includes(d)) continue;
    const dir = direction(d);
    const m = metricOf(d.metric);
    if (dir) lines.push(`${d.variant} is ${dir} on ${m.label}: ${differenceText(d, lvl)}`);
    else if (m.key === primary.key) lines.push(`${d.variant} vs ${r.control} on ${m.label}: ${differenceText(d, lvl)}, not significant`);
  }
  lines.push(`Decided on the first ${r.horizon_users} users of each variant; later users do not change it.`);
  return { tone: win || beaten.length ? "winner" : "none", headline, lines };
}

/** The verdict panel's body: headline, details and the API's caveats. */
export function verdictBody(r) {
  const t = verdictText(r);
  const caveats = (r.verdict && r.verdict.caveats) || [];
  const parts = [
    h("p", { class: `verdict-headline tone-${t.tone}`, id: "verdict-headline" }, t.headline),
    h("ul", { class: "verdict-lines", id: "verdict-lines" }, t.lines.map((l) => h("li", {}, l))),
    caveats.length ? h("div", { class: "caveats", id: "verdict-caveats" },
      h("h3", {}, "Caveats"), h("ul", {}, caveats.map((c) => h("li", {}, c)))) : null,
  ];
  return parts.filter(Boolean);
}

/** The scale of one metric's interval bars: every variant's interval, a little padded. */
function scaleOf(r, key) {
  const ends = r.variants.flatMap((x) => [x.metrics[key]?.low, x.metrics[key]?.high, x.metrics[key]?.value]).filter(finite);
  if (!ends.length) return null;
  const lo = Math.min(...ends);
  const hi = Math.max(...ends);
  const pad = Math.max((hi - lo) * 0.1, 0.005);
  return { lo: Math.max(0, lo - pad), hi: hi + pad };
}

function intervalBar(est, scale, controlValue, label) {
  const W = 300;
  const x = (v) => (W * (v - scale.lo)) / (scale.hi - scale.lo);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} 14`);
  svg.setAttribute("class", "interval-bar");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const add = (tag, attrs) => {
    const el = document.createElementNS(SVG, tag);
    for (const [k, val] of Object.entries(attrs)) el.setAttribute(k, String(val));
    svg.append(el);
  };
  add("line", { x1: 0, x2: W, y1: 7, y2: 7, class: "axis" });
  if (finite(controlValue)) add("line", { x1: x(controlValue), x2: x(controlValue), y1: 1, y2: 13, class: "control-mark" });
  if (finite(est.low) && finite(est.high)) {
    add("rect", { x: x(est.low), y: 3, width: Math.max(1.5, x(est.high) - x(est.low)), height: 8, rx: 3, class: "ci" });
  }
  add("circle", { cx: x(est.value), cy: 7, r: 3, class: "estimate" });
  return svg;
}

function diffText(r, diff, lvl) {
  const decided = r.verdict?.status === "decided";
  // Before the horizon a difference is interim: shown, never called significant (no peeking).
  const note = !decided ? ", interim (no verdict yet)" : diff.significant ? " (significant)" : "";
  return `vs ${r.control}: ${differenceText(diff, lvl)}${note}`;
}

function metricRow(r, variant, m, scale, diff, lvl) {
  const est = variant.metrics[m.key] || {};
  const control = r.variants.find((x) => x.name === r.control);
  const ci = finite(est.low) && finite(est.high) ? `95 % CI ${percent(est.low)} to ${percent(est.high)}` : "no interval yet";
  const dir = diff && r.verdict?.status === "decided" && direction(diff);
  return h("div", { class: "metric-row", dataset: { metric: m.key } },
    h("span", { class: "metric-name" }, m.title),
    h("span", { class: "metric-value" }, finite(est.value) ? percent(est.value) : "n/a"),
    finite(est.value) && scale ? intervalBar(est, scale, control?.metrics[m.key]?.value, `${m.title} ${ci}`) : h("span"),
    h("span", { class: "metric-ci muted" }, ci),
    diff ? h("span", { class: `metric-diff${dir ? ` ${dir}` : ""}` }, diffText(r, diff, lvl)) : null,
  );
}

/** One card per variant: users (against the horizon), impressions, the three metrics. */
export function variantCards(r) {
  const lvl = level(r.variants.length - 1);
  const scales = Object.fromEntries(METRICS.map((m) => [m.key, scaleOf(r, m.key)]));
  return h("div", { class: "variant-grid" }, r.variants.map((v) => {
    const isControl = v.name === r.control;
    const diffs = (r.differences || []).filter((d) => d.variant === v.name);
    return h("article", { class: "variant-card", dataset: { variant: v.name } },
      h("h3", {}, v.name, isControl ? h("span", { class: "chip" }, "control") : null,
        r.verdict?.winner === v.name ? h("span", { class: "chip winner" }, "winner") : null),
      h("p", { class: "muted variant-ranker" }, `ranker ${v.ranker} · weight ${v.weight}`),
      h("p", { class: "variant-counts" },
        h("span", { class: "variant-users" }, v.users >= r.horizon_users
          ? `${v.users} users (horizon of ${r.horizon_users} reached)` : `${v.users} of ${r.horizon_users} users`),
        " · ",
        h("span", { class: "variant-impressions" }, `${v.impressions} impressions`)),
      h("progress", { max: r.horizon_users, value: Math.min(v.users, r.horizon_users), "aria-label": `${v.name}: users against the horizon` }),
      METRICS.map((m) => metricRow(r, v, m, scales[m.key], diffs.find((d) => d.metric === m.key), lvl)),
    );
  }));
}

/** The sample-ratio check in a sentence. */
export function srmText(r) {
  const users = r.variants.map((x) => x.users).join(" : ");
  const weights = r.variants.map((x) => x.weight).join(" : ");
  const p = r.srm_p_value;
  const verdict = !finite(p) ? "not checked yet" : p < SRM_ALPHA ? "mismatch: the verdict is withheld" : "no mismatch";
  return `Users ${users} for weights ${weights}: chi-squared ${pIs(p)}, ${verdict} (a mismatch is p < ${SRM_ALPHA}).`;
}
