"""Tunable policies that can be overridden globally, per provider and per route.

Each model lists every field with its default; the catalog merges the three
levels (global defaults -> provider -> route) field by field.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from routeguard.tiers import ProbeTier

MAX_SECONDS = 31_536_000
"""One year: any duration longer is a unit mistake, and 1e300 or inf is no timer."""
MAX_COUNT = 1_000_000
"""Any count or threshold above this is a typo."""

PositiveSeconds = Annotated[float, Field(gt=0, le=MAX_SECONDS)]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]
Ratio = Annotated[float, Field(gt=0, le=1)]


class Floor:
    """The least value a catalog may set for a duration, and why (shown in the error)."""

    def __init__(self, seconds: float, why: str) -> None:
        self.seconds = seconds
        self.why = why


class Policy(BaseModel):
    """Base for override-able policies: unknown keys are errors, values are frozen.

    `catalog_floors` are checked when a catalog file is read, not here: tests and
    benchmarks build policies in code with millisecond timings on purpose.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    catalog_floors: ClassVar[Mapping[str, Floor]] = MappingProxyType({})


class ProbeSettings(Policy):
    """How often and how each route is probed."""

    interval_s: PositiveSeconds = 30.0
    timeout_s: PositiveSeconds = 10.0
    tiers: tuple[ProbeTier, ...] = (ProbeTier.LIVENESS, ProbeTier.COMPLETION)
    suspect_interval_s: PositiveSeconds = 2.0

    catalog_floors = MappingProxyType(
        {
            "interval_s": Floor(0.1, "each completion or stream probe is a paid call"),
            "suspect_interval_s": Floor(0.1, "each completion or stream probe is a paid call"),
            "timeout_s": Floor(0.5, "no real provider answers a completion faster"),
        }
    )


class BreakerSettings(Policy):
    """Circuit-breaker thresholds and timings (docs/breaker.md explains each)."""

    window_s: PositiveSeconds = 60.0
    min_calls: Count = 5
    failure_rate: Ratio = 0.5
    consecutive_failures: Count = 5
    slow_ttft_s: PositiveSeconds = 5.0
    slow_rate: Ratio = 0.8
    open_s: PositiveSeconds = 5.0
    open_max_s: PositiveSeconds = 600.0
    trip_decay_s: PositiveSeconds = 300.0
    half_open_successes: Count = 2
    half_open_trials: Count = 1
    trial_lease_s: PositiveSeconds = 30.0
    local_suspicion_s: PositiveSeconds = 2.0
    rate_limit_open_min_s: PositiveSeconds = 1.0

    catalog_floors = MappingProxyType(
        {
            "window_s": Floor(1.0, "a shorter window counts too few calls to judge"),
            "open_s": Floor(1.0, "every open time ends in a trial probe"),
            "open_max_s": Floor(1.0, "every open time ends in a trial probe"),
            "rate_limit_open_min_s": Floor(1.0, "every open time ends in a trial probe"),
            "trip_decay_s": Floor(1.0, "shorter forgets a flapping route at once"),
            "trial_lease_s": Floor(1.0, "a lease shorter than a probe lets trials pile up"),
            "local_suspicion_s": Floor(0.1, "shorter than a round trip to Redis does nothing"),
        }
    )

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
