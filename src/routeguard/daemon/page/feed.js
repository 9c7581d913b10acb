// The watch feed (GET /v1/routes/watch) through EventSource: a snapshot, then
// transitions. EventSource resumes by itself with Last-Event-ID after a lost
// connection; when it gives up (an HTTP error) or the daemon ends the stream
// (`dropped`, `shutdown`), the feed reopens with ?since=<last id> so nothing is
// missed, backing off while the daemon does not answer.

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;

export class Feed {
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers; // snapshot(data), transition(data), reset(data), status(live, why)
    this.lastId = null;
    this.source = null;
    this.retryMs = FIRST_RETRY_MS;
    this.timer = null;
  }

  start() {
    this.open();
  }

  open() {
    clearTimeout(this.timer);
    const url = this.lastId ? `${this.url}?since=${encodeURIComponent(this.lastId)}` : this.url;
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener("open", () => this.connected());
    source.addEventListener("error", () => this.failed(source));
    source.addEventListener("snapshot", (e) => this.handle(e, this.handlers.snapshot));
    source.addEventListener("transition", (e) => this.handle(e, this.handlers.transition));
    source.addEventListener("reset", (e) => this.handle(e, this.handlers.reset));
    source.addEventListener("dropped", (e) => this.ended(e, 0));
    source.addEventListener("shutdown", (e) => this.ended(e, FIRST_RETRY_MS));
  }

  handle(event, handler) {
    if (event.lastEventId) this.lastId = event.lastEventId;
    handler(JSON.parse(event.data));
  }

  connected() {
    this.retryMs = FIRST_RETRY_MS;
    this.handlers.status("live", "");
  }

  // The daemon ends the stream: reopen from where it says we stand.
  ended(event, delayMs) {
    const data = JSON.parse(event.data);
    if (data.last_event_id) this.lastId = data.last_event_id;
    this.source.close();
    this.handlers.status("reconnecting", data.reason || event.type);
    this.timer = setTimeout(() => this.open(), delayMs);
  }

  failed(source) {
    if (source !== this.source) return;
    if (source.readyState !== EventSource.CLOSED) {
      this.handlers.status("reconnecting", "connection lost"); // EventSource retries itself
      return;
    }
    this.handlers.status("reconnecting", `retrying in ${Math.round(this.retryMs / 1000)} s`);
    this.timer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}
