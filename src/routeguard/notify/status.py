"""What the notifier shows operators: open incidents and delivery records, JSON-ready.

`GET /v1/notifications` is built from these; nothing here holds a URL, a header
or a secret, only names, ids, outcomes and the summary line.
"""

from __future__ import annotations

from typing import Any

from routeguard.notify.base import Notification, iso_ms
from routeguard.notify.delivery import FAILED, DeliveryRecord
from routeguard.notify.incidents import TrackerState


def failure_record(
    delivery_id: str,
    channel: str,
    error: str,
    now_s: float,
    replica: str,
    note: Notification | None = None,
) -> DeliveryRecord:
    """The record of a delivery that could not even be attempted."""
    return {
        "delivery_id": delivery_id,
        "notification_id": note.id if note else "",
        "incident_id": note.incident_id if note else "",
        "dedup_key": note.dedup_key if note else "",
        "action": note.action.value if note else "",
        "channel": channel,
        "channel_type": "",
        "outcome": FAILED,
        "attempts": 0,
        "status": None,
        "error": error,
        "summary": note.summary if note else "",
        "at": iso_ms(round(now_s * 1000)),
        "replica": replica,
    }


def incident_view(state: TrackerState) -> list[dict[str, Any]]:
    """The open incidents of `state` as JSON-ready records, oldest first."""
    view = []
    for incident in sorted(state.incidents.values(), key=lambda i: (i.started_ms, i.provider)):
        paged = incident.paged_ms is not None
        status = "active" if paged else "pending"
        if paged and not incident.down:
            status = "held" if incident.held else "recovering"
        view.append(
            {
                "id": incident.id or None,
                "dedup_key": incident.dedup_key or None,
                "status": status,
                "provider": incident.provider,
                "kind": incident.kind.value,
                "scope": incident.scope.value if paged else None,
                "started_at": iso_ms(incident.started_ms),
                "paged_at": iso_ms(incident.paged_ms) if incident.paged_ms is not None else None,
                "down": list(incident.down),
                "held": list(incident.held),
            }
        )
    return view


def failed_counts(records: list[DeliveryRecord]) -> dict[str, int]:
    """How many kept failures each channel has."""
    counts: dict[str, int] = {}
    for record in records:
        counts[record["channel"]] = counts.get(record["channel"], 0) + 1
    return counts
