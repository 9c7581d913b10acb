"""Tunable policies that can be overridden globally, per provider and per route.

Each model lists every field with its default; the catalog merges the three
levels (global defaults -> provider -> route) field by field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

PositiveSeconds = Annotated[float, Field(gt=0)]
Ratio = Annotated[float, Field(gt=0, le=1)]


class ProbeTier(StrEnum):
    """The three probe tiers (DESIGN §1)."""

    LIVENESS = "liveness"  # list models: no tokens, per provider
    COMPLETION = "completion"  # one tiny real completion, per route
    STREAM = "stream"  # streamed completion: TTFT, tokens/s, terminator


class Policy(BaseModel):
    """Base for override-able policies: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ProbeSettings(Policy):
    """How often and how each route is probed."""

    interval_s: PositiveSeconds = 30.0
    timeout_s: PositiveSeconds = 10.0
    tiers: tuple[ProbeTier, ...] = (ProbeTier.LIVENESS, ProbeTier.COMPLETION)
    suspect_interval_s: PositiveSeconds = 2.0


class BreakerSettings(Policy):
    """Circuit-breaker thresholds and timings (docs/breaker.md explains each)."""

    window_s: PositiveSeconds = 60.0
    min_calls: Annotated[int, Field(ge=1)] = 5
    failure_rate: Ratio = 0.5
    consecutive_failures: Annotated[int, Field(ge=1)] = 5
    slow_ttft_s: PositiveSeconds = 5.0
    slow_rate: Ratio = 0.8
    open_s: PositiveSeconds = 5.0
    open_max_s: PositiveSeconds = 600.0
    trip_decay_s: PositiveSeconds = 300.0
    half_open_successes: Annotated[int, Field(ge=1)] = 2
    half_open_trials: Annotated[int, Field(ge=1)] = 1
    trial_lease_s: PositiveSeconds = 30.0
    local_suspicion_s: PositiveSeconds = 2.0

    @model_validator(mode="after")
    def _open_max_covers_open(self) -> BreakerSettings:
        if self.open_max_s < self.open_s:
            raise ValueError(
                f"open_max_s ({self.open_max_s}) must be at least open_s ({self.open_s})"
            )
        return self


class SloSettings(Policy):
    """Service-level objectives for a route (and so for its provider)."""

    availability: Annotated[float, Field(gt=0, lt=1)] = 0.995
    ttft_p95_s: PositiveSeconds = 2.0
