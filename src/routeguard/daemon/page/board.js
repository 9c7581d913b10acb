// One section per provider, a table of its routes under it. Rows are built once
// and updated in place, so a transition changes only its row's cells.

import { ago, el, fill, setText, timeEl, until } from "./dom.js";
import { lastProbes, SPANS, ttft, uptime } from "./figures.js";
import { admitsTraffic } from "./routes.js";

const STATE_TEXT = {
  closed: "closed",
  open: "open",
  half_open: "half-open (trial)",
  forced_open: "forced open",
  forced_closed: "forced closed",
};

const COLUMNS = ["Route", "State", "Reason", "Since", "Open until", "TTFT", "Last probes", "Uptime", "Admin"];

const FORCES = [
  ["open", "Force open"],
  ["closed", "Force closed"],
  ["auto", "Release"],
];

function cell(label, ...children) {
  return el("td", { "data-label": label }, ...children);
}

class RouteRow {
  constructor(record) {
    this.route = record.route;
    this.cells = {
      name: el("strong", {}, record.route),
      models: el("span", { class: "models muted" }),
      version: el("span", { class: "version muted" }),
      state: el("span", { class: "state" }),
      reason: el("span", { class: "reason" }),
      detail: el("span", { class: "detail" }),
      since: el("span"),
      outage: el("span", { class: "outage muted" }),
      openUntil: el("span"),
      ttft: cell("TTFT"),
      probes: cell("Last probes"),
      uptime: cell("Uptime"),
    };
    this.buttons = FORCES.map(([target, text]) =>
      el("button", { type: "button", class: "force", "data-target": target, "data-route": record.route }, text),
    );
    this.tr = this.build();
  }

  build() {
    const c = this.cells;
    return el(
      "tr",
      { "data-route": this.route },
      el("th", { scope: "row", "data-label": "Route" }, c.name, c.models, c.version),
      cell("State", c.state),
      cell("Reason", c.reason, c.detail),
      cell("Since", c.since, c.outage),
      cell("Open until", c.openUntil),
      c.ttft,
      c.probes,
      c.uptime,
      el("td", { "data-label": "Admin", class: "admin-cell" }, el("div", { class: "force-buttons" }, this.buttons)),
    );
  }

  update(record, nowMs) {
    const c = this.cells;
    this.tr.dataset.state = record.state;
    c.state.dataset.state = record.state;
    setText(c.state, STATE_TEXT[record.state] || record.state);
    setText(c.reason, record.reason || "–");
    setText(c.detail, record.detail || "");
    setText(c.version, `v${record.version}`);
    setText(c.models, record.models ? `serves ${record.models.join(", ")}` : "");
    this.tick(record, nowMs);
  }

  tick(record, nowMs) {
    const c = this.cells;
    fillTime(c.since, record.since, ago(record.since, nowMs));
    const outage = record.outage_since && !admitsTraffic(record.state);
    setText(c.outage, outage ? `outage for ${ago(record.outage_since, nowMs).replace(" ago", "")}` : "");
    fillTime(c.openUntil, record.open_until, until(record.open_until, nowMs));
  }

  figures(record, bars, span, nowMs) {
    fill(this.cells.ttft, ttft(record.probes, SPANS[span].window));
    fill(this.cells.probes, lastProbes(record, nowMs));
    fill(this.cells.uptime, uptime(bars, record.uptime, SPANS[span]));
  }

  setAdmin(enabled) {
    for (const button of this.buttons) {
      button.hidden = !enabled;
      button.disabled = !enabled;
    }
  }
}

function fillTime(node, iso, text) {
  const time = node.firstChild;
  if (time && time.nodeName === "TIME" && time.getAttribute("datetime") === (iso || null)) {
    setText(time, text);
    return;
  }
  fill(node, timeEl(iso, text));
}

