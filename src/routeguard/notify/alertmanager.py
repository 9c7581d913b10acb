"""Alertmanager API v2: `POST {url}/api/v2/alerts` with a list of one alert.

Alertmanager names an alert by its labels, so every notification of one
incident carries the same labels (`alertname`, `provider`, `model` — `*` for a
provider-wide incident — and `severity`, in the words of `alerts/`: `page` for
an outage, `ticket` for a configuration problem). An alert that is not re-sent
is resolved by Alertmanager at its `endsAt`: while the incident lasts, `endsAt`
is two reminder intervals ahead, and each reminder pushes it on; the resolve
sets it to the resolve time. `build_body()` is pure and golden-tested.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routeguard.config.notify import AlertmanagerChannel, NotifyConfig, Severity
from routeguard.notify.base import (
    Action,
    ConfiguredChannel,
    IncidentKind,
    Notification,
    OutgoingRequest,
    Scope,
    iso_ms,
    json_bytes,
    secret_from_env,
)
from routeguard.routes import model_of

SEVERITY_LABELS = {Severity.CRITICAL: "page", Severity.WARNING: "ticket"}
ALERT_NAMES = {
    (IncidentKind.OUTAGE, Scope.ROUTE): "RouteguardRouteDown",
    (IncidentKind.OUTAGE, Scope.PROVIDER): "RouteguardProviderDown",
    (IncidentKind.CONFIGURATION, Scope.ROUTE): "RouteguardRouteMisconfigured",
    (IncidentKind.CONFIGURATION, Scope.PROVIDER): "RouteguardProviderMisconfigured",
}


def _model_label(note: Notification) -> str:
    if note.scope is Scope.ROUTE:
        return model_of(note.subject)
    return "*"


def _description(note: Notification) -> str:
    lines = []
    for r in note.routes:
        why = f": {r.reason} ({r.detail})" if r.detail else f": {r.reason}"
        lines.append(f"{r.route} {r.state} since {iso_ms(r.since_ms)}{why}")
    return "\n".join(lines)


def build_body(note: Notification, *, ends_after_ms: int) -> bytes:
    """The alert list for `note` (pure); a firing alert ends `ends_after_ms` after it."""
    resolved = note.action is Action.RESOLVE
    alert: dict[str, Any] = {
        "labels": {
            "alertname": ALERT_NAMES[(note.kind, note.scope)],
            "provider": note.provider,
            "model": _model_label(note),
            "severity": SEVERITY_LABELS[note.severity],
        },
        "annotations": {
            "summary": note.summary,
            "description": _description(note),
            "routes": ", ".join(r.route for r in note.routes),
            "dedup_key": note.dedup_key,
            "kind": note.kind.value,
        },
        "startsAt": iso_ms(note.started_ms),
        "endsAt": iso_ms(note.at_ms if resolved else note.at_ms + ends_after_ms),
    }
    if note.status_url:
        alert["generatorURL"] = note.status_url
    return json_bytes([alert])


class AlertmanagerNotifier(ConfiguredChannel[AlertmanagerChannel]):
    """An `alertmanager` channel; Alertmanager answers 200 when it took the alerts."""

    type = "alertmanager"

    def __init__(
        self,
        name: str,
        config: AlertmanagerChannel,
        notify: NotifyConfig,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name, config, notify, env)
        self._ends_after_ms = round(2 * notify.remind_every_s * 1000)

    def __repr__(self) -> str:
        return f"AlertmanagerNotifier({self.name!r})"

    def request(self, note: Notification, now_s: float) -> OutgoingRequest:
        headers = {"content-type": "application/json"}
        variable = self._config.bearer_token_env
        if variable is not None:
            token = secret_from_env(variable, self._env, "Alertmanager's bearer token")
            headers["authorization"] = f"Bearer {token}"
        url = self._config.url.rstrip("/") + "/api/v2/alerts"
        return OutgoingRequest(url, build_body(note, ends_after_ms=self._ends_after_ms), headers)
