"""BreakerStore: the async face of the breaker scripts in Redis.

Every state change happens inside one Lua script (record, acquire, force), so
any number of processes can share a route without races; this class only
packs arguments, unpacks results and turns Redis failures into one clear error.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from routeguard.breaker.keys import Keys
from routeguard.breaker.model import RouteRecord, sum_window
from routeguard.breaker.scripts import script_source
from routeguard.breaker.types import (
    LEGACY_FIELDS,
    BreakerParams,
    ForceTarget,
    OutcomeBatch,
    RouteStatus,
    Transition,
)
from routeguard.config.policies import BreakerSettings
from routeguard.errors import RouteError, StateError, StoreUnavailable
from routeguard.outcomes import Outcome
from routeguard.redact import redact_url
from routeguard.redis_batch import RedisBatcher
from routeguard.redis_connect import REDIS_TIME_SCRIPT, connect_redis, replica_acks, text

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_STREAM_MAXLEN = 10_000
MAX_REASON_CHARS = 200
DUE_BATCH = 500
EMPTY_STREAM_ID = "0-0"
"""The cursor of an events stream that holds no entry (no real entry has this id)."""
RECORD_FIELDS = ("state", "reason", "version", "open_until_ms", "since_ms")
"""What a worker's view keeps of a state record, and the same under their old names."""
RECORD_READ = RECORD_FIELDS + tuple(
    old for old, new in LEGACY_FIELDS.items() if new in RECORD_FIELDS
)
RECORD_AND_RUN_READ = (*RECORD_READ, "consecutive_failures", "consecutive")
"""The state record and the route's run of failures (the probe scheduler's read)."""

RECORDS_PER_CALL = 250
"""Routes read by one records.lua call: Redis runs it in 2.6 to 4.1 µs a route
(bench/records.py, Redis 7.0), so a call holds the server for about a millisecond."""


