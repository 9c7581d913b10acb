// The page's model of every route's breaker state: a snapshot replaces it, a
// transition moves one route only if its version is newer (replays are harmless),
// and the periodic figures fetch adds what the feed does not carry.

const ADMITS = new Set(["closed", "forced_closed"]);

export function admitsTraffic(state) {
  return ADMITS.has(state);
}

export class Routes {
  constructor() {
    this.byRoute = new Map(); // route id -> record (GET /v1/routes shape)
  }

  // A snapshot of the watch feed: the routes as they stand, in catalog order.
  replace(records) {
    const old = this.byRoute;
    this.byRoute = new Map();
    for (const record of records) {
      this.byRoute.set(record.route, { ...old.get(record.route), ...record });
    }
  }

  // One transition from the feed; true when it changed the route.
  apply(event) {
    const record = this.byRoute.get(event.route);
    if (!record || event.version <= record.version) return false;
    if (admitsTraffic(event.from) && !admitsTraffic(event.to)) record.outage_since = event.at;
    if (admitsTraffic(event.to)) record.outage_since = null;
    Object.assign(record, {
      state: event.to,
      reason: event.reason,
      detail: event.detail,
      since: event.at,
      open_until: event.open_until,
      version: event.version,
      window: event.window,
    });
    return true;
  }

  // Records of GET /v1/routes: their figures always, their state only if not older.
  merge(records) {
    for (const fresh of records) {
      const record = this.byRoute.get(fresh.route);
      if (!record) continue; // the feed's snapshot decides which routes exist
      const { state, reason, detail, since, open_until, version, outage_since, ...figures } = fresh;
      Object.assign(record, figures);
      if (version >= record.version) {
        Object.assign(record, { state, reason, detail, since, open_until, version });
        if (outage_since !== undefined) record.outage_since = outage_since;
      }
    }
  }

  // Provider -> its route records, in the order the routes came.
  byProvider() {
    const groups = new Map();
    for (const record of this.byRoute.values()) {
      if (!groups.has(record.provider)) groups.set(record.provider, []);
      groups.get(record.provider).push(record);
    }
    return groups;
  }
}
