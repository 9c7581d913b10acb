"""NotifyStore: the notifier's Redis — incident state, outbox, delivery claims and records.

Every key comes from `Keys` (docs/redis-schema.md). The incident state is one
JSON document changed only under WATCH/MULTI, together with the outbox entries
it produced and the acknowledgement of the transitions that produced them, so a
transition is applied (and its notifications queued) exactly once, by whichever
replica gets there first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError, WatchError

from routeguard.breaker.keys import Keys
from routeguard.notify.base import Notification, NotifyError
from routeguard.notify.incidents import TrackerState
from routeguard.redis_connect import REDIS_TIME_SCRIPT, text

log = logging.getLogger(__name__)

Entry = tuple[str, dict[str, str]]
Step = Callable[[TrackerState, int], tuple[TrackerState, list[Notification]]]

OUTBOX_MAXLEN = 10_000
DELIVERIES_MAXLEN = 1_000
WATCH_RETRIES = 20
CLAIM_ROUNDS = 10
# Delete a delivery claim only if it is still ours (the lease may have passed on).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


SEED_SCAN = 10_000  # the breaker's stream length (breaker.store.DEFAULT_STREAM_MAXLEN)
_DOWN = frozenset({"open", "half_open"})
_UP = frozenset({"closed", "forced_closed"})


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def is_lost_group(exc: ResponseError) -> bool:
    """Redis answered that the stream or its consumer group is gone (its data was lost)."""
    message = str(exc)
    return message.startswith("NOGROUP") or "no longer exists" in message


def newer_id(a: str, b: str) -> str:
    """The later of two stream entry ids."""
    return max(a, b, key=_id_key)


def _entries(raw: Any) -> list[Entry]:
    """Stream entries from XRANGE/XAUTOCLAIM-shaped replies; deleted ones (no fields) dropped."""
    out: list[Entry] = []
    for item in raw or []:
        entry_id, fields = item
        if fields:
            out.append((text(entry_id), {text(k): text(v) for k, v in fields.items()}))
    return out


def _stream_reply(raw: Any) -> list[Entry]:
    """Entries of the one stream in an XREADGROUP reply (RESP2 list or RESP3 map)."""
    if not raw:
        return []
    if isinstance(raw, dict):
        return [e for entries in raw.values() for e in _entries(entries[0] if entries else [])]
    return [e for _, entries in raw for e in _entries(entries)]


class NotifyStore:
    """The notifier's reads and writes in Redis, for one deployment's `Keys`."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._release = redis.register_script(_RELEASE)

    # -- consumer groups -----------------------------------------------------------

    async def ensure_groups(self, events_from: str = "$") -> bool:
        """Create the groups: on `events` after `events_from` (default: from now on),
        on the outbox from its start. Groups that exist are left as they are.

        True if this call created the `events` group: the first notifier ever to
        start, which must then take over the outages already going on (`down_now`).
        """
        group, created = self._keys.notify_group, False
        for stream, start in ((self._keys.events, events_from), (self._keys.notify_outbox, "0")):
            try:
                await self._redis.xgroup_create(stream, group, id=start, mkstream=True)
                created = created or stream == self._keys.events
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        return created

    async def down_now(self, scan: int = SEED_SCAN) -> list[Entry]:
        """Transitions of the routes down now, from the one that took each down, oldest first.

        Read from the newest `scan` events: a route whose newest event leaves it
        open or half-open contributes every event back to the one that opened it
        from closed, so the incident starts at the real opening time and cause.
        """
        raw = await self._redis.xrevrange(self._keys.events, count=scan)
        done: set[str] = set()
        picked: list[Entry] = []
        for entry_id, fields in _entries(raw):
            route = fields.get("route", "")
            if route in done:
                continue
            if fields.get("to") not in _DOWN:
                done.add(route)
                continue
            picked.append((entry_id, fields))
            if fields.get("from") in _UP:
                done.add(route)
        return sorted(picked, key=lambda e: _id_key(e[0]))

    async def read(
        self, stream: str, consumer: str, *, count: int, block_ms: int | None, own_pending: bool
    ) -> list[Entry]:
        """New entries for `consumer` (or, with own_pending, those it read and never acked)."""
        start = "0" if own_pending else ">"
        raw = await self._redis.xreadgroup(
            self._keys.notify_group, consumer, {stream: start}, count=count, block=block_ms
        )
        return _stream_reply(raw)

    async def claim(self, stream: str, consumer: str, min_idle_ms: int, count: int) -> list[Entry]:
        """Take over entries another consumer read and left unacked for `min_idle_ms` (XAUTOCLAIM)."""
        claimed: list[Entry] = []
        start = "0-0"
        for _ in range(CLAIM_ROUNDS):
            reply = await self._redis.xautoclaim(
                stream, self._keys.notify_group, consumer, min_idle_ms, start_id=start, count=count
            )
            start = text(reply[0])
            claimed.extend(_entries(reply[1]))
            if start == "0-0" or len(claimed) >= count:
                break
        return claimed

    async def ack(self, stream: str, ids: Sequence[str]) -> None:
        if ids:
            await self._redis.xack(stream, self._keys.notify_group, *ids)

    # -- incident state ------------------------------------------------------------

    async def update(
        self, step: Step, channels_for: Callable[[Notification], list[str]], ack: Sequence[str] = ()
    ) -> list[Notification]:
        """Run `step(state, redis_now_ms)`; store its state, queue its notes, ack `ack`: atomically."""
        key = self._keys.notify_state
        for _ in range(WATCH_RETRIES):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    state, raw = _parse_state(await pipe.get(key))
                    clock = pipe.eval(REDIS_TIME_SCRIPT, 1, key)
                    seconds, micros = await cast("Awaitable[list[Any]]", clock)
                    now_ms = int(seconds) * 1000 + int(micros) // 1000
                    new_state, notes = step(state, now_ms)
                    if not notes and not ack and new_state == state and raw is not None:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return []
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, new_state.model_dump_json())
                    self._queue(pipe, notes, channels_for)
                    if ack:
                        pipe.xack(self._keys.events, self._keys.notify_group, *ack)
                    await pipe.execute()
                    return notes
                except WatchError:
                    continue
        raise NotifyError("the incident state kept changing during the update; retrying later")

    def _queue(
        self,
        pipe: Any,
        notes: list[Notification],
        channels_for: Callable[[Notification], list[str]],
    ) -> None:
        for note in notes:
            channels = channels_for(note)
            if channels:
                fields = {"notification": note.model_dump_json(), "channels": ",".join(channels)}
                pipe.xadd(self._keys.notify_outbox, fields, maxlen=OUTBOX_MAXLEN, approximate=True)

    async def state(self) -> TrackerState:
        """The incident tracker's state now."""
        state, _ = _parse_state(await self._redis.get(self._keys.notify_state))
        return state

    # -- delivery claims -----------------------------------------------------------

    async def claim_delivery(self, note_id: str, channel: str, token: str, lease_ms: int) -> bool:
        """SET NX the delivery's idempotency key to our token for `lease_ms`: True if ours."""
        key = self._keys.notify_sent(note_id, channel)
        return bool(await self._redis.set(key, f"sending:{token}", nx=True, px=lease_ms))

    async def delivery_state(self, note_id: str, channel: str) -> str | None:
        """`sending:<token>`, an outcome (`delivered`, `failed`), or None if never tried."""
        raw = await self._redis.get(self._keys.notify_sent(note_id, channel))
        return None if raw is None else text(raw)

    async def settle_delivery(self, note_id: str, channel: str, outcome: str, ttl_s: int) -> None:
        await self._redis.set(self._keys.notify_sent(note_id, channel), outcome, ex=ttl_s)

    async def release_delivery(self, note_id: str, channel: str, token: str) -> None:
        """Give back an unfinished claim (we were stopped) so the next dispatcher sends at once."""
        await self._release(
            keys=[self._keys.notify_sent(note_id, channel)], args=[f"sending:{token}"]
        )

    # -- records -------------------------------------------------------------------

    async def record(self, record: Mapping[str, Any], failed: bool) -> None:
        """Log one delivery's outcome; a failed one is also kept until dismissed."""
        body = json.dumps(record, separators=(",", ":"))
        pipe = self._redis.pipeline(transaction=True)
        pipe.xadd(
            self._keys.notify_deliveries,
            {"record": body},
            maxlen=DELIVERIES_MAXLEN,
            approximate=True,
        )
        if failed:
            pipe.hset(self._keys.notify_failed, record["delivery_id"], body)
        await pipe.execute()

    async def deliveries(self, limit: int) -> list[dict[str, Any]]:
        raw = await self._redis.xrevrange(self._keys.notify_deliveries, "+", "-", count=limit)
        return [json.loads(fields["record"]) for _, fields in _entries(raw)]

    async def failed(self) -> list[dict[str, Any]]:
        raw = await cast("Awaitable[dict[Any, Any]]", self._redis.hgetall(self._keys.notify_failed))
        records = [json.loads(text(v)) for v in (raw or {}).values()]
        return sorted(records, key=lambda r: (r.get("at", ""), r.get("delivery_id", "")))

    async def dismiss_failed(self, delivery_id: str) -> bool:
        return bool(
            await cast("Awaitable[Any]", self._redis.hdel(self._keys.notify_failed, delivery_id))
        )


def _parse_state(raw: Any) -> tuple[TrackerState, Any]:
    if raw is None:
        return TrackerState(), None
    try:
        return TrackerState.model_validate_json(raw), raw
    except ValidationError:
        log.error("the stored incident state is unreadable; starting from an empty one")
        return TrackerState(), raw
