// The slowly changing figures in one modest fetch round: every 30 s while the
// page is visible, and once soon after transitions (debounced, so an outage of
// many routes costs one round). Four requests a round, never one per route.

const PERIOD_MS = 30000;
const AFTER_TRANSITION_MS = 2000; // let a burst of transitions settle
const MIN_GAP_MS = 5000; // between two rounds, whatever asks
const TIMEOUT_MS = 10000;

const SOURCES = {
  routes: () => "/v1/routes",
  providers: () => "/v1/providers",
  uptime: (span) => `/v1/uptime?span=${span}`,
  incidents: () => "/v1/incidents?limit=20",
};

// The JSON answer; null when the daemon has no such endpoint (404).
async function getJson(url) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const response = await fetch(url, { signal: abort.signal, headers: { Accept: "application/json" } });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return await response.json();
  } finally {
    clearTimeout(timer);
  }
}

export class Refresher {
  constructor(onFigures, onError) {
    this.onFigures = onFigures; // (figures) with routes, providers, uptime, incidents
    this.onError = onError; // (message)
    this.span = "24h";
    this.figures = {};
    this.timer = null;
    this.due = Infinity;
    this.lastRound = -Infinity;
  }

  start() {
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.at(0);
    });
    this.at(0);
  }

  // A transition happened: one round shortly, not one per transition.
  soon() {
    this.at(Math.max(AFTER_TRANSITION_MS, this.lastRound + MIN_GAP_MS - performance.now()));
  }

  async setSpan(span) {
    this.span = span;
    await this.fetchInto(["uptime"]);
  }

  at(delayMs) {
    const due = performance.now() + delayMs;
    if (due >= this.due) return; // an earlier round is already planned
    clearTimeout(this.timer);
    this.due = due;
    this.timer = setTimeout(() => this.round(), delayMs);
  }

  async round() {
    this.due = Infinity;
    if (document.hidden) return; // a background tab asks nothing; visibility resumes it
    this.lastRound = performance.now();
    await this.fetchInto(Object.keys(SOURCES));
    this.at(PERIOD_MS);
  }

  async fetchInto(names) {
    const answers = await Promise.allSettled(names.map((name) => getJson(SOURCES[name](this.span))));
    const failed = [];
    answers.forEach((answer, i) => {
      if (answer.status === "fulfilled") this.figures[names[i]] = answer.value;
      else failed.push(answer.reason.message || String(answer.reason)); // keep what we had
    });
    this.onFigures(this.figures);
    this.onError(failed.join("; "));
  }
}
