"""`GET /v1/routes/watch`: breaker transitions as Server-Sent Events (docs/daemon.md).

One shared reader per daemon process follows the `{p}:events` stream with
`XREAD BLOCK` from an explicit cursor (never `$` twice: nothing added between
two reads is missed) and fans each transition out to every watcher's bounded
queue. The stream rather than the pub/sub channel because its entry ids are the
resume cursor (`Last-Event-ID`), it keeps what was added while the reader was
cut off from Redis, and it is ordered: pub/sub messages carry no id and are
lost while nobody listens.

A watcher joins the fan-out *before* its opening read (snapshot or backlog), so
every transition is either in that read or in its queue; the handler skips
what the read already covered (by stream id, and after a snapshot by route
version). A watcher whose queue fills (it reads too slowly) is dropped: the
reader never waits for anyone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from routeguard.breaker import BreakerStore, Keys
from routeguard.breaker.types import Transition
from routeguard.daemon.metrics import WatchMetrics
from routeguard.errors import StoreUnavailable
from routeguard.redis_connect import text
from routeguard.status_view import event_record, route_record
from routeguard.tasks import raise_if_cancelled, stop_tasks

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0  # a `: ping` comment after this long without an event
QUEUE_SIZE = 1000  # transitions a watcher may fall behind before it is dropped
BLOCK_MS = 1000  # one XREAD BLOCK; below the client's 5 s socket timeout
READ_COUNT = 500
RETRY_S = 0.5  # after a failed read
FINAL_WRITE_S = 1.0  # for the last frame to a dropped watcher; then the connection is cut
STOP_WAIT_S = 1.0  # how long stop() waits for the watch handlers to end
BACKLOG_PAGE = 500
_ENTRY_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")
EPOCH = "0-0"


def id_key(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a tuple that orders as Redis orders ids."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def sse(event: str, data: Mapping[str, Any], event_id: str | None = None) -> bytes:
    """One SSE frame; the JSON is on one line (json.dumps without indent never breaks lines)."""
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return (head + "data: " + json.dumps(data, separators=(",", ":")) + "\n\n").encode()


PING = b": ping\n\n"


class Watcher:
    """One connected client: its queue, and why it must end (dropped, shutdown) if it must."""

    def __init__(self, queue_size: int) -> None:
        self.queue: asyncio.Queue[Transition] = asyncio.Queue(queue_size)
        self.ended: str | None = None
        self._end = asyncio.Event()

    def end(self, why: str) -> None:
        if self.ended is None:
            self.ended = why
            self._end.set()

    async def wait_end(self) -> None:
        await self._end.wait()


class WatchHub:
    """The shared stream reader and its fan-out to every watcher of this process."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        metrics: WatchMetrics,
        *,
        queue_size: int = QUEUE_SIZE,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._metrics = metrics
        self.queue_size = queue_size
        self.heartbeat_s = heartbeat_s
        self._watchers: set[Watcher] = set()
        self._serving = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._cursor: str | None = None
        self._ready = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def watchers(self) -> int:
        return len(self._watchers)

    async def join(self) -> Watcher:
        """A new watcher, fed every transition the reader reads from now on.

        Starts the reader on first use and waits (bound it) until it knows where
        the stream ends, so nothing added after this call can pass the watcher by.
        """
        if self._closed:
            raise StoreUnavailable("the daemon is shutting down: reconnect to another replica")
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_forever(), name="routeguard-watch")
        await self._ready.wait()
        watcher = Watcher(self.queue_size)
        self._watchers.add(watcher)
        self._serving += 1
        self._idle.clear()
        self._metrics.watchers.set(len(self._watchers))
        return watcher

    def leave(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)
        self._serving -= 1
        if self._serving == 0:
            self._idle.set()
        self._metrics.watchers.set(len(self._watchers))

    async def stop(self) -> None:
        """End every watch connection and the reader; returns once they are gone (bounded)."""
        self._closed = True
        for watcher in list(self._watchers):
            watcher.end("shutdown")
        if self._reader is not None:
            await stop_tasks([self._reader])
        try:
            async with asyncio.timeout(STOP_WAIT_S):
                await self._idle.wait()
        except TimeoutError:
            log.warning(
                "%d watch connection(s) did not end within %.1f s", self._serving, STOP_WAIT_S
            )

    # -- the reader ---------------------------------------------------------------

    async def _read_forever(self) -> None:
        failures = 0
        while True:
            raise_if_cancelled()  # a read can swallow the cancel (routeguard/tasks.py)
            try:
                if self._cursor is None:
                    self._cursor = await self._stream_end()
                    self._ready.set()
                reply: Any = await self._redis.xread(
                    {self._keys.events: self._cursor}, count=READ_COUNT, block=BLOCK_MS
                )
            except (RedisError, OSError) as exc:
                if failures == 0:
                    log.warning(
                        "watch feed: reading %s failed (%r); retrying", self._keys.events, exc
                    )
                failures += 1
                await asyncio.sleep(RETRY_S)
                continue
            if failures:
                log.info("watch feed: Redis answers again after %d failed reads", failures)
                failures = 0
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    self._cursor = text(entry_id)
                    self._fan_out(self._cursor, fields)
                    await asyncio.sleep(0)  # let the handlers drain their queues between entries

    async def _stream_end(self) -> str:
        last = await self._redis.xrevrange(self._keys.events, "+", "-", count=1)
        return text(last[0][0]) if last else EPOCH

    def _fan_out(self, entry_id: str, fields: Mapping[Any, Any]) -> None:
        try:
            decoded = {text(k): text(v) for k, v in fields.items()}
            transition = Transition.from_fields(decoded, event_id=entry_id)
        except (KeyError, ValueError) as exc:
            log.warning("watch feed: skipping malformed entry %s (%r)", entry_id, exc)
            return
        for watcher in list(self._watchers):
            try:
                watcher.queue.put_nowait(transition)
            except asyncio.QueueFull:
                self._drop(watcher)

    def _drop(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)
        self._metrics.dropped.inc()
        self._metrics.watchers.set(len(self._watchers))
        watcher.end("dropped")


