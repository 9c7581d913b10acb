"""The circuit breaker: Lua scripts in Redis, their async store, and a pure model."""

from routeguard.breaker.keys import Keys
from routeguard.breaker.model import RouteBreaker
from routeguard.breaker.store import BreakerStore
from routeguard.breaker.types import (
    BreakerParams,
    BreakerState,
    ForceTarget,
    OutcomeBatch,
    Reason,
    RouteStatus,
    Transition,
    WindowFigures,
)

__all__ = [
    "BreakerParams",
    "BreakerState",
    "BreakerStore",
    "ForceTarget",
    "Keys",
    "OutcomeBatch",
    "Reason",
    "RouteBreaker",
    "RouteStatus",
    "Transition",
    "WindowFigures",
]
