"""PagerDuty Events API v2: `POST /v2/enqueue`, trigger and resolve paired by `dedup_key`.

Trigger, update and reminder are all `event_action: trigger` with the incident's
dedup key: PagerDuty folds them into the one open alert. The resolve carries
the same key. The routing key (the integration key) comes from the environment
variable named in `routing_key_env` and appears only in the request body.
`build_body()` is pure and golden-tested byte for byte.
"""

from __future__ import annotations

from typing import Any

from routeguard.config.notify import PagerDutyChannel
from routeguard.notify.base import (
    Action,
    ConfiguredChannel,
    Notification,
    OutgoingRequest,
    Scope,
    iso_ms,
    json_bytes,
    route_dicts,
    secret_from_env,
)

MAX_SUMMARY = 1024  # PagerDuty truncates past this; we cut it ourselves


def _payload(note: Notification) -> dict[str, Any]:
    summary = note.summary if len(note.summary) <= MAX_SUMMARY else note.summary[:1023] + "…"
    payload: dict[str, Any] = {
        "summary": summary,
        "source": note.subject,
        "severity": note.severity.value,
        "timestamp": iso_ms(note.at_ms),
    }
    if note.scope is Scope.ROUTE and note.routes:
        payload["component"] = note.routes[0].model
    payload["group"] = note.provider
    payload["class"] = note.kind.value
    payload["custom_details"] = {
        "action": note.action.value,
        "incident_id": note.incident_id,
        "started_at": iso_ms(note.started_ms),
        "provider_routes": note.provider_routes,
        "routes": route_dicts(note.routes),
    }
    return payload


def build_body(note: Notification, routing_key: str) -> bytes:
    """The Events API v2 body for `note` (pure)."""
    event: dict[str, Any] = {"routing_key": routing_key}
    if note.action is Action.RESOLVE:
        event |= {"event_action": "resolve", "dedup_key": note.dedup_key}
        return json_bytes(event)
    event |= {"event_action": "trigger", "dedup_key": note.dedup_key, "payload": _payload(note)}
    event["client"] = "routeguard"
    if note.status_url:
        event["client_url"] = note.status_url
        event["links"] = [{"href": note.status_url, "text": "routeguard status"}]
    return json_bytes(event)


class PagerDutyNotifier(ConfiguredChannel[PagerDutyChannel]):
    """A `pagerduty` channel; 202 is accepted, 429 and 5xx are retried, 400 is not."""

    type = "pagerduty"

    def __repr__(self) -> str:
        return f"PagerDutyNotifier({self.name!r}, routing key from {self._config.routing_key_env})"

    def request(self, note: Notification, now_s: float) -> OutgoingRequest:
        key = secret_from_env(
            self._config.routing_key_env, self._env, "the PagerDuty integration's routing key"
        )
        headers = {"content-type": "application/json"}
        return OutgoingRequest(self._config.url, build_body(note, key), headers)
