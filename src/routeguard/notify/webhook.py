"""Generic JSON webhook, signed with the Standard Webhooks scheme (`signing.py`).

The body is `{"type": "incident.<action>", "timestamp": ..., "data": {...}}`,
the envelope the Standard Webhooks spec recommends; `data` carries every field
of the notification. `build_body()` is pure and golden-tested byte for byte.
"""

from __future__ import annotations

from typing import Any

from routeguard.config.notify import WebhookChannel
from routeguard.notify.base import (
    Action,
    ConfiguredChannel,
    Notification,
    OutgoingRequest,
    iso_ms,
    json_bytes,
    route_dicts,
    secret_from_env,
)
from routeguard.notify.signing import message_id, secret_key, sign

EVENT_TYPES = {
    Action.TRIGGER: "incident.triggered",
    Action.UPDATE: "incident.updated",
    Action.REMIND: "incident.reminder",
    Action.RESOLVE: "incident.resolved",
}
USER_AGENT = "routeguard-notify/1"


def notification_data(note: Notification) -> dict[str, Any]:
    """Every field of `note` as JSON, times in RFC 3339."""
    return {
        "id": note.id,
        "incident_id": note.incident_id,
        "dedup_key": note.dedup_key,
        "action": note.action.value,
        "seq": note.seq,
        "kind": note.kind.value,
        "severity": note.severity.value,
        "scope": note.scope.value,
        "subject": note.subject,
        "provider": note.provider,
        "summary": note.summary,
        "started_at": iso_ms(note.started_ms),
        "at": iso_ms(note.at_ms),
        "provider_routes": note.provider_routes,
        "routes": route_dicts(note.routes),
        "status_url": note.status_url,
    }


def build_body(note: Notification) -> bytes:
    """The webhook body for `note` (pure)."""
    envelope = {
        "type": EVENT_TYPES[note.action],
        "timestamp": iso_ms(note.at_ms),
        "data": notification_data(note),
    }
    return json_bytes(envelope)


def build_headers(
    note: Notification, channel: str, key: bytes, now_s: float, body: bytes
) -> dict[str, str]:
    """Content type and the three Standard Webhooks headers, signed at `now_s`."""
    msg_id = message_id(note.id, channel)
    timestamp = int(now_s)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, msg_id, timestamp, body),
    }


class WebhookNotifier(ConfiguredChannel[WebhookChannel]):
    """A `webhook` channel: POST the body, signed, to `url`; any 2xx is delivered."""

    type = "webhook"

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.name!r}, secret from {self._config.secret_env})"

    def request(self, note: Notification, now_s: float) -> OutgoingRequest:
        variable = self._config.secret_env
        secret = secret_from_env(variable, self._env, "the channel's whsec_ signing secret")
        key = secret_key(secret, variable)
        body = build_body(note)
        return OutgoingRequest(
            self._config.url, body, build_headers(note, self.name, key, now_s, body)
        )
