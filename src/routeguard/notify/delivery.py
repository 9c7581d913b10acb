"""Delivers one notification to one channel: once, in order, with bounded retries.

- **Once**: the delivery's idempotency key (per notification — so per incident,
  action and sequence — and channel) is claimed with SET NX and a lease before
  sending and set to the outcome after; a second replica holding the same
  outbox entry sees the claim and sends nothing.
- **In order**: a notification waits until the one before it of the same
  incident (`prev_id`) has settled on the channel, so a resolve never overtakes
  its trigger; a trigger whose resolve already went out is not sent.
- **Retries** only on 429, 5xx and network errors, with jittered exponential
  backoff (honouring Retry-After), at most `max_attempts` times. Anything else
  fails at once. A failure is recorded and kept, never dropped silently.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

import httpx
from prometheus_client import CollectorRegistry

from routeguard import metric_names as names
from routeguard.config.notify import DeliverySettings
from routeguard.notify.base import Action, Channel, ChannelSetupError, Notification
from routeguard.notify.store import NotifyStore
from routeguard.providers.retry_after import parse_retry_after

DELIVERED, FAILED, RETRIED = "delivered", "failed", "retried"
DUPLICATE, SUPERSEDED = "duplicate", "superseded"
SETTLED = frozenset({DELIVERED, FAILED, SUPERSEDED})
SETTLED_TTL_S = 7 * 24 * 3600
PREDECESSOR_GRACE_S = 2.0  # how long an unstarted predecessor is waited for
_POLL_S = 0.05


class DeliveryRecord(TypedDict):
    """One delivery's outcome, as `list_deliveries()` / `failed()` give it (JSON-ready)."""

    delivery_id: str  # "<channel>|<notification id>"
    notification_id: str
    incident_id: str
    dedup_key: str
    action: str
    channel: str
    channel_type: str
    outcome: str  # delivered or failed
    attempts: int
    status: int | None  # last HTTP status, if any answer came
    error: str  # why it failed; never a URL or a secret
    summary: str
    at: str  # RFC 3339, when it settled
    replica: str  # the dispatcher (consumer name) that settled it


@dataclass(frozen=True)
class SendResult:
    """How the attempts at one delivery ended."""

    outcome: str  # delivered or failed
    attempts: int
    status: int | None = None  # last HTTP status, if any answer came
    error: str = ""  # why it failed (never a URL or a secret)


class NotificationMetrics:
    """The notifier's metrics, on the registry passed in.

    `routeguard_notifications_total{channel,outcome}` counts this replica's
    deliveries; `routeguard_notifications_failed{channel}` is the number of
    failed deliveries kept in Redis (fleet-wide, set at scrape time), so an
    alert on it fires until someone looks at `GET /v1/notifications`.
    """

    def __init__(self, registry: CollectorRegistry, channels: Iterable[str] = ()) -> None:
        self.total = names.counter(names.NOTIFICATIONS, registry)
        self.failed = names.gauge(names.NOTIFICATIONS_FAILED, registry)
        self._known = set(channels)
        for channel in self._known:  # stable series from the start: 0, not absent
            self.failed.labels(channel=channel).set(0)
            for outcome in (DELIVERED, FAILED):
                self.total.labels(channel=channel, outcome=outcome)

    def count(self, channel: str, outcome: str) -> None:
        self.total.labels(channel=channel, outcome=outcome).inc()

    def set_failed(self, counts: Mapping[str, int]) -> None:
        """Set the kept-failure gauge: `counts` per channel, 0 for every other one seen."""
        self._known |= set(counts)
        for channel in self._known:
            self.failed.labels(channel=channel).set(counts.get(channel, 0))