# -- the handler --------------------------------------------------------------------


class BadEventId(ValueError):
    """A Last-Event-ID (or `since`) that is not a stream entry id."""


def resume_point(request: web.Request) -> str | None:
    """The id to resume after: the `Last-Event-ID` header, else `?since=`; None for none."""
    given = request.headers.get("Last-Event-ID") or request.query.get("since")
    if not given:
        return None
    given = given.strip()
    if not _ENTRY_ID.match(given):
        raise BadEventId(
            f"Last-Event-ID must be a stream entry id (<ms>-<seq>) from this feed, not {given!r}"
        )
    return given


@dataclass
class Opening:
    """What a watcher is sent before live transitions, and where it then stands."""

    frames: list[bytes]
    last_id: str
    versions: dict[str, int] = field(default_factory=dict)  # after a snapshot: route -> version


async def opening(store: BreakerStore, since: str | None) -> Opening:
    """The snapshot, or the backlog after `since` (or `reset` and a snapshot if it is gone)."""
    if since is None:
        return await _snapshot(store, [])
    reset = await _resume_gap(store, since)
    if reset is not None:
        return await _snapshot(store, [sse("reset", {"last_event_id": since, "reason": reset})])
    frames, last = [], since
    while True:
        page = await store.events(since=last, count=BACKLOG_PAGE)
        for event in page:
            assert event.event_id is not None
            frames.append(sse("transition", event_record(event), event.event_id))
            last = event.event_id
        if len(page) < BACKLOG_PAGE:
            return Opening(frames, last)


