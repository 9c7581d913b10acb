// Admin mode: with the daemon's admin token (kept in this tab's sessionStorage,
// nowhere else) the page can force a route open or closed and release it, with a
// reason. The daemon checks the token, logs every force with the client's address
// and records it as a transition; the page shows its answer, refusals included.

import { fill } from "./dom.js";

const STORAGE_KEY = "routeguard-admin-token";

const ASK = {
  open: (route) => `Force ${route} open`,
  closed: (route) => `Force ${route} closed`,
  auto: (route) => `Release ${route} (back to automatic)`,
};

function forceUrl(route) {
  return `/v1/routes/${route.split("/").map(encodeURIComponent).join("/")}/force`;
}

export class Admin {
  constructor(onMode) {
    this.onMode = onMode; // (enabled)
    this.form = document.getElementById("token-form");
    this.input = document.getElementById("token");
    this.mode = document.getElementById("admin-mode");
    this.answer = document.getElementById("admin-answer");
    this.dialog = document.getElementById("force-dialog");
    this.reason = document.getElementById("force-reason");
    this.pending = null;
  }

  get token() {
    return sessionStorage.getItem(STORAGE_KEY) || "";
  }

  start() {
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.setToken(this.input.value.trim());
      this.input.value = "";
    });
    document.getElementById("token-forget").addEventListener("click", () => this.setToken(""));
    document.getElementById("force-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.confirm();
    });
    document.getElementById("force-cancel").addEventListener("click", () => this.dialog.close());
    this.showMode();
  }

  setToken(token) {
    if (token) sessionStorage.setItem(STORAGE_KEY, token);
    else sessionStorage.removeItem(STORAGE_KEY);
    this.showMode();
  }

  showMode() {
    const enabled = Boolean(this.token);
    fill(this.mode, enabled
      ? "Admin mode: force and release buttons are on; the token stays in this tab only."
      : "Read-only. Enter the admin token (ROUTEGUARD_ADMIN_TOKEN) to force routes.");
    document.body.dataset.admin = enabled ? "on" : "off";
    this.onMode(enabled);
  }

  ask(route, target) {
    if (!this.token) return;
    this.pending = { route, target };
    fill(document.getElementById("force-title"), ASK[target](route));
    this.reason.value = "";
    this.dialog.showModal();
    this.reason.focus();
  }

  async confirm() {
    const { route, target } = this.pending;
    this.dialog.close();
    this.say("pending", `${ASK[target](route)}: sending…`);
    try {
      const response = await fetch(forceUrl(route), {
        method: "POST",
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ state: target, reason: this.reason.value }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        this.say("error", `Refused (${response.status}): ${body.error || response.statusText}`);
        return;
      }
      const change = body.changed ? "" : " (it already was)";
      this.say("ok", `${body.route} is now ${body.state}${change}. Recorded with reason "${body.detail}".`);
    } catch (error) {
      this.say("error", `Not sent: ${error.message}`);
    }
  }

  say(outcome, text) {
    this.answer.dataset.outcome = outcome;
    fill(this.answer, text);
  }
}