class BreakerStore:
    """Circuit breakers of the configured routes, kept in Redis.

    Takes the Redis client, the key builder and each route's settings from its
    caller; `rng` draws open-time jitter and lease tokens (seed it in tests).
    """

    def __init__(
        self,
        redis: Redis,
        routes: Mapping[str, BreakerSettings],
        *,
        keys: Keys | None = None,
        stream_maxlen: int = DEFAULT_STREAM_MAXLEN,
        rng: random.Random | None = None,
        where: str = "redis",
        batcher: RedisBatcher | None = None,
    ) -> None:
        self._redis = redis
        self._batcher = batcher
        self._keys = keys or Keys()
        self._params = {route: BreakerParams.from_settings(s) for route, s in routes.items()}
        self._param_args = {route: p.as_arg() for route, p in self._params.items()}
        self._maxlen = str(stream_maxlen)
        self._rng = rng or random.Random()
        self._where = where
        self._acks = replica_acks(redis)
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(script_source(name))
            for name in ("record", "acquire", "force", "due", "records")
        }

    @classmethod
    def from_url(
        cls, url: str, routes: Mapping[str, BreakerSettings], **kwargs: Any
    ) -> BreakerStore:
        """A store on its own connection pool to `url` (close it with `aclose`)."""
        client = connect_redis(url, connect_timeout_s=3, timeout_s=5)
        return cls(client, routes, where=redact_url(url), **kwargs)

    @property
    def keys(self) -> Keys:
        return self._keys

    @property
    def redis(self) -> Redis:
        """The connection this store uses (for reads beside the breaker's, e.g. heartbeats)."""
        return self._redis

    @property
    def where(self) -> str:
        """The Redis address, redacted, as messages show it."""
        return self._where

    @property
    def routes(self) -> list[str]:
        """The routes this store knows, in catalog order."""
        return list(self._params)

    def knows(self, route: str) -> bool:
        """True for a route of the catalog this store was built with."""
        return route in self._params

    async def aclose(self) -> None:
        await self._redis.aclose()

    # -- writes -----------------------------------------------------------------

    async def record(
        self,
        route: str,
        outcome: Outcome,
        *,
        slow: bool = False,
        retry_after_s: float | None = None,
        trial_token: str | None = None,
    ) -> RouteStatus:
        """Record one outcome; returns the route after it, with any transitions."""
        batch = OutcomeBatch.of(outcome, slow=slow, retry_after_s=retry_after_s)
        return await self.record_batch(route, batch, trial_token=trial_token)

    async def record_batch(
        self, route: str, batch: OutcomeBatch, *, trial_token: str | None = None
    ) -> RouteStatus:
        """Record outcomes a worker aggregated for one route, in one round trip."""
        counts = (
            batch.ok,
            batch.slow,
            batch.failures,
            batch.trailing_failures,
            batch.rate_limited,
            -1 if batch.retry_after_ms is None else batch.retry_after_ms,
            batch.auth_errors,
            batch.quota_errors,
            self._rng.randrange(1000),
        )
        args = [",".join(map(str, counts)), batch.last_failure, trial_token or ""]
        result = await self._run("record", route, args)
        return result[0]

    async def acquire_trial(self, route: str) -> str | None:
        """A half-open trial lease token, or None when none is free (or not half-open)."""
        _, token = await self.acquire_trial_status(route)
        return token

    async def acquire_trial_status(self, route: str) -> tuple[RouteStatus, str | None]:
        """Like `acquire_trial`, also returning the route (and any open_expired move)."""
        token = secrets.token_hex(8)
        status, granted = await self._run("acquire", route, [token])
        return status, token if granted else None

    async def force(self, route: str, target: ForceTarget | str, reason: str) -> RouteStatus:
        """Force a route open or closed, or hand it back (`auto`); audited in the stream."""
        try:
            target = ForceTarget(target)
        except ValueError:
            raise StateError(
                f"unknown forced state {str(target)!r}: use open, closed or auto"
            ) from None
        detail = " ".join(reason.split())[:MAX_REASON_CHARS] or "operator"
        status, _ = await self._run("force", route, [target.value, detail])
        return status

    async def tick(self) -> list[Transition]:
        """Move every open route whose open time has ended to half-open."""
        due_raw = await self._guard(
            self._scripts["due"](keys=[self._keys.open_index], args=[DUE_BATCH])
        )
        due = [r for r in map(text, due_raw) if r in self._params]
        moved: list[Transition] = []
        for route in due:
            status = await self.record_batch(route, OutcomeBatch())
            moved.extend(status.transitions)
        return moved

    # -- reads ------------------------------------------------------------------

    async def state(self, route: str) -> RouteStatus:
        """The route's breaker now."""
        return (await self._read([self._checked(route)]))[0]

    async def states(self) -> list[RouteStatus]:
        """Every configured route's breaker, read in one round trip."""
        return await self._read(list(self._params))

    async def records(
        self, routes: Sequence[str] | None = None, *, read: Sequence[str] = RECORD_READ
    ) -> tuple[int, list[RouteStatus]]:
        """Redis time (ms) and the state records of `routes` (default: every route),
        without the window figures (read as zero): what a worker's view needs.
        `read=RECORD_AND_RUN_READ` adds the run of consecutive failures.

        One script call per `RECORDS_PER_CALL` routes (records.lua): a reply a call to
        parse, where a pipeline of HMGETs cost a command's packing and a reply's read
        per route (the probe scheduler's resync was 11% of the daemon's busy samples).
        The clock is the first call's.
        """
        names = list(self._params) if routes is None else [self._checked(r) for r in routes]
        if not names:
            return _redis_ms(await self._guard(self._clock())), []
        now_ms, statuses = 0, []
        for start in range(0, len(names), RECORDS_PER_CALL):
            chunk = names[start : start + RECORDS_PER_CALL]
            keys = [self._keys.state(route) for route in chunk]
            clock, *replies = await self._guard(self._scripts["records"](keys, read))
            now_ms = now_ms or _redis_ms(clock)
            statuses += [
                _status_from_record(route, read, values, now_ms)
                for route, values in zip(chunk, replies, strict=True)
            ]
        return now_ms, statuses

    def _clock(self) -> Awaitable[Any]:
        """Redis TIME, on the deployment's slot (a Cluster routes the call by its key)."""
        return self._redis.eval(REDIS_TIME_SCRIPT, 1, self._keys.open_index)

    async def last_event_id(self) -> str:
        """The id of the events stream's newest entry (EMPTY_STREAM_ID when it has none)."""
        newest = await self._guard(self._redis.xrevrange(self._keys.events, "+", "-", count=1))
        return text(newest[0][0]) if newest else EMPTY_STREAM_ID

    async def event_routes(self, start: str, count: int) -> tuple[int, list[tuple[str, str]]]:
        """Redis time (ms), and the (entry id, route) of up to `count` entries of the events
        stream from id `start` on, `start` included ("-": from the oldest), in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.eval(REDIS_TIME_SCRIPT, 1, self._keys.open_index)
        pipe.xrange(self._keys.events, start, "+", count)
        clock, entries = await self._guard(pipe.execute())
        return _redis_ms(clock), [
            (text(entry_id), _field(fields, "route")) for entry_id, fields in entries or []
        ]

    async def transition_counts(self) -> dict[str, dict[tuple[str, str], int]]:
        """Per route, how many times it moved from one state to another (one round trip)."""
        pipe = self._redis.pipeline(transaction=False)
        for route in self._params:
            pipe.hgetall(self._keys.transition_counts(route))
        replies = await self._guard(pipe.execute())
        counts: dict[str, dict[tuple[str, str], int]] = {}
        for route, reply in zip(self._params, replies, strict=True):
            moves = {tuple(text(k).split(">", 1)): int(v) for k, v in reply.items()}
            counts[route] = {(m[0], m[1]): n for m, n in moves.items() if len(m) == 2}
        return counts

    async def events(self, since: str | None = None, count: int = 100) -> list[Transition]:
        """Transitions from the stream after event id `since` (oldest first)."""
        start = f"({since}" if since else "-"
        try:
            entries = await self._guard(self._redis.xrange(self._keys.events, start, "+", count))
        except StoreUnavailable:
            raise
        except RedisError as exc:  # a malformed `since`
            raise StateError(f"bad event id {since!r}: {exc}") from None
        out = []
        for entry_id, fields in entries or []:
            decoded = {text(k): text(v) for k, v in (fields or {}).items()}
            out.append(Transition.from_fields(decoded, event_id=text(entry_id)))
        return out

    # -- plumbing ---------------------------------------------------------------

    def _checked(self, route: str) -> str:
        if route not in self._params:
            known = ", ".join(list(self._params)[:10]) or "none"
            raise RouteError(f"unknown route {route!r}: routes in the catalog are {known}")
        return route

    async def _run(self, name: str, route: str, op_args: list[Any]) -> tuple[RouteStatus, bool]:
        """Run script `name` on `route` with its own arguments (ARGV[5..]); returns
        the route after it and whether a trial lease was granted."""
        self._checked(route)
        params = self._param_args[route]
        args = [route, self._keys.transitions_channel, self._maxlen, params, *op_args]
        keys = self._keys.route_keys(route)
        if self._acks is None:
            script = self._scripts[name]
            if self._batcher is not None:
                raw = await self._guard(self._batcher.script(script, keys, args))
            else:
                raw = await self._guard(script(keys=keys, args=args))
            return _parse_result(route, raw)
        return await self._guard(self._run_acked(name, route, keys, args))

    async def _run_acked(
        self, name: str, route: str, keys: list[str], args: list[Any]
    ) -> tuple[RouteStatus, bool]:
        # WAIT counts the writes of its own connection: script and WAIT share one.
        async with self._redis.client() as conn:
            result = _parse_result(
                route, await self._scripts[name](keys=keys, args=args, client=conn)
            )
            if result[0].transitions:
                await self._await_replicas(conn, result[0])
        return result

    async def _await_replicas(self, conn: Redis, status: RouteStatus) -> None:
        """Hold the transition until the URL's replicas have it (or their timeout passes)."""
        assert self._acks is not None
        wanted, timeout_ms = self._acks.replicas, self._acks.timeout_ms
        acked = int(await conn.wait(wanted, timeout_ms))
        if acked < wanted:
            log.warning(
                "transition of %s to %s (version %d) reached %d of %d replicas within %d ms: "
                "a failover right now could lose it",
                status.route,
                status.state.value,
                status.version,
                acked,
                wanted,
                timeout_ms,
            )

    async def _read(self, routes: list[str]) -> list[RouteStatus]:
        pipe = self._redis.pipeline(transaction=False)
        pipe.eval(REDIS_TIME_SCRIPT, 1, self._keys.open_index)
        for route in routes:
            pipe.hgetall(self._keys.state(route))
            pipe.hgetall(self._keys.window(route))
        replies = await self._guard(pipe.execute())
        now_ms = _redis_ms(replies[0])
        return [
            _status_from_hashes(
                route, self._params[route], replies[1 + 2 * i], replies[2 + 2 * i], now_ms
            )
            for i, route in enumerate(routes)
        ]

    async def _guard(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise StoreUnavailable(
                f"Redis at {self._where} does not answer ({type(exc).__name__}); "
                "check ROUTEGUARD_REDIS_URL and that the server is running"
            ) from None


def _parse_result(route: str, raw: Any) -> tuple[RouteStatus, bool]:
    """A script's `{snapshot, events, granted}`: the route after it, and whether a trial
    lease was granted (only acquire grants one)."""
    data = json.loads(text(raw))
    events = data["events"] if isinstance(data["events"], list) else []  # cjson: {} when empty
    transitions = tuple(Transition.from_fields(ev) for ev in events)
    base = RouteStatus.from_fields(route, data["snapshot"])
    return replace(base, transitions=transitions), bool(data["granted"])


def _redis_ms(clock: Any) -> int:
    """A TIME reply ([seconds, microseconds]) in milliseconds."""
    seconds, micros = clock
    return int(seconds) * 1000 + int(micros) // 1000


def _field(fields: Mapping[Any, Any] | None, name: str) -> str:
    """One field of a stream entry as text ("" when absent), whatever the reply's encoding."""
    for key, value in (fields or {}).items():
        if text(key) == name:
            return text(value)
    return ""


def _status_from_record(
    route: str, read: Sequence[str], values: Sequence[Any], now_ms: int
) -> RouteStatus:
    """The route from an HMGET of the fields `read` (absent fields left out: their zero)."""
    fields = {name: text(v) for name, v in zip(read, values, strict=True) if v is not None}
    return RouteStatus.from_fields(route, fields | {"now_ms": now_ms})


def _status_from_hashes(
    route: str,
    params: BreakerParams,
    state: Mapping[Any, Any],
    window: Mapping[Any, Any],
    now_ms: int,
) -> RouteStatus:
    """The route as its hashes hold it (old field names too: RouteStatus.from_fields)."""
    fields: dict[str, Any] = {text(k): text(v) for k, v in state.items()}
    counts = {text(k): int(v) for k, v in window.items()}
    figures, _ = sum_window(counts, now_ms, params)
    fields.setdefault("state", RouteRecord().state.value)
    fields |= {"calls": figures.calls, "failures": figures.failures, "slow": figures.slow}
    fields["now_ms"] = now_ms
    return RouteStatus.from_fields(route, fields)