async def _snapshot(store: BreakerStore, frames: list[bytes]) -> Opening:
    # The cursor first, then the states: the states are at least as new as the cursor,
    # and transitions after it that they already hold are skipped by version.
    last = await store.redis.xrevrange(store.keys.events, "+", "-", count=1)
    cursor = text(last[0][0]) if last else EPOCH
    statuses = await store.states()
    body = {"id": cursor, "routes": [route_record(s) for s in statuses]}
    frames.append(sse("snapshot", body, cursor))
    return Opening(frames, cursor, {s.route: s.version for s in statuses})


async def _resume_gap(store: BreakerStore, since: str) -> str | None:
    """Why the transitions after `since` cannot all be read from the stream; None if they can."""
    try:
        info = await store.redis.xinfo_stream(store.keys.events)
    except ResponseError:  # no such key: Redis has no transition at all
        info = {}
    last = text(info.get("last-generated-id") or EPOCH)
    first_entry = info.get("first-entry")
    length, added = int(info.get("length", 0)), info.get("entries-added")
    if id_key(since) > id_key(last):
        return f"{since} is newer than the stream's last entry {last} (was Redis reset?)"
    if added is not None and int(added) == length:
        return None  # nothing was ever trimmed or deleted (Redis 7): every entry is there
    if first_entry is None:
        return None if since == last else "the stream is empty (was Redis reset?)"
    first = text(first_entry[0])
    if id_key(since) < id_key(first):
        return f"{since} is older than the stream's first entry {first}: it was trimmed"
    return None


async def serve(
    hub: WatchHub, store: BreakerStore, request: web.Request, deadline_s: float
) -> web.StreamResponse:
    """The SSE response: opening frames, then live transitions and pings, until it ends."""
    try:
        since = resume_point(request)
    except BadEventId as exc:
        return web.json_response({"error": str(exc)}, status=400)
    async with asyncio.timeout(deadline_s):  # a hung Redis is a 503, as on every read path
        watcher = await hub.join()
    try:
        async with asyncio.timeout(deadline_s):
            start = await opening(store, since)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",  # nginx: pass events on at once
            }
        )
        await response.prepare(request)
        pump = asyncio.create_task(_pump(response, watcher, start, hub.heartbeat_s))
        ended = asyncio.create_task(watcher.wait_end())
        try:
            await asyncio.wait({pump, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, ended):
                task.cancel()
            await asyncio.gather(pump, ended, return_exceptions=True)
        if watcher.ended is not None:
            await _last_words(request, response, watcher, start)
        return response
    finally:
        hub.leave(watcher)


async def _pump(
    response: web.StreamResponse, watcher: Watcher, start: Opening, heartbeat_s: float
) -> None:
    for frame in start.frames:
        await response.write(frame)  # start.last_id is the last of these already
    last = id_key(start.last_id)
    while True:
        try:
            async with asyncio.timeout(heartbeat_s):
                event = await watcher.queue.get()
        except TimeoutError:
            await response.write(PING)
            continue
        assert event.event_id is not None
        if id_key(event.event_id) <= last:
            continue  # the opening read had it
        if event.version <= start.versions.get(event.route, -1):
            continue  # the snapshot already holds it
        # Where it stands once the frame is in the transport (write() puts it there before
        # it awaits the client): a drop that cancels the wait still names this id.
        start.last_id, last = event.event_id, id_key(event.event_id)
        await response.write(sse("transition", event_record(event), event.event_id))


async def _last_words(
    request: web.Request, response: web.StreamResponse, watcher: Watcher, start: Opening
) -> None:
    """Tell a dropped watcher where to resume (if it still reads), then end the connection."""
    frame = sse(
        watcher.ended or "dropped",
        {"reason": watcher.ended, "last_event_id": start.last_id, "reconnect": True},
    )
    try:
        async with asyncio.timeout(FINAL_WRITE_S):
            await response.write(frame)
            await response.write_eof()
    except (TimeoutError, ConnectionError):
        if request.transport is not None:
            request.transport.abort()  # it does not read: discard what it never took
