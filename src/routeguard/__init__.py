"""routeguard: provider health monitor and SLA-aware failover controller for LLM gateways."""

from routeguard.outcomes import Outcome

__all__ = ["Outcome"]
__version__ = "0.1.0"
