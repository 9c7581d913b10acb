"""Incidents from breaker transitions: hysteresis, grouping, reminders. Pure: time is passed in.

A route is *down* while its breaker is `open` or `half_open` (trials failing
keep it cycling between the two). Its kind comes from the reason that opened
it: `auth_error` / `quota_exhausted` make a configuration incident (severity
warning), anything else an outage (critical). Rules (docs/notifications.md):

- A down route joins the active incident of its provider and kind, or starts
  one. The incident pages (trigger) once it has lasted `page_after_s`; a route
  that recovers before that is forgotten without a word.
- At the page the incident's dedup key is fixed for its whole life:
  `routeguard:{provider}` if two or more routes are down then (one incident
  naming them, not N pages), else `routeguard:{provider}/{model}`; with a
  `:config` suffix for configuration incidents.
- Routes that join after the page are told in one `update`, `group_window_s`
  after the first of them; while any route is down a `remind` follows
  `remind_every_s` after the last word; when every route serves again (for
  `resolve_after_s`) the incident resolves.
- `forced_open` is an operator's act, never a page: a forced route leaves a
  pending incident; in a paged incident it is *held* (no reminders for it, and
  no resolve until the operator hands it back and it serves again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pydantic import BaseModel, Field

from routeguard.breaker.types import BreakerState, Reason, Transition
from routeguard.config.notify import NotifyConfig, Severity
from routeguard.notify.base import Action, IncidentKind, Notification, RouteSnapshot, Scope
from routeguard.notify.summary import summarize
from routeguard.routes import model_of, provider_of

CONFIG_REASONS = frozenset({Reason.AUTH_ERROR.value, Reason.QUOTA_EXHAUSTED.value})
_CYCLE_REASONS = frozenset({Reason.OPEN_EXPIRED.value, Reason.TRIAL_FAILED.value})
MAX_DEDUP_KEY = 255  # PagerDuty's limit
SEVERITY = {IncidentKind.OUTAGE: Severity.CRITICAL, IncidentKind.CONFIGURATION: Severity.WARNING}


@dataclass(frozen=True)
class IncidentPolicy:
    """The timing rules in milliseconds, and how many routes each provider has."""

    page_after_ms: int = 60_000
    remind_every_ms: int = 3_600_000
    resolve_after_ms: int = 0
    group_window_ms: int = 10_000
    provider_routes: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    status_url: str | None = None

    @classmethod
    def from_config(cls, config: NotifyConfig, routes: Iterable[str] = ()) -> IncidentPolicy:
        counts: dict[str, int] = {}
        for route in routes:
            provider = provider_of(route)
            counts[provider] = counts.get(provider, 0) + 1
        return cls(
            page_after_ms=round(config.page_after_s * 1000),
            remind_every_ms=max(1, round(config.remind_every_s * 1000)),
            resolve_after_ms=round(config.resolve_after_s * 1000),
            group_window_ms=round(config.group_window_s * 1000),
            provider_routes=MappingProxyType(counts),
            status_url=config.status_url,
        )


class RouteCondition(BaseModel):
    """What the tracker knows of one route: its last transition and since when it is down."""

    route: str
    state: str
    reason: str
    detail: str
    since_ms: int  # when it went down (or stopped being down)
    at_ms: int  # time of the last transition applied
    version: int
    kind: IncidentKind | None = None  # None: not down (serving, or held by an operator)

    def snapshot(self) -> RouteSnapshot:
        model = model_of(self.route)
        return RouteSnapshot(
            route=self.route,
            model=model,
            state=self.state,
            reason=self.reason,
            detail=self.detail,
            since_ms=self.since_ms,
        )


class Incident(BaseModel):
    """One incident of one provider and kind, pending (not paged yet) or active."""

    provider: str
    kind: IncidentKind
    started_ms: int
    down: list[str] = Field(default_factory=list)
    held: list[str] = Field(default_factory=list)
    members: dict[str, RouteSnapshot] = Field(default_factory=dict)  # every route it involved
    paged_ms: int | None = None
    id: str = ""
    dedup_key: str = ""
    scope: Scope = Scope.ROUTE
    subject: str = ""
    seq: int = 0
    last_sent_ms: int = 0
    update_due_ms: int | None = None
    clear_since_ms: int | None = None


class TrackerState(BaseModel):
    """Everything the tracker keeps, stored as JSON between calls."""

    routes: dict[str, RouteCondition] = Field(default_factory=dict)
    incidents: dict[str, Incident] = Field(default_factory=dict)  # "{kind}:{provider}"


def observe(
    state: TrackerState, transition: Transition, policy: IncidentPolicy
) -> tuple[TrackerState, list[Notification]]:
    """Apply one transition, then anything due at its time. A replayed one changes nothing.

    What time made due *before* the transition is decided first, so a backlog
    replayed after a restart still pages an outage that lasted `page_after_s`
    even if its recovery is in the same backlog (then resolves it).
    """
    state = state.model_copy(deep=True)
    prev = state.routes.get(transition.route)
    if prev is not None and transition.version <= prev.version and transition.at_ms <= prev.at_ms:
        return state, []
    notes = _due(state, transition.at_ms - 1, policy)
    condition = _condition_after(prev, transition)
    state.routes[transition.route] = condition
    _place(state, condition, transition.at_ms)
    return state, notes + _due(state, transition.at_ms, policy)


def advance(
    state: TrackerState, now_ms: int, policy: IncidentPolicy
) -> tuple[TrackerState, list[Notification]]:
    """What the passing of time makes due at `now_ms`: pages, updates, reminders, resolves."""
    state = state.model_copy(deep=True)
    return state, _due(state, now_ms, policy)


def _condition_after(prev: RouteCondition | None, t: Transition) -> RouteCondition:
    to = t.to_state.value
    kind: IncidentKind | None = None
    if to == BreakerState.OPEN.value:
        config = t.reason.value in CONFIG_REASONS
        kind = IncidentKind.CONFIGURATION if config else IncidentKind.OUTAGE
    elif to == BreakerState.HALF_OPEN.value:
        kind = prev.kind if prev is not None and prev.kind else IncidentKind.OUTAGE
    still = prev is not None and kind is not None and prev.kind == kind
    # Cycling open <-> half_open is the breaker retrying: the cause stays the first one.
    keep_reason = still and t.reason.value in _CYCLE_REASONS
    return RouteCondition(
        route=t.route,
        state=to,
        reason=prev.reason if keep_reason and prev else t.reason.value,
        detail=prev.detail if keep_reason and prev else t.detail,
        since_ms=prev.since_ms if still and prev else t.at_ms,
        at_ms=t.at_ms,
        version=t.version,
        kind=kind,
    )


def _place(state: TrackerState, condition: RouteCondition, at_ms: int) -> None:
    route, provider = condition.route, provider_of(condition.route)
    target = f"{condition.kind.value}:{provider}" if condition.kind else None
    forced = condition.state == BreakerState.FORCED_OPEN.value
    for key, incident in list(state.incidents.items()):
        if key == target:
            continue
        if route in incident.down:
            incident.down.remove(route)
            if forced and incident.paged_ms is not None:
                incident.held.append(route)
        elif route in incident.held and not forced:
            incident.held.remove(route)
        if route in incident.members:
            incident.members[route] = condition.snapshot()
        _settle(state, key, incident, at_ms)
    if condition.kind is not None and target is not None:
        incident = state.incidents.setdefault(
            target, Incident(provider=provider, kind=condition.kind, started_ms=condition.since_ms)
        )
        if route not in incident.down:
            incident.down = sorted([*incident.down, route])
            if incident.paged_ms is not None and incident.update_due_ms is None:
                incident.update_due_ms = at_ms
        incident.members[route] = condition.snapshot()
        _settle(state, target, incident, at_ms)


def _settle(state: TrackerState, key: str, incident: Incident, at_ms: int) -> None:
    """Keep an incident's timers true to its routes after a route moved."""
    if not incident.down:
        incident.update_due_ms = None
    if incident.down or incident.held:
        incident.clear_since_ms = None
    if incident.paged_ms is None:
        if not incident.down:
            del state.incidents[key]  # recovered (or forced) before paging: never told
        else:
            incident.started_ms = min(incident.members[r].since_ms for r in incident.down)
    elif not incident.down and not incident.held and incident.clear_since_ms is None:
        incident.clear_since_ms = at_ms


