"""The vocabulary every notifier shares: incidents' notifications and the Channel protocol.

A `Notification` is one thing to tell on-call about one incident (trigger,
update, reminder or resolve), decided by the pure logic in `incidents.py`. A
`Channel` turns it into one HTTP request with a pure builder (`build_body`,
golden-tested byte for byte in each channel's module) and judges the answer.

Errors::

    NotifyError            a delivery problem, worded for an operator (never a secret)
    └── ChannelSetupError  the channel cannot be used as configured: not retried
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from routeguard.config.notify import NotifyConfig, Severity


class Action(StrEnum):
    """What a notification does to its incident on the receiving side."""

    TRIGGER = "trigger"  # the incident starts: page
    UPDATE = "update"  # more routes joined the incident after it paged
    REMIND = "remind"  # still going, remind_every_s after the last word
    RESOLVE = "resolve"  # every route of the incident serves again


class IncidentKind(StrEnum):
    """Why routes cannot serve: a provider outage or our own configuration."""

    OUTAGE = "outage"  # the provider fails, is slow or limits us: critical
    CONFIGURATION = "configuration"  # auth_error / quota_exhausted: a ticket, not an outage


class Scope(StrEnum):
    """What the incident is about, fixed when it pages (it names the dedup key)."""

    ROUTE = "route"  # one route: dedup key routeguard:{provider}/{model}
    PROVIDER = "provider"  # several routes of one provider: routeguard:{provider}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RouteSnapshot(_Record):
    """One route of an incident, as it stood when the notification was decided."""

    route: str
    model: str
    state: str  # breaker state: open, half_open, forced_open, closed, forced_closed
    reason: str  # reason code of the transition that made it down (docs/breaker.md)
    detail: str
    since_ms: int  # when it went down (Redis time, ms)


class Notification(_Record):
    """One message about one incident, identical for every channel."""

    id: str  # unique: "{incident_id}#{seq}", or "{incident_id}#resolve"
    prev_id: str  # the notification of the same incident before it ("" for the trigger)
    incident_id: str  # "{dedup_key}@{started_ms}": unique per incident
    dedup_key: str  # stable for the incident's life: pairs trigger and resolve
    action: Action
    seq: int  # 0 for the trigger, then 1, 2, ... in order
    kind: IncidentKind
    severity: Severity
    scope: Scope
    subject: str  # the route id (route scope) or the provider name (provider scope)
    provider: str
    routes: tuple[RouteSnapshot, ...]  # down now; for a resolve, every route it involved
    provider_routes: int  # routes the provider has in the catalog (0: unknown)
    started_ms: int
    at_ms: int  # when this was decided (Redis time, ms)
    summary: str  # one line for a human
    status_url: str | None = None  # where on-call can look (notify.status_url)


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as RFC 3339 UTC with milliseconds: 2026-11-24T10:00:03.120Z."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def json_bytes(value: Any) -> bytes:
    """The one JSON encoding every payload uses: compact, key order as built, UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class NotifyError(Exception):
    """A delivery problem, worded for an operator; it never holds a secret."""


class ChannelSetupError(NotifyError):
    """The channel cannot send as configured (a secret unset or malformed): not retried."""


@dataclass(frozen=True, repr=False)
class OutgoingRequest:
    """One HTTP POST to make. `repr` shows neither the URL's path nor any header value."""

    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = urlsplit(self.url)
        names = ", ".join(sorted(self.headers))
        return (
            f"OutgoingRequest(POST {parts.scheme}://{parts.hostname}/***, "
            f"{len(self.body)} bytes, headers: {names})"
        )


class Channel(Protocol):
    """One configured destination: builds a request and says if the answer means delivered."""

    @property
    def name(self) -> str:
        """The channel's name under notify.channels (a metrics label)."""

    @property
    def type(self) -> str:
        """webhook, slack, pagerduty or alertmanager."""

    def request(self, note: Notification, now_s: float) -> OutgoingRequest:
        """The request for `note` at wall time `now_s`; ChannelSetupError if it cannot be made."""

    def accepted(self, status: int) -> bool:
        """True if this HTTP status means the receiver took the notification."""


ConfigT = TypeVar("ConfigT")


class ConfiguredChannel(Generic[ConfigT]):
    """What every channel keeps: its name, its `notify.channels` entry, where secrets are read.

    Subclasses add `type`, `request()` and, where the receiver is stricter than
    "any 2xx", `accepted()`.
    """

    def __init__(
        self,
        name: str,
        config: ConfigT,
        notify: NotifyConfig,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._config = config
        self._env = env  # None: the process environment, read at each send

    def accepted(self, status: int) -> bool:
        return 200 <= status < 300


def secret_from_env(variable: str, env: Mapping[str, str] | None, what: str) -> str:
    """The secret in environment variable `variable` (read now), or ChannelSetupError."""
    source = os.environ if env is None else env
    value = source.get(variable, "")
    if not value.strip():
        raise ChannelSetupError(f"{variable} is not set in the environment; set it to {what}")
    return value.strip()


def route_dicts(routes: tuple[RouteSnapshot, ...]) -> list[dict[str, str]]:
    """The routes of a notification as JSON objects (times in RFC 3339)."""
    return [
        {
            "route": r.route,
            "model": r.model,
            "state": r.state,
            "reason": r.reason,
            "detail": r.detail,
            "since": iso_ms(r.since_ms),
        }
        for r in routes
    ]
