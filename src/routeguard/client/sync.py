"""Keeps a worker's view current and its outcomes flowing, in the background.

Three tasks: the pub/sub listener (transitions within milliseconds), the
resync loop (repairs anything pub/sub lost by reading only what the events
stream says changed, client/catchup.py, and measures the Redis clock offset)
and the flusher (outcome batches every `flush_s`, at once after a hard
failure). A Redis command that really fails (an error, a refused or dropped
connection, a PING on the subscription unanswered for `PING_DEADLINE_S`)
switches the worker to fail-static mode; the next successful resync switches
it back and the fleet state replaces local guesses.

Silence is not a failure: an idle subscription is polled with a read timeout
that returns nothing (never a socket timeout), and its liveness comes from a
PING every `PING_EVERY_S` of silence, answered on the same connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from routeguard.breaker import BreakerState, BreakerStore, Keys, Transition
from routeguard.breaker.types import OutcomeBatch, RouteStatus
from routeguard.client.catchup import ViewRead, full_read, read_changes
from routeguard.client.local import LocalBreakers
from routeguard.client.reporter import OutcomeBuffer
from routeguard.client.view import LocalView
from routeguard.errors import StoreUnavailable
from routeguard.outcomes import Outcome
from routeguard.tasks import raise_if_cancelled, stop_tasks

log = logging.getLogger(__name__)
RECONNECT_S = 0.5
POLL_S = 0.5  # longest a subscription read waits before the loop looks around
PING_EVERY_S = 1.0  # silence after which the subscription is PINGed
PING_DEADLINE_S = 2.0  # an unanswered PING after this long is a failed command
DegradedHook = Callable[[bool], None]


class Synchroniser:
    """The background half of HealthClient."""

    def __init__(
        self,
        redis: Redis,
        store: BreakerStore,
        view: LocalView,
        buffer: OutcomeBuffer,
        local: LocalBreakers,
        keys: Keys,
        *,
        flush_s: float,
        resync_s: float,
        on_degraded: DegradedHook | None = None,
    ) -> None:
        self._redis = redis
        self._store = store
        self._view = view
        self._buffer = buffer
        self._local = local
        self._keys = keys
        self._flush_s = flush_s
        self._resync_s = resync_s
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._on_degraded = on_degraded
        self._cursor: str | None = None  # the last events-stream entry the view covers
        self.degraded = False

    async def start(self) -> None:
        await self.resync()
        self._tasks = [
            asyncio.create_task(self._listen(), name="routeguard-pubsub"),
            asyncio.create_task(self._resync_loop(), name="routeguard-resync"),
            asyncio.create_task(self._flush_loop(), name="routeguard-flush"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await stop_tasks(tasks)
        with contextlib.suppress(StoreUnavailable, RedisError, OSError):
            await asyncio.wait_for(self.flush(), timeout=1.0)
        await self._redis.aclose()

    def wake(self, *, urgent: bool) -> None:
        if urgent:
            self._wake.set()

    # -- resync -----------------------------------------------------------------

    async def resync(self) -> bool:
        """Bring the view up to date with Redis; True when Redis answered."""
        try:
            read = await self._read_view()
        except StoreUnavailable as exc:
            self._degrade(exc)
            return False
        recovering = self.degraded
        if recovering:
            log.warning("Redis answers again: the fleet state replaces local breakers")
            self._set_degraded(False)
            self._local.reset()
            self._wake.set()  # what was kept while degraded goes now
        # Coming back, Redis's word wins even at lower versions (it may have restarted empty).
        self._view.resync(
            read.statuses, read.now_ms, authoritative=recovering or read.authoritative
        )
        self._cursor = read.cursor
        return True

    async def _read_view(self) -> ViewRead:
        """Only what changed; everything on first load and when coming back from an outage
        (Redis may have restarted, its stream with it)."""
        if self._cursor is None or self.degraded:
            return await full_read(self._store)
        return await read_changes(self._store, self._cursor)

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._resync_s)
            raise_if_cancelled()
            await self.resync()

    # -- pub/sub ----------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            raise_if_cancelled()
            try:
                await self._subscribe_and_read()
            except (RedisError, OSError, StoreUnavailable) as exc:
                self._degrade(exc)
            await asyncio.sleep(RECONNECT_S)

    async def _subscribe_and_read(self) -> None:
        # Any: redis-py types PubSub.aclose() only from 8.x on; 6.4 is still supported.
        pubsub: Any = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._keys.transitions_channel)
            # Anything published before the subscription took effect is repaired here.
            await self.resync()
            await self._read(pubsub)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def _read(self, pubsub: Any) -> None:
        """Read messages until the connection fails; silence only triggers a PING."""
        loop = asyncio.get_running_loop()
        heard = loop.time()
        ping_sent: float | None = None
        while True:
            raise_if_cancelled()
            message = await pubsub.get_message(timeout=POLL_S)
            now = loop.time()
            if message is not None:
                heard, ping_sent = now, None
                if message.get("type") == "message":
                    self._on_message(message["data"])
            elif ping_sent is not None and now - ping_sent > PING_DEADLINE_S:
                raise StoreUnavailable(
                    f"Redis did not answer a PING on the transitions subscription "
                    f"within {PING_DEADLINE_S:.0f} s"
                )
            elif ping_sent is None and now - heard >= PING_EVERY_S:
                await pubsub.ping()
                ping_sent = now

    def _on_message(self, data: Any) -> None:
        try:
            transition = Transition.from_fields(json.loads(data))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed transition message")
            return
        self._view.apply(transition)

    # -- outcomes ---------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            raise_if_cancelled()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._flush_s)
            self._wake.clear()
            if not self.degraded:
                await self.flush()

    async def flush(self) -> None:
        """Record every pending batch; on failure keep them and go fail-static."""
        batches = self._buffer.drain()
        if not batches:
            return
        results = await asyncio.gather(
            *(self._record(route, batch) for route, batch in batches.items()),
            return_exceptions=True,
        )
        failed = {
            r: b
            for (r, b), res in zip(batches.items(), results, strict=True)
            if isinstance(res, BaseException)
        }
        if failed:
            self._buffer.put_back(failed)
            first = next(res for res in results if isinstance(res, BaseException))
            self._degrade(first)
            for route in failed:
                self._apply_batch_locally(route, failed[route])

    async def _record(self, route: str, batch: OutcomeBatch) -> None:
        status: RouteStatus = await self._store.record_batch(route, batch)
        for transition in status.transitions:
            self._view.apply(transition)

    # -- fail static ------------------------------------------------------------

    def _degrade(self, exc: BaseException) -> None:
        if not self.degraded:
            log.warning("Redis unreachable (%s): routing on the last view and local breakers", exc)
            self._set_degraded(True)

    def _set_degraded(self, degraded: bool) -> None:
        self.degraded = degraded
        if self._on_degraded is not None:
            self._on_degraded(degraded)

    def apply_locally(
        self, route: str, outcome: Outcome, slow: bool, retry_after_s: float | None
    ) -> None:
        """While degraded: the local breaker sees each outcome as it is reported."""
        self._apply_batch_locally(
            route, OutcomeBatch.of(outcome, slow=slow, retry_after_s=retry_after_s)
        )

    def _apply_batch_locally(self, route: str, batch: OutcomeBatch) -> None:
        state, open_until_local_ms = self._local.apply(route, batch)
        offset = self._view.redis_now_ms() - self._local.now_ms()
        if state == BreakerState.HALF_OPEN:
            # Locally there are no probes: the next call is the trial.
            self._view.local_override(route, BreakerState.OPEN, int(self._view.redis_now_ms()))
        elif state == BreakerState.OPEN:
            self._view.local_override(route, state, int(open_until_local_ms + offset))
        else:
            self._view.local_override(route, state, 0)
