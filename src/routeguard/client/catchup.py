"""What a worker reads from Redis to keep its view: only what changed.

Every transition is appended to the events stream by the script that makes it,
so the stream is the list of what changed. A worker keeps a cursor (the last
entry its view covers) and each resync asks for the entries from it, in one
round trip with Redis's clock: nothing new costs two commands (EVAL of TIME,
XRANGE), whatever the number of routes; something new costs one more round
trip for the state records of the routes named there. The cursor's own entry is
asked for too: when it is no longer there the stream was trimmed past it (or
Redis lost its history) and only a full read can tell what changed.

A full read (first load, coming back from an outage, a trimmed stream, more
than MAX_CHANGES new entries) reads the stream's newest id first, then every
route's state record: a transition between the two is read again next time.
Window figures are never read: the view does not need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from routeguard.breaker import BreakerStore
from routeguard.breaker.store import EMPTY_STREAM_ID
from routeguard.breaker.types import RouteStatus

MAX_CHANGES = 500
"""More new entries than this since the cursor and a full read is the cheaper one."""


@dataclass(frozen=True)
class ViewRead:
    """One resync's read: Redis time, the cursor it brings the view to, the records read."""

    now_ms: int
    cursor: str
    statuses: list[RouteStatus] = field(default_factory=list)
    full: bool = False
    authoritative: bool = False  # Redis lost its history: take the read as it is


async def full_read(store: BreakerStore, *, authoritative: bool = False) -> ViewRead:
    """Every route's state record, and the stream cursor they cover."""
    cursor = await store.last_event_id()
    now_ms, statuses = await store.records()
    return ViewRead(now_ms, cursor, statuses, full=True, authoritative=authoritative)


async def read_changes(store: BreakerStore, cursor: str) -> ViewRead:
    """What changed since `cursor`; a full read when the stream cannot tell."""
    anchored = cursor != EMPTY_STREAM_ID  # the cursor's own entry comes first
    start = cursor if anchored else "-"
    now_ms, entries = await store.event_routes(start, MAX_CHANGES + 1 + anchored)
    if anchored:
        if not entries:  # nothing at or after our cursor: the stream went back in time
            return await full_read(store, authoritative=True)
        if entries[0][0] != cursor:  # trimmed past the cursor: changes may be lost
            return await full_read(store)
        entries = entries[1:]
    if len(entries) > MAX_CHANGES:
        return await full_read(store)
    if not entries:
        return ViewRead(now_ms, cursor)
    named = list(dict.fromkeys(route for _, route in entries if store.knows(route)))
    if named:
        now_ms, statuses = await store.records(named)
        return ViewRead(now_ms, entries[-1][0], statuses)
    return ViewRead(now_ms, entries[-1][0])
