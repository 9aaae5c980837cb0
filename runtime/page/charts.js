// SVG charts for the status page: sparklines and stacked bar charts. Built
// with createElementNS only (no markup strings), so no data can become markup.
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

function path(values, max, w, h) {
  if (values.length === 0) return "";
  const step = values.length > 1 ? w / (values.length - 1) : 0;
  return values
    .map((v, i) => `${i ? "L" : "M"}${(i * step).toFixed(1)},${(h - 1 - (max > 0 ? v / max : 0) * (h - 2)).toFixed(1)}`)
    .join(" ");
}

// Two lines (requests and errors per interval) on one scale.
export function sparkline(req, err, label) {
  const w = 120, h = 28;
  const svg = el("svg", { class: "spark", viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": label });
  const max = Math.max(1, ...req, ...err);
  el("path", { class: "req", d: path(req, max, w, h) }, svg);
  el("path", { class: "err", d: path(err, max, w, h) }, svg);
  return svg;
}

// Stacked bars: SERIES is [{name, values: [n per bucket]}], LABELS one per
// bucket (shown sparsely). FORMAT turns a value into axis text.
export function bars(series, labels, format, title) {
  const w = 720, h = 180, left = 48, bottom = 18, top = 6;
  const n = labels.length;
  const wrap = document.createElement("div");
  const svg = el("svg", { class: "bars", viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title });
  const totals = labels.map((_, i) => series.reduce((s, x) => s + (x.values[i] || 0), 0));
  const max = Math.max(0, ...totals);
  const plotH = h - bottom - top, plotW = w - left;
  for (let g = 0; g <= 2; g++) {
    const y = top + plotH - (plotH * g) / 2;
    el("line", { x1: left, x2: w, y1: y, y2: y }, svg);
    const t = el("text", { x: left - 4, y: y + 3, "text-anchor": "end" }, svg);
    t.textContent = format((max * g) / 2);
  }
  const bw = n > 0 ? plotW / n : plotW;
  for (let i = 0; i < n; i++) {
    let y = top + plotH;
    series.forEach((s, k) => {
      const v = s.values[i] || 0;
      if (v <= 0 || max <= 0) return;
      const bh = (v / max) * plotH;
      y -= bh;
      const r = el("rect", { class: `b${k % 5}`, x: left + i * bw + 1, y, width: Math.max(1, bw - 2), height: bh }, svg);
      const tip = el("title", {}, r);
      tip.textContent = `${s.name} ${labels[i]}: ${format(v)}`;
    });
    if (i % Math.max(1, Math.ceil(n / 8)) === 0) {
      const t = el("text", { x: left + i * bw + bw / 2, y: h - 4, "text-anchor": "middle" }, svg);
      t.textContent = labels[i];
    }
  }
  wrap.appendChild(svg);
  const legend = document.createElement("div");
  legend.className = "legend";
  series.forEach((s, k) => {
    const span = document.createElement("span");
    const i = document.createElement("i");
    i.className = `b${k % 5}`;
    span.append(i, s.name);
    legend.appendChild(span);
  });
  wrap.appendChild(legend);
  return wrap;
}
