"""Probe tiers: the three ways a probe measures a provider or a route.

One enum, used from the catalog (`probes.tiers`) through the scheduler, the wire
flavours and the runner to the metrics' `tier` label (docs/daemon.md)::

    ProbeTier
    ├── LIVENESS     per provider: list models, no tokens spent
    └── per route
        ├── COMPLETION   one tiny real completion
        └── STREAM       a streamed completion: TTFT, tokens/s, the terminator
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class ProbeTier(StrEnum):
    """How a probe measures: which request it sends and what it checks."""

    LIVENESS = "liveness"  # list models: no tokens, per provider
    COMPLETION = "completion"  # one tiny real completion, per route
    STREAM = "stream"  # streamed completion: TTFT, tokens/s, terminator

    @property
    def per_route(self) -> bool:
        """True for the tiers that probe one route (a model); liveness probes a provider."""
        return self is not ProbeTier.LIVENESS


def trial_tier(tiers: Iterable[ProbeTier]) -> ProbeTier:
    """The tier that tests a half-open route: its first per-route tier, else liveness."""
    return next((tier for tier in tiers if tier.per_route), ProbeTier.LIVENESS)