class Sender:
    """Makes the HTTP attempts of one delivery."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: DeliverySettings,
        clock: Callable[[], float],
        metrics: NotificationMetrics,
        rng: random.Random,
    ) -> None:
        self._http = http
        self._settings = settings
        self._clock = clock
        self._metrics = metrics
        self._rng = rng

    async def send(self, channel: Channel, note: Notification) -> SendResult:
        attempts = self._settings.max_attempts
        result = SendResult(FAILED, 0)
        for attempt in range(1, attempts + 1):
            result, retry_after = await self._attempt(channel, note, attempt)
            if result.outcome == DELIVERED or retry_after is None or attempt == attempts:
                return result
            self._metrics.count(channel.name, RETRIED)
            await asyncio.sleep(self.backoff_s(attempt, retry_after))
        return result

    async def _attempt(
        self, channel: Channel, note: Notification, attempt: int
    ) -> tuple[SendResult, float | None]:
        """One try: the result, and the least wait before another (None: do not retry)."""
        try:
            request = channel.request(note, self._clock())
            response = await self._http.post(
                request.url,
                content=request.body,
                headers=dict(request.headers),
                timeout=self._settings.timeout_s,
            )
        except ChannelSetupError as exc:
            return SendResult(FAILED, attempt, error=str(exc)), None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return SendResult(FAILED, attempt, error=f"unusable URL ({type(exc).__name__})"), None
        except httpx.TransportError as exc:
            return SendResult(FAILED, attempt, error=f"network error ({type(exc).__name__})"), 0.0
        status = response.status_code
        if channel.accepted(status):
            return SendResult(DELIVERED, attempt, status), None
        error = f"HTTP {status}"
        if status == 429 or status >= 500:
            return SendResult(FAILED, attempt, status, error), _retry_after(response)
        return SendResult(FAILED, attempt, status, error + " (not retried)"), None

    def backoff_s(self, attempt: int, at_least_s: float = 0.0) -> float:
        """Equal-jitter exponential backoff after `attempt`, capped at backoff_max_s."""
        s = self._settings
        ceiling = min(s.backoff_max_s, s.backoff_s * 2.0 ** (attempt - 1))
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        return float(min(s.backoff_max_s, max(delay, at_least_s)))


def _retry_after(response: httpx.Response) -> float:
    header = response.headers.get("retry-after")
    if header is None:
        return 0.0
    return float(parse_retry_after(header, datetime.now(UTC)) or 0.0)


class Delivery:
    """Claims, orders, sends and records the deliveries of outbox entries."""

    def __init__(
        self,
        store: NotifyStore,
        sender: Sender,
        metrics: NotificationMetrics,
        lease_ms: int,
        clock: Callable[[], float],
        give_up_ms: int,
        replica: str,
    ) -> None:
        self._store = store
        self._sender = sender
        self._metrics = metrics
        self._lease_ms = lease_ms
        self._wall = clock
        self._give_up_ms = give_up_ms
        self._replica = replica

    async def deliver(self, channel: Channel, note: Notification) -> bool:
        """Deliver `note` on `channel` unless done already; False if another replica holds it."""
        if not await self._predecessor_settled(channel.name, note):
            return False
        token = secrets.token_hex(8)
        if not await self._store.claim_delivery(note.id, channel.name, token, self._lease_ms):
            state = await self._store.delivery_state(note.id, channel.name)
            if state is None or state.startswith("sending:"):
                return False  # in another replica's hands (or just released): not settled
            self._metrics.count(channel.name, DUPLICATE)
            return True
        try:
            await self._send_claimed(channel, note)
        except BaseException:
            await asyncio.shield(self._store.release_delivery(note.id, channel.name, token))
            raise
        return True

    async def _send_claimed(self, channel: Channel, note: Notification) -> None:
        if note.action is not Action.RESOLVE and await self._resolved(channel.name, note):
            await self._store.settle_delivery(note.id, channel.name, SUPERSEDED, SETTLED_TTL_S)
            self._metrics.count(channel.name, SUPERSEDED)
            return
        result = await self._sender.send(channel, note)
        await self._store.record(self._record(channel, note, result), result.outcome == FAILED)
        await self._store.settle_delivery(note.id, channel.name, result.outcome, SETTLED_TTL_S)
        self._metrics.count(channel.name, result.outcome)

    async def _resolved(self, channel: str, note: Notification) -> bool:
        """True if the incident's resolve already went out on `channel` (a late reminder)."""
        state = await self._store.delivery_state(f"{note.incident_id}#resolve", channel)
        return state in SETTLED

    async def _predecessor_settled(self, channel: str, note: Notification) -> bool:
        """Wait (bounded) for the previous notification of the incident to settle on `channel`.

        While another replica is sending it, wait up to the claim's lease; if
        nobody has started it, wait `PREDECESSOR_GRACE_S`, then leave `note`
        pending (the predecessor's outbox entry is taken over and sent first).
        A predecessor that never turns up in `give_up_s` (it was never queued
        for this channel: the channel was added later) stops holding `note` up.
        """
        if not note.prev_id:
            return True
        grace = round(PREDECESSOR_GRACE_S / _POLL_S)
        for poll in range(max(grace, round(self._lease_ms / 1000 / _POLL_S))):
            state = await self._store.delivery_state(note.prev_id, channel)
            if state in SETTLED:
                return True
            if state is None and poll >= grace:
                break
            await asyncio.sleep(_POLL_S)
        return self._wall() * 1000 - note.at_ms > self._give_up_ms

    def _record(self, channel: Channel, note: Notification, result: SendResult) -> DeliveryRecord:
        at = datetime.fromtimestamp(self._wall(), tz=UTC).isoformat(timespec="milliseconds")
        return {
            "delivery_id": f"{channel.name}|{note.id}",
            "notification_id": note.id,
            "incident_id": note.incident_id,
            "dedup_key": note.dedup_key,
            "action": note.action.value,
            "channel": channel.name,
            "channel_type": channel.type,
            "outcome": result.outcome,
            "attempts": result.attempts,
            "status": result.status,
            "error": result.error,
            "summary": note.summary,
            "at": at.replace("+00:00", "Z"),
            "replica": self._replica,
        }
