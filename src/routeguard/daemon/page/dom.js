// DOM building and text formatting. Data from the daemon (provider error details,
// force reasons) comes from outside: it only ever becomes text nodes or attribute
// values, never markup.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined).map(asNode));
  return node;
}

function asNode(child) {
  return child instanceof Node ? child : document.createTextNode(String(child));
}

// Replace what a node shows; strings become text.
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined).map(asNode));
}

// Set a text only when it differs, so a tick does not churn the DOM.
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

export function ago(iso, nowMs) {
  if (!iso) return "–";
  return `${duration((nowMs - Date.parse(iso)) / 1000)} ago`;
}

export function until(iso, nowMs) {
  if (!iso) return "–";
  const left = (Date.parse(iso) - nowMs) / 1000;
  return left > 0 ? `in ${duration(left)}` : "ended";
}

function pad(n) {
  return String(n).padStart(2, "0");
}

// Local time, to the second: 2026-11-24 10:00:04.
export function clock(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${day} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// 99.95 %, rounded down: 99.996 % up is not 100 %.
export function percent(ratio) {
  if (ratio === null || ratio === undefined) return "no data yet";
  if (ratio >= 1) return "100 %";
  return `${(Math.floor(ratio * 10000) / 100).toFixed(2)} %`;
}

export function secs(value) {
  if (value === null || value === undefined) return "–";
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}

export function timeEl(iso, text) {
  return el("time", { datetime: iso || null, title: iso ? clock(iso) : null }, text);
}
