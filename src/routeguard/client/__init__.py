"""The routing workers' library: local view, candidates, passive outcomes, failover,
and calling a route in its own wire format (`ChatRoute`, `send_chat`)."""

from routeguard.client.candidates import Candidates, Sort
from routeguard.client.chat import ChatAnswer, ChatRoute, classify_failure, send_chat
from routeguard.client.failover import Attempt, AttemptFailed, FailoverExhausted, FailoverResult
from routeguard.client.health import HealthClient

__all__ = [
    "Attempt",
    "AttemptFailed",
    "Candidates",
    "ChatAnswer",
    "ChatRoute",
    "FailoverExhausted",
    "FailoverResult",
    "HealthClient",
    "Sort",
    "classify_failure",
    "send_chat",
]
