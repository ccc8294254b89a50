// Charts drawn by hand (no libraries): a canvas bar chart, an SVG horizontal bar list and an SVG
// line chart.

const SVG = "http://www.w3.org/2000/svg";

/** Bars of `values` on `canvas`, labelled every few bars with `labels`. */
export function drawBars(canvas, values, labels, { color = "#ff3b6b", unit = "" } = {}) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = canvas.clientHeight || 220;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const pad = { left: 36, right: 8, top: 12, bottom: 24 };
  const w = width - pad.left - pad.right;
  const hgt = height - pad.top - pad.bottom;
  const max = Math.max(1, ...values);
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;

  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#9aa0aa";
  ctx.strokeStyle = "rgba(255,255,255,0.12)";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let v = 0; v <= top; v += step) {
    const y = pad.top + hgt - (v / top) * hgt;
    ctx.beginPath();
    ctx.moveTo(pad.left, Math.round(y) + 0.5);
    ctx.lineTo(width - pad.right, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.fillText(`${v}${unit}`, pad.left - 6, y);
  }

  const slot = w / Math.max(1, values.length);
  const barW = Math.max(1, slot * 0.7);
  ctx.fillStyle = color;
  values.forEach((v, i) => {
    const bh = (v / top) * hgt;
    const x = pad.left + i * slot + (slot - barW) / 2;
    ctx.fillRect(x, pad.top + hgt - bh, barW, bh);
  });

  ctx.fillStyle = "#9aa0aa";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const every = Math.ceil(values.length / 6);
  labels.forEach((label, i) => {
    if (i % every === 0 || i === labels.length - 1) {
      ctx.fillText(label, pad.left + i * slot + slot / 2, pad.top + hgt + 6);
    }
  });
}

function niceStep(max) {
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const n = raw / mag;
  return Math.max(1, (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag);
}

/** An SVG list of horizontal bars: rows of {label, value, hue}. */
export function svgBars(rows, { width = 480, rowHeight = 26 } = {}) {
  const height = Math.max(rowHeight, rows.length * rowHeight);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "svg-bars");
  svg.setAttribute("role", "img");
  const max = Math.max(1e-9, ...rows.map((r) => r.value));
  const labelW = width * 0.55;
  rows.forEach((r, i) => {
    const y = i * rowHeight;
    const text = document.createElementNS(SVG, "text");
    text.setAttribute("x", "0");
    text.setAttribute("y", String(y + rowHeight * 0.65));
    text.textContent = r.label.length > 34 ? `${r.label.slice(0, 33)}…` : r.label;
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", String(labelW));
    rect.setAttribute("y", String(y + 5));
    rect.setAttribute("height", String(rowHeight - 10));
    rect.setAttribute("rx", "3");
    rect.setAttribute("width", String(Math.max(2, ((width - labelW) * r.value) / max)));
    rect.setAttribute("fill", `hsl(${r.hue} 60% 55%)`);
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${r.label}: ${r.value.toFixed(2)}`;
    rect.append(title);
    svg.append(text, rect);
  });
  return svg;
}

/** A round step (1, 2, 2.5 or 5 times a power of ten) of at least `raw`, for any scale. */
function fineStep(raw) {
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10) * mag;
}

function svgEl(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text != null) el.textContent = text;
  return el;
}

/**
 * An SVG line chart: `series` of {name, color, points: [{x (ms), y}]} (null y: a gap), on one
 * shared y axis labelled by `format`; each point is also a dot, so a one-hour series shows.
 */
export function svgLines(series, { width = 640, height = 220, format = String, xLabel = String } = {}) {
  const pad = { left: 52, right: 12, top: 10, bottom: 24 };
  const w = width - pad.left - pad.right;
  const hgt = height - pad.top - pad.bottom;
  const pts = series.flatMap((s) => s.points.filter((p) => p.y != null && Number.isFinite(p.y)));
  const xs = pts.map((p) => p.x);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const yMax = Math.max(1e-9, ...pts.map((p) => p.y));
  const step = fineStep((yMax * 1.05) / 4);
  const yTop = step * Math.ceil((yMax * 1.05) / step);
  const sx = (x) => pad.left + (x1 > x0 ? ((x - x0) / (x1 - x0)) * w : w / 2);
  const sy = (y) => pad.top + hgt - (y / yTop) * hgt;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, class: "svg-lines", role: "img" });
  for (let i = 0; i * step <= yTop * 1.000001; i++) {
    const v = i * step;
    const y = sy(v);
    svg.append(
      svgEl("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: "grid" }),
      svgEl("text", { x: pad.left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, format(v)),
    );
  }
  if (pts.length) {
    const one = x1 === x0; // one hour so far: its label under its dots
    svg.append(svgEl("text", { x: one ? sx(x0) : pad.left, y: height - 6, "text-anchor": one ? "middle" : "start", class: "tick" }, xLabel(x0)));
    if (!one) {
      svg.append(svgEl("text", { x: width - pad.right, y: height - 6, "text-anchor": "end", class: "tick" }, xLabel(x1)));
    }
  }
  for (const s of series) {
    const g = svgEl("g", { class: "series", "data-series": s.name, stroke: s.color, fill: s.color });
    const shown = s.points.filter((p) => p.y != null && Number.isFinite(p.y));
    if (shown.length > 1) {
      const d = shown.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
      g.append(svgEl("polyline", { points: d, fill: "none", "stroke-width": 2 }));
    }
    for (const p of shown) {
      const dot = svgEl("circle", { cx: sx(p.x), cy: sy(p.y), r: 3.5, class: "point" });
      dot.append(svgEl("title", {}, `${s.name}, ${xLabel(p.x)}: ${format(p.y)}`));
      g.append(dot);
    }
    svg.append(g);
  }
  return svg;
}
