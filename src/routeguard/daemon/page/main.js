// The status page: the watch feed keeps every route's state live, a modest
// periodic fetch keeps the slow figures, and admin mode adds force buttons.

import { Admin } from "./admin.js";
import { Board } from "./board.js";
import { clock, fill } from "./dom.js";
import { Feed } from "./feed.js";
import { incidentList } from "./figures.js";
import { Refresher } from "./refresh.js";
import { admitsTraffic, Routes } from "./routes.js";

const TICK_MS = 1000; // relative times ("12 s ago", "in 20 s"); no request

const routes = new Routes();
const board = new Board(document.getElementById("providers"));
const live = document.getElementById("live");
let figures = {};
let span = "24h";

function summary() {
  const all = [...routes.byRoute.values()];
  const up = all.filter((r) => admitsTraffic(r.state)).length;
  fill(document.getElementById("summary"), `${up} of ${all.length} routes admit traffic`);
  document.body.dataset.up = up === all.length ? "all" : "some";
}

function renderAll() {
  board.render(routes, Date.now());
  board.figures(routes, figures, span, Date.now());
  summary();
}

function setLive(status, why) {
  live.dataset.live = status;
  fill(live, why ? `${status}: ${why}` : status);
}

const refresher = new Refresher(
  (answer) => {
    figures = answer;
    if (answer.routes) routes.merge(answer.routes.routes);
    if (routes.byRoute.size) renderAll();
    fill(document.getElementById("incidents"), incidentList(answer.incidents));
    fill(document.getElementById("figures-as-of"), `figures as of ${clock(new Date().toISOString())}`);
  },
  (error) => {
    if (error) fill(document.getElementById("figures-as-of"), `figures not refreshed: ${error}`);
  },
);

const feed = new Feed("/v1/routes/watch", {
  snapshot(data) {
    routes.replace(data.routes);
    if (figures.routes) routes.merge(figures.routes.routes);
    renderAll();
  },
  transition(event) {
    if (!routes.apply(event)) return;
    board.renderRoute(routes, event.route, Date.now());
    summary();
    refresher.soon();
  },
  reset(data) {
    setLive("reconnecting", `feed reset (${data.reason}); a fresh snapshot follows`);
  },
  status: setLive,
});

const admin = new Admin((enabled) => board.setAdmin(enabled));

function chooseSpan(button) {
  span = button.dataset.span;
  for (const b of document.querySelectorAll("[data-span]")) b.setAttribute("aria-pressed", String(b === button));
  refresher.setSpan(span);
}

document.querySelector(".span").addEventListener("click", (e) => {
  const button = e.target.closest("button[data-span]");
  if (button) chooseSpan(button);
});

document.getElementById("providers").addEventListener("click", (e) => {
  const button = e.target.closest("button.force");
  if (button && !button.disabled) admin.ask(button.dataset.route, button.dataset.target);
});

admin.start();
feed.start();
refresher.start();
setInterval(() => board.tick(routes, Date.now()), TICK_MS);
