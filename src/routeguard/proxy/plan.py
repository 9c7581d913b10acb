"""Which routes one request may try, in order, and why the others were left out.

Answered from the worker's in-memory view (`HealthClient.candidates()`), model
by model: the requested model first, then each `models` fallback. Healthy routes
of every model come before the routes of a model that is in panic (none of its
routes healthy), so a fallback model that works is tried before a dead one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from routeguard.client import HealthClient
from routeguard.proxy.request import ChatCall


@dataclass(frozen=True)
class Target:
    """One route to try, for one public model."""

    public_model: str
    route: str


@dataclass
class Plan:
    targets: list[Target] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    panic: bool = False
    """True when no requested model had a healthy route (all are tried, least bad first)."""


def plan_for(health: HealthClient, call: ChatCall) -> Plan:
    """The routes to try for `call`, from memory: microseconds, no network."""
    healthy: list[Target] = []
    desperate: list[Target] = []
    plan = Plan()
    for model in call.models:
        answer = health.candidates(model, **call.preferences.as_kwargs())
        (desperate if answer.panic else healthy).extend(Target(model, r) for r in answer)
        plan.skipped.update(answer.skipped)
    seen: set[str] = set()
    for target in healthy + desperate:
        if target.route not in seen:
            seen.add(target.route)
            plan.targets.append(target)
    plan.skipped = {r: why for r, why in plan.skipped.items() if r not in seen}
    plan.panic = not healthy
    return plan