def _due(state: TrackerState, now_ms: int, policy: IncidentPolicy) -> list[Notification]:
    notes: list[Notification] = []
    for key in sorted(state.incidents):
        incident = state.incidents[key]
        if incident.paged_ms is None:
            if now_ms >= incident.started_ms + policy.page_after_ms:
                notes.append(_page(incident, now_ms, policy))
        elif not incident.down and not incident.held:
            clear = incident.clear_since_ms if incident.clear_since_ms is not None else now_ms
            if now_ms >= clear + policy.resolve_after_ms:
                notes.append(_emit(incident, Action.RESOLVE, now_ms, policy))
                del state.incidents[key]
        elif incident.down and incident.update_due_ms is not None:
            if now_ms >= incident.update_due_ms + policy.group_window_ms:
                incident.update_due_ms = None
                notes.append(_emit(incident, Action.UPDATE, now_ms, policy))
        elif incident.down and now_ms >= incident.last_sent_ms + policy.remind_every_ms:
            notes.append(_emit(incident, Action.REMIND, now_ms, policy))
    return notes


def _page(incident: Incident, now_ms: int, policy: IncidentPolicy) -> Notification:
    incident.paged_ms = now_ms
    if len(incident.down) >= 2:
        incident.scope, incident.subject = Scope.PROVIDER, incident.provider
    else:
        incident.scope, incident.subject = Scope.ROUTE, incident.down[0]
    suffix = ":config" if incident.kind is IncidentKind.CONFIGURATION else ""
    incident.dedup_key = dedup_key(f"routeguard:{incident.subject}{suffix}")
    incident.id = f"{incident.dedup_key}@{incident.started_ms}"
    return _emit(incident, Action.TRIGGER, now_ms, policy)


