"""routeguard: provider health monitor and SLA-aware failover controller for LLM gateways."""

from routeguard.breaker import (
    BreakerState,
    BreakerStore,
    ForceTarget,
    Keys,
    OutcomeBatch,
    Reason,
    RouteStatus,
    Transition,
)
from routeguard.client import (
    AttemptFailed,
    Candidates,
    FailoverExhausted,
    FailoverResult,
    HealthClient,
)
from routeguard.config import Catalog, Settings, load_catalog, load_settings
from routeguard.errors import (
    ConfigError,
    RouteError,
    RouteguardError,
    StateError,
    StoreUnavailable,
)
from routeguard.outcomes import Outcome

__all__ = [
    "AttemptFailed",
    "BreakerState",
    "BreakerStore",
    "Candidates",
    "Catalog",
    "ConfigError",
    "FailoverExhausted",
    "FailoverResult",
    "ForceTarget",
    "HealthClient",
    "Keys",
    "Outcome",
    "OutcomeBatch",
    "Reason",
    "RouteError",
    "RouteStatus",
    "RouteguardError",
    "Settings",
    "StateError",
    "StoreUnavailable",
    "Transition",
    "load_catalog",
    "load_settings",
]
__version__ = "0.1.0"
