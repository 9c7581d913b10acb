"""Every Redis key and channel name of a deployment, built in one place.

All names carry the same hash tag, `{<prefix>}`, so every script's keys fall in
one slot and the scripts run unchanged on Redis Cluster. docs/redis-schema.md
describes each key's layout.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """Key and channel names for one deployment (one `ROUTEGUARD_KEY_PREFIX`)."""

    prefix: str = "routeguard"

    def __post_init__(self) -> None:
        if not self.prefix or any(c in self.prefix for c in "{} \t\r\n"):
            raise ValueError(
                f"key prefix must be non-empty, without braces or spaces: {self.prefix!r}"
            )

    @property
    def tag(self) -> str:
        """The hash tag shared by every key of the deployment."""
        return "{" + self.prefix + "}"

    def state(self, route: str) -> str:
        """Hash: the route's breaker state record."""
        return f"{self.tag}:route:{route}"

    def window(self, route: str) -> str:
        """Hash: the route's time-bucketed call, failure and slow counts."""
        return f"{self.tag}:window:{route}"

    def lease(self, route: str) -> str:
        """Sorted set: the route's half-open trial leases, scored by expiry."""
        return f"{self.tag}:lease:{route}"

    def transition_counts(self, route: str) -> str:
        """Hash: how many times the route moved `from>to`, for the metrics counter."""
        return f"{self.tag}:counts:{route}"

    def outages(self, route: str) -> str:
        """Sorted set: the route's ended outage intervals (`start:end:class:reason`), by end."""
        return f"{self.tag}:outages:{route}"

    def probe_buckets(self, route: str) -> str:
        """Hash: the route's probe counts and TTFT histograms in minute, hour and day buckets."""
        return f"{self.tag}:probes:{route}"

    def probe_lease(self, job: str) -> str:
        """String: which daemon replica runs probe `job` this interval (SET NX PX)."""
        return f"{self.tag}:probe:{job}"

    @property
    def last_probes(self) -> str:
        """Hash: field `<route or provider>|<tier>` -> JSON of the last probe."""
        return f"{self.tag}:lastprobe"

    @property
    def daemons(self) -> str:
        """Hash: daemon replica id -> its last heartbeat (Redis ms); see routeguard/heartbeat.py."""
        return f"{self.tag}:daemons"

    @property
    def events(self) -> str:
        """Stream: every transition of every route, bounded in length."""
        return f"{self.tag}:events"

    @property
    def open_index(self) -> str:
        """Sorted set: open routes scored by open_until (ms), for tick()."""
        return f"{self.tag}:open"

    @property
    def transitions_channel(self) -> str:
        """Pub/sub channel: every transition, as JSON, the moment it happens."""
        return f"{self.tag}:transitions"

    @property
    def notify_group(self) -> str:
        """Consumer group (on `events` and `notify_outbox`) of the notification dispatchers."""
        return "routeguard-notify"

    @property
    def notify_state(self) -> str:
        """String: JSON of the incident tracker (every route's condition, open incidents)."""
        return f"{self.tag}:notify:state"

    @property
    def notify_outbox(self) -> str:
        """Stream: notifications to deliver, one entry each (JSON and its channels)."""
        return f"{self.tag}:notify:outbox"

    def notify_sent(self, notification_id: str, channel: str) -> str:
        """String: idempotency key of one delivery (SET NX): sending, then its outcome."""
        return f"{self.tag}:notify:sent:{channel}:{notification_id}"

    @property
    def notify_deliveries(self) -> str:
        """Stream: the outcome of every delivery, bounded in length."""
        return f"{self.tag}:notify:deliveries"

    @property
    def notify_failed(self) -> str:
        """Hash: field `<channel>|<notification id>` -> JSON of a delivery that failed."""
        return f"{self.tag}:notify:failed"

    def route_keys(self, route: str) -> list[str]:
        """KEYS[1..7] of the record, acquire and force scripts, in order."""
        return [
            self.state(route),
            self.window(route),
            self.lease(route),
            self.events,
            self.open_index,
            self.transition_counts(route),
            self.outages(route),
        ]