def dedup_key(key: str) -> str:
    """`key`, or a stable shortened form of it if it is over PagerDuty's 255 characters."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return f"{key[: MAX_DEDUP_KEY - 17]}~{digest}"


def _emit(incident: Incident, action: Action, now_ms: int, policy: IncidentPolicy) -> Notification:
    seq = incident.seq
    if action is Action.RESOLVE:
        routes = tuple(incident.members[r] for r in sorted(incident.members))
    else:
        routes = tuple(incident.members[r] for r in incident.down)
    total = policy.provider_routes.get(incident.provider, 0)
    text = summarize(
        action=action,
        kind=incident.kind,
        scope=incident.scope,
        subject=incident.subject,
        provider=incident.provider,
        routes=routes,
        provider_routes=total,
        started_ms=incident.started_ms,
        at_ms=now_ms,
    )
    incident.seq, incident.last_sent_ms = seq + 1, now_ms
    return Notification(
        id=f"{incident.id}#resolve" if action is Action.RESOLVE else f"{incident.id}#{seq}",
        prev_id=f"{incident.id}#{seq - 1}" if seq else "",
        incident_id=incident.id,
        dedup_key=incident.dedup_key,
        action=action,
        seq=seq,
        kind=incident.kind,
        severity=SEVERITY[incident.kind],
        scope=incident.scope,
        subject=incident.subject,
        provider=incident.provider,
        routes=routes,
        provider_routes=total,
        started_ms=incident.started_ms,
        at_ms=now_ms,
        summary=text,
        status_url=policy.status_url,
    )
