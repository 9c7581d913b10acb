// The slowly changing figures: uptime bars, TTFT percentiles, last probes and
// incidents, drawn from the JSON of /v1/routes, /v1/providers, /v1/uptime and
// /v1/incidents. Anything missing (an older daemon, no probe yet) reads
// "no data yet" rather than a made-up zero.

import { ago, clock, duration, el, percent, secs, timeEl } from "./dom.js";

export const SPANS = {
  "24h": { window: "1d", label: "24 h", seconds: 86400 },
  "90d": { window: "30d", label: "30 d", seconds: 30 * 86400 },
};

const NO_DATA = "no data yet";

function barClass(bar) {
  if (bar.ratio === null || bar.ratio === undefined) return "bar bar-none";
  if (bar.ratio >= 0.999) return "bar bar-up";
  if (bar.ratio >= 0.95) return "bar bar-degraded";
  return "bar bar-down";
}

function barTitle(bar) {
  const what = bar.ratio === null || bar.ratio === undefined ? NO_DATA : `${percent(bar.ratio)} up`;
  const down = bar.down_s ? `, ${duration(bar.down_s)} down` : "";
  return `${clock(bar.start)}: ${what}${down}`;
}

// A status-page strip, oldest bar first; the label says it in words.
function strip(bars, spanLabel) {
  const counted = bars.filter((b) => b.ratio !== null && b.ratio !== undefined);
  const worst = counted.length ? Math.min(...counted.map((b) => b.ratio)) : null;
  const label = `uptime over ${spanLabel}, ${bars.length} bars, worst ${percent(worst)}`;
  const node = el("div", { class: "bars", role: "img", "aria-label": label });
  for (const bar of bars) node.append(el("span", { class: barClass(bar), title: barTitle(bar) }));
  return node;
}

// The bars of the span and the uptime ratio of the matching window, or "no data yet".
// A ratio that covers less than its window says how much it covers (tracking began later).
export function uptime(bars, figures, span) {
  const { window, label, seconds } = span;
  const parts = [];
  if (Array.isArray(bars) && bars.length) parts.push(strip(bars, label));
  const figure = figures && figures[window];
  if (figure && figure.ratio !== undefined) {
    const partial = typeof figure.covers_s === "number" && figure.covers_s < seconds * 0.99;
    const covered = partial ? ` (tracked for ${duration(figure.covers_s)})` : "";
    parts.push(el("span", { class: "ratio" }, `${percent(figure.ratio)} up over ${label}${covered}`));
  }
  return parts.length ? parts : [el("span", { class: "no-data" }, NO_DATA)];
}

export function ttft(probes, window) {
  const w = probes && probes[window];
  if (!w || !w.ttft_samples) return el("span", { class: "no-data" }, NO_DATA);
  return el(
    "span",
    { class: "ttft" },
    el("span", {}, `p50 ${secs(w.ttft_p50_s)}`),
    el("span", {}, `p95 ${secs(w.ttft_p95_s)}`),
    el("span", {}, `p99 ${secs(w.ttft_p99_s)}`),
    el("span", { class: "muted" }, `${w.ttft_samples} samples`),
  );
}

function probeLine(tier, probe, nowMs) {
  const took = probe.ttft_s !== null && probe.ttft_s !== undefined ? `TTFT ${secs(probe.ttft_s)}` : secs(probe.latency_s);
  const status = probe.status ? ` ${probe.status}` : "";
  return el(
    "li",
    { "data-outcome": probe.outcome },
    el("span", { class: "tier" }, tier),
    " ",
    el("span", { class: "outcome" }, `${probe.outcome}${status}`),
    `, ${took}, `,
    timeEl(probe.at, ago(probe.at, nowMs)),
  );
}

// One line per tier (liveness included); before the per-tier figures, the newest probe.
export function lastProbes(record, nowMs) {
  const byTier = record.last_probes || (record.last_probe ? { [record.last_probe.tier]: record.last_probe } : null);
  const tiers = byTier ? Object.keys(byTier).sort() : [];
  if (tiers.length === 0) return el("span", { class: "no-data" }, NO_DATA);
  return el("ul", { class: "probes" }, tiers.map((t) => probeLine(t, byTier[t], nowMs)));
}

function incidentItem(incident) {
  const ongoing = incident.ended === null || incident.ended === undefined;
  const lasted = ongoing ? "ongoing" : `lasted ${duration(incident.duration_s)}`;
  return el(
    "li",
    { class: "incident", "data-ongoing": ongoing ? "true" : "false" },
    el("strong", {}, incident.provider),
    " ",
    el("span", { class: `incident-class incident-${incident.class}` }, incident.class),
    el("span", { class: "incident-when" }, ` from ${clock(incident.started)}, ${lasted}`),
    el("span", { class: "incident-routes" }, `routes: ${(incident.routes || []).join(", ")}`),
    el("span", { class: "incident-reasons muted" }, `reasons: ${(incident.reasons || []).join(", ")}`),
  );
}

export function incidentList(answer) {
  if (!answer || !Array.isArray(answer.incidents)) return [el("li", { class: "no-data" }, NO_DATA)];
  if (answer.incidents.length === 0) return [el("li", { class: "muted" }, "No incident recorded.")];
  return answer.incidents.map(incidentItem);
}
