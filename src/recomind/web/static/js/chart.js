// Charts drawn by hand (no libraries): a canvas bar chart and an SVG horizontal bar list.

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
