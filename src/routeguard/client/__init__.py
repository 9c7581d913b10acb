"""The routing workers' library: local view, candidates, passive outcomes, failover."""

from routeguard.client.candidates import Candidates, Sort
from routeguard.client.failover import Attempt, AttemptFailed, FailoverExhausted, FailoverResult
from routeguard.client.health import HealthClient

__all__ = [
    "Attempt",
    "AttemptFailed",
    "Candidates",
    "FailoverExhausted",
    "FailoverResult",
    "HealthClient",
    "Sort",
]
