"""One-line summaries of incidents, for people: pure text built from a notification's fields."""

from __future__ import annotations

from collections.abc import Sequence

from routeguard.notify.base import Action, IncidentKind, RouteSnapshot, Scope

_CONFIG_NOTE = "a configuration problem, not an outage"


def duration(ms: int) -> str:
    """`ms` for a person: `45 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`."""
    seconds = max(0, ms) // 1000
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def summarize(
    *,
    action: Action,
    kind: IncidentKind,
    scope: Scope,
    subject: str,
    provider: str,
    routes: Sequence[RouteSnapshot],
    provider_routes: int,
    started_ms: int,
    at_ms: int,
) -> str:
    """The summary line of a notification (PagerDuty's summary, Slack's text, ...)."""
    lasted = duration(at_ms - started_ms)
    if action is Action.RESOLVE:
        return _resolved(kind, scope, subject, provider, len(routes), lasted)
    if len(routes) == 1 and scope is Scope.ROUTE:
        only = routes[0]
        why = f"{only.reason}: {only.detail}" if only.detail else only.reason
        if kind is IncidentKind.CONFIGURATION:
            return f"{only.route} cannot serve: {why}; {_CONFIG_NOTE}"
        return f"{only.route} is down: out of service for {lasted} ({why})"
    count = _count(len(routes), provider_routes)
    reasons = ", ".join(sorted({r.reason for r in routes}))
    if kind is IncidentKind.CONFIGURATION:
        return f"{provider}: {count} cannot serve ({reasons}); {_CONFIG_NOTE}"
    return f"{provider} is down: {count} out of service for {lasted} ({reasons})"


def _resolved(
    kind: IncidentKind, scope: Scope, subject: str, provider: str, routes: int, lasted: str
) -> str:
    fixed = " (configuration fixed)" if kind is IncidentKind.CONFIGURATION else ""
    if scope is Scope.ROUTE and routes <= 1:
        return f"{subject} recovered after {lasted}{fixed}"
    plural = "route serves" if routes == 1 else "routes serve"
    return f"{provider} recovered: {routes} {plural} again after {lasted}{fixed}"


def _count(down: int, total: int) -> str:
    noun = "route" if down == 1 else "routes"
    if total >= down > 0 and total > 1:
        return f"{down} of {total} {noun}"
    return f"{down} {noun}"
