"""The notification dispatcher: transitions in, incidents decided, notifications delivered.

Two loops share one Redis consumer group (`Keys.notify_group`):

1. **Transitions** are read from the breaker's stream (`{p}:events`) with
   XREADGROUP; each batch is applied to the incident state, its notifications
   queued in the outbox and the batch acknowledged in one MULTI. Between
   batches, and every `tick_s`, the clock's work is done (pages, reminders).
2. **The outbox** (`{p}:notify:outbox`) is read the same way; each entry is
   delivered to its channels (`delivery.py`) and acknowledged when every
   channel has settled.

At least once: an entry read and never acknowledged (a replica stopped or died)
is taken over with XAUTOCLAIM once idle for `claim_idle_s`; the idempotency
keys keep that from sending twice. Any number of replicas may run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import httpx
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from routeguard.breaker.keys import Keys
from routeguard.breaker.types import Transition
from routeguard.config.notify import NotifyConfig
from routeguard.errors import StoreUnavailable
from routeguard.heartbeat import redis_now_ms
from routeguard.notify.base import Channel, Notification, NotifyError
from routeguard.notify.channels import build_channels
from routeguard.notify.delivery import FAILED, Delivery, DeliveryRecord, NotificationMetrics, Sender
from routeguard.notify.incidents import IncidentPolicy, TrackerState, advance, observe
from routeguard.notify.status import failed_counts, failure_record, incident_view
from routeguard.notify.store import Entry, NotifyStore, is_lost_group, newer_id
from routeguard.store_health import STORE_ERRORS, FailureEpisodes
from routeguard.tasks import raise_if_cancelled

log = logging.getLogger(__name__)

EVENT_BATCH = 100
# One at a time: an entry read is an entry being sent, so a replica never sits on a
# trigger that another replica's resolve would have to wait for.
OUTBOX_BATCH = 1
ERROR_PAUSE_S = 1.0
STOP_GRACE_S = 1.0
STORE_AND_NOTIFY_ERRORS = (
    *STORE_ERRORS,
    NotifyError,
)  # how long stop() waits for the loops to finish cancelling


class Dispatcher:
    """Turns breaker transitions into delivered notifications. `start()`, later `stop()`.

    `clock` is wall time in seconds (webhook timestamps, delivery records);
    incident timing uses Redis TIME, the clock that stamped the transitions.
    `routes` (the catalog's route ids) lets summaries say "3 of 4 routes".
    """

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        config: NotifyConfig,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.time,
        registry: CollectorRegistry | None = None,
        *,
        routes: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        channels: Mapping[str, Channel] | None = None,
        consumer: str | None = None,
        rng: random.Random | None = None,
        tick_s: float = 1.0,
    ) -> None:
        self.config = config
        self.consumer = consumer or f"notify-{uuid.uuid4().hex[:12]}"
        self._keys = keys
        self._store = NotifyStore(redis, keys)
        self._channels = dict(channels) if channels is not None else build_channels(config, env)
        self._policy = IncidentPolicy.from_config(config, routes)
        self.metrics = NotificationMetrics(registry or CollectorRegistry(), self._channels)
        d = config.delivery
        sender = Sender(http, d, clock, self.metrics, rng or random.Random())
        # A claim outlives the longest a delivery can take: every attempt timing out,
        # every backoff at its cap, plus one timeout of slack.
        lease_s = d.max_attempts * (d.timeout_s + d.backoff_max_s) + d.timeout_s
        # A predecessor not settled after two takeover rounds past its lease never will be.
        give_up_s = lease_s + 2 * d.claim_idle_s
        self._delivery = Delivery(
            self._store,
            sender,
            self.metrics,
            round(lease_s * 1000),
            clock,
            round(give_up_s * 1000),
            self.consumer,
        )
        self._clock = clock
        self._tick_s = tick_s
        self._tasks: list[asyncio.Task[None]] = []
        self.last_round: dict[str, float] = {}  # loop -> monotonic end of its last round
        self._redis = redis
        self._resume_id = "0-0"  # the newest transition applied (or our start time)
        self._rejoining = asyncio.Lock()

    def __repr__(self) -> str:
        return f"Dispatcher({self.consumer!r}, channels={sorted(self._channels)})"

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks)

    async def start(self) -> None:
        """Create the consumer groups if needed and start both loops."""
        if self.running:
            return
        self._resume_id = f"{await redis_now_ms(self._redis, self._keys)}-0"
        if await self._store.ensure_groups():
            await self._take_over_outages()
        self._tasks = [
            asyncio.create_task(self._loop(self._events_round), name="notify-events"),
            asyncio.create_task(self._loop(self._outbox_round), name="notify-outbox"),
        ]

    async def _take_over_outages(self) -> None:
        """First start: routes already down are tracked as if their transitions had been read."""
        entries = await self._store.down_now()
        if entries:
            log.info(
                "notify: %d route(s) already down at first start",
                len({f.get("route") for _, f in entries}),
            )
            await self.apply(entries)

    async def stop(self) -> None:
        """Stop both loops; whatever was unfinished stays pending for the next dispatcher."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        _, stuck = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
        for task in stuck:  # a Redis client that swallows the cancellation: never hang shutdown
            log.warning(
                "notify %s: %s did not stop in %.0f s; left behind",
                self.consumer,
                task.get_name(),
                STOP_GRACE_S,
            )

    # -- what the daemon serves (GET /v1/notifications) -------------------------------

    async def list_deliveries(self, limit: int = 100) -> list[DeliveryRecord]:
        """The latest delivery outcomes, newest first."""
        return cast(list[DeliveryRecord], await self._store.deliveries(limit))

    async def failed(self) -> list[DeliveryRecord]:
        """Deliveries that failed for good, oldest first; kept until dismissed."""
        return cast(list[DeliveryRecord], await self._store.failed())

    async def dismiss_failed(self, delivery_id: str) -> bool:
        """Forget one failed delivery (after dealing with it); False if there was none."""
        return await self._store.dismiss_failed(delivery_id)

    async def incidents(self) -> list[dict[str, Any]]:
        """Incidents open now: pending (not paged yet), active, or held by an operator."""
        return incident_view(await self._store.state())

    async def status(self, limit: int = 100) -> dict[str, Any]:
        """Everything `GET /v1/notifications` shows, JSON-ready (no URL, no secret)."""
        return {
            "channels": [{"name": c.name, "type": c.type} for c in self._channels.values()],
            "incidents": await self.incidents(),
            "failed": await self.failed(),
            "deliveries": await self.list_deliveries(limit),
        }

    async def refresh_metrics(self) -> None:
        """Set `routeguard_notifications_failed` from Redis (called at scrape time)."""
        self.metrics.set_failed(failed_counts(await self.failed()))

    # -- the two loops ------------------------------------------------------------------

    async def _loop(self, round_: Callable[[bool, bool], Any]) -> None:
        first, last_claim = True, 0.0
        episodes = FailureEpisodes(log, f"notify {self.consumer} {round_.__name__.strip('_')}")
        while True:
            raise_if_cancelled()
            claim = time.monotonic() - last_claim >= self.config.delivery.claim_idle_s / 2
            try:
                await round_(first, claim)
                first = False
                if claim:
                    last_claim = time.monotonic()
                self.last_round[round_.__name__] = time.monotonic()
                episodes.succeeded()
            except asyncio.CancelledError:
                raise
            except ResponseError as exc:
                episodes.failed(exc)
                if is_lost_group(exc):
                    with contextlib.suppress(*STORE_ERRORS):
                        await self.rejoin()
                await asyncio.sleep(ERROR_PAUSE_S)
            except (StoreUnavailable, RedisError, OSError, TimeoutError, NotifyError) as exc:
                episodes.failed(exc)
                await asyncio.sleep(ERROR_PAUSE_S)
            except Exception:  # a bug must not end the notifier: log it, go on
                log.exception("notify %s: unexpected error; retrying", self.consumer)
                await asyncio.sleep(ERROR_PAUSE_S)

    async def rejoin(self) -> None:
        """Redis lost the groups (restart without persistence, an empty replica): make them
        again and take over the outages going on, as a first start does.

        The events group starts after the newest transition this dispatcher applied
        (or its start time): nothing is applied twice, nothing written since is skipped.
        """
        async with self._rejoining:
            if await self._store.ensure_groups(events_from=self._resume_id):
                log.warning(
                    "notify %s: consumer group was gone; recreated after %s",
                    self.consumer,
                    self._resume_id,
                )
                await self._take_over_outages()

    def stalled_s(self) -> float:
        """Seconds since the transitions loop last finished a round (0 before it started)."""
        last = self.last_round.get("_events_round")
        return 0.0 if last is None else time.monotonic() - last

    async def _read(
        self, stream: str, first: bool, claim: bool, count: int, block_s: float
    ) -> list[Entry]:
        if first:
            own = await self._store.read(
                stream, self.consumer, count=count, block_ms=None, own_pending=True
            )
            if own:
                return own
        if claim:
            idle_ms = round(self.config.delivery.claim_idle_s * 1000)
            claimed = await self._store.claim(stream, self.consumer, idle_ms, count)
            if claimed:
                return claimed
        block_ms = max(1, round(block_s * 1000))
        return await self._store.read(
            stream, self.consumer, count=count, block_ms=block_ms, own_pending=False
        )

    async def _events_round(self, first: bool, claim: bool) -> None:
        entries = await self._read(self._keys.events, first, claim, EVENT_BATCH, self._tick_s)
        if entries:
            await self.apply(entries)
        if len(entries) < EVENT_BATCH:  # caught up: only now may time page anything
            await self.tick()

    async def apply(self, entries: list[Entry]) -> list[Notification]:
        """Apply stream entries (transitions) to the incidents; queue and return what they decided."""
        transitions = []
        for entry_id, _ in entries:
            self._resume_id = newer_id(self._resume_id, entry_id)
        for entry_id, fields in entries:
            try:
                transitions.append(Transition.from_fields(fields, event_id=entry_id))
            except (KeyError, ValueError):
                log.error("notify: skipping malformed transition %s: %s", entry_id, sorted(fields))
        policy = self._policy

        def step(state: TrackerState, _now_ms: int) -> tuple[TrackerState, list[Notification]]:
            notes: list[Notification] = []
            for transition in transitions:
                state, more = observe(state, transition, policy)
                notes.extend(more)
            return state, notes

        return await self._store.update(step, self._channels_for, ack=[e[0] for e in entries])

    async def tick(self) -> list[Notification]:
        """Do what the time (Redis TIME) makes due; queue and return those notifications."""
        policy = self._policy
        return await self._store.update(lambda s, now: advance(s, now, policy), self._channels_for)

    def _channels_for(self, note: Notification) -> list[str]:
        return [
            name
            for name, channel in self.config.channels.items()
            if note.severity in channel.severities and name in self._channels
        ]

    async def _outbox_round(self, first: bool, claim: bool) -> None:
        entries = await self._read(self._keys.notify_outbox, first, claim, OUTBOX_BATCH, 1.0)
        for entry_id, fields in entries:
            if await self._deliver_entry(entry_id, fields):
                await self._store.ack(self._keys.notify_outbox, [entry_id])

    async def _deliver_entry(self, entry_id: str, fields: dict[str, str]) -> bool:
        """Deliver one outbox entry to each of its channels; True when all have settled."""
        try:
            note = Notification.model_validate_json(fields["notification"])
        except (KeyError, ValidationError):
            await self._unreadable(entry_id)
            return True
        names = [n for n in fields.get("channels", "").split(",") if n]
        missing = [n for n in names if n not in self._channels]
        for name in missing:
            await self._no_channel(name, note)
        jobs = [self._delivery.deliver(self._channels[n], note) for n in names if n not in missing]
        return all(await asyncio.gather(*jobs))

    async def _unreadable(self, entry_id: str) -> None:
        log.error("notify: outbox entry %s is unreadable; recorded as failed", entry_id)
        record = failure_record(
            f"outbox|{entry_id}", "outbox", "unreadable outbox entry", self._clock(), self.consumer
        )
        await self._store.record(record, failed=True)
        self.metrics.count("outbox", FAILED)

    async def _no_channel(self, name: str, note: Notification) -> None:
        error = f"channel {name!r} is no longer configured"
        record = failure_record(
            f"{name}|{note.id}", name, error, self._clock(), self.consumer, note
        )
        await self._store.record(record, failed=True)
        self.metrics.count(name, FAILED)