class ProviderView {
  constructor(provider, records) {
    this.provider = provider;
    this.heading = el("h2", {}, provider);
    this.up = el("span", { class: "up" });
    this.objective = el("span", { class: "objective muted" });
    this.uptime = el("div", { class: "provider-uptime" });
    this.ttft = el("div", { class: "provider-ttft" });
    this.rows = records.map((r) => new RouteRow(r));
    this.section = el(
      "section",
      { class: "provider", "data-provider": provider },
      el("header", { class: "provider-head" }, this.heading, this.up, this.objective),
      el("div", { class: "provider-figures" }, this.uptime, this.ttft),
      this.table(),
    );
  }

  table() {
    const head = el("tr", {}, COLUMNS.map((name) => el("th", { scope: "col", class: name === "Admin" ? "admin-cell" : null }, name)));
    return el(
      "table",
      { class: "routes" },
      el("caption", { class: "visually-hidden" }, `Routes of ${this.provider}`),
      el("thead", {}, head),
      el("tbody", {}, this.rows.map((row) => row.tr)),
    );
  }

  update(records) {
    const up = records.filter((r) => admitsTraffic(r.state)).length;
    setText(this.up, `${up} of ${records.length} routes admit traffic`);
    this.section.dataset.up = up === records.length ? "all" : up === 0 ? "none" : "some";
  }

  figures(record, strip, span) {
    const { window, label } = SPANS[span];
    const objective = record && record.objective;
    const text = objective ? `objective ${(objective.availability * 100).toFixed(2)} %, TTFT p95 ≤ ${objective.ttft_p95_s} s` : "";
    setText(this.objective, text);
    fill(this.uptime, uptime(strip && strip.bars, record && record.uptime, SPANS[span]));
    fill(this.ttft, el("span", { class: "muted" }, `TTFT over ${label}: `), ttft(record && record.probes, window));
  }
}

export class Board {
  constructor(container) {
    this.container = container;
    this.views = new Map(); // provider -> ProviderView
    this.rows = new Map(); // route -> RouteRow
    this.admin = false;
  }

  // Draw every route; the structure is rebuilt only when the set of routes changed.
  render(routes, nowMs) {
    const groups = routes.byProvider();
    const shape = [...routes.byRoute.keys()].join("\n");
    if (shape !== this.shape) this.rebuild(groups, shape);
    for (const [provider, records] of groups) {
      this.views.get(provider).update(records);
      for (const record of records) this.rows.get(record.route).update(record, nowMs);
    }
  }

  rebuild(groups, shape) {
    this.shape = shape;
    this.views = new Map();
    this.rows = new Map();
    for (const [provider, records] of groups) {
      const view = new ProviderView(provider, records);
      this.views.set(provider, view);
      for (const row of view.rows) {
        this.rows.set(row.route, row);
        row.setAdmin(this.admin);
      }
    }
    fill(this.container, [...this.views.values()].map((v) => v.section));
  }

  // One route moved: only its row and its provider's count change.
  renderRoute(routes, route, nowMs) {
    const record = routes.byRoute.get(route);
    const row = this.rows.get(route);
    if (!record || !row) return;
    row.update(record, nowMs);
    this.views.get(record.provider).update(routes.byProvider().get(record.provider));
  }

  tick(routes, nowMs) {
    for (const [route, row] of this.rows) row.tick(routes.byRoute.get(route), nowMs);
  }

  figures(routes, figures, span, nowMs) {
    const providers = new Map(((figures.providers && figures.providers.providers) || []).map((p) => [p.provider, p]));
    const strips = new Map(((figures.uptime && figures.uptime.providers) || []).map((p) => [p.provider, p]));
    for (const [provider, view] of this.views) {
      const strip = strips.get(provider);
      view.figures(providers.get(provider), strip, span);
      const routeBars = new Map(((strip && strip.routes) || []).map((r) => [r.route, r.bars]));
      for (const row of view.rows) row.figures(routes.byRoute.get(row.route), routeBars.get(row.route), span, nowMs);
    }
  }

  setAdmin(enabled) {
    this.admin = enabled;
    for (const row of this.rows.values()) row.setAdmin(enabled);
  }
}
