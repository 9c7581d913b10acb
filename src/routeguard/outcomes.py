"""Outcome classes: the closed, low-cardinality set every call is sorted into.

docs/providers.md (Outcome classes) is the contract. Each class says who is to blame and what the breaker
does with it::

    Outcome
    ├── OK                    success (may carry the `slow` flag)
    ├── provider failures     count against the breaker and the provider SLA
    │   ├── TIMEOUT
    │   ├── CONNECT_ERROR
    │   ├── SERVER_ERROR
    │   └── BAD_RESPONSE
    ├── RATE_LIMITED          opens until Retry-After; capacity, not downtime
    ├── route unusable        open at once; a configuration alert, not downtime
    │   ├── QUOTA_EXHAUSTED
    │   └── AUTH_ERROR
    └── CLIENT_ERROR          our request was wrong: ignored by the breaker

Every set of outcomes a decision reads is defined here, and so are the two
judgements made of a good answer (`is_slow`, `ttft_within_objective`), so a
probe, a worker and the breaker can never disagree on them.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """The class of one call to a provider."""

    OK = "ok"
    """A valid, complete response."""
    TIMEOUT = "timeout"
    """Connect or read timeout, or TTFT over the probe timeout."""
    CONNECT_ERROR = "connect_error"
    """DNS failure, connection refused, TLS failure, reset before any response."""
    SERVER_ERROR = "server_error"
    """Any 5xx, Anthropic's 529 overloaded, Groq's 498 capacity_exceeded."""
    BAD_RESPONSE = "bad_response"
    """2xx with a malformed or empty body, a stream that ends without its
    terminator, or an error event inside a 2xx stream."""
    RATE_LIMITED = "rate_limited"
    """429 with a rate hint, or a 503 "slow down" where the vendor means rate."""
    QUOTA_EXHAUSTED = "quota_exhausted"
    """402, OpenAI's 429 insufficient_quota, spend caps: the account cannot pay."""
    AUTH_ERROR = "auth_error"
    """401, 403, Gemini's 400 API_KEY_INVALID: the key is wrong or revoked."""
    CLIENT_ERROR = "client_error"
    """Any other 4xx: our request was wrong, not the provider."""

    @property
    def is_failure(self) -> bool:
        """True when the outcome counts as a provider failure in the breaker window."""
        return self in PROVIDER_FAILURES

    @property
    def counts_against_sla(self) -> bool:
        """True when the outcome is bad for the provider's availability SLI."""
        return self in PROVIDER_FAILURES

    @property
    def counts_for_sla(self) -> bool:
        """True when the outcome enters the availability SLI at all (good or bad)."""
        return self is Outcome.OK or self in PROVIDER_FAILURES


PROVIDER_FAILURES: frozenset[Outcome] = frozenset(
    {Outcome.TIMEOUT, Outcome.CONNECT_ERROR, Outcome.SERVER_ERROR, Outcome.BAD_RESPONSE}
)
"""Outcomes that are the provider's fault and count in the failure rate."""

ROUTE_UNUSABLE: frozenset[Outcome] = frozenset({Outcome.AUTH_ERROR, Outcome.QUOTA_EXHAUSTED})
"""Outcomes that mean the route cannot serve at all until fixed (configuration)."""

HARD_FAILURES: frozenset[Outcome] = frozenset(
    {Outcome.CONNECT_ERROR, Outcome.SERVER_ERROR, Outcome.TIMEOUT}
)
"""Failures that say the provider is down, not just answering badly: a worker flushes
them at once and suspects the route locally after `consecutive_failures` of them."""

PROVIDER_WIDE_DOWN: frozenset[Outcome] = HARD_FAILURES | {Outcome.AUTH_ERROR}
"""Liveness (list models) outcomes that say every route of the provider is down or
unusable, so they count against each of its routes."""

WORTH_ANOTHER_ROUTE: frozenset[Outcome] = frozenset(
    set(Outcome) - {Outcome.OK, Outcome.CLIENT_ERROR}
)
"""Failures another provider may well not share: failover tries the next candidate.
Never client_error: our request is what was wrong, and would be wrong anywhere."""


def is_slow(outcome: Outcome, ttft_s: float | None, latency_s: float | None, slow_s: float) -> bool:
    """A good answer that took longer than `slow_s` (breaker `slow_ttft_s`) to start.

    TTFT when the call streamed, else the whole latency; never a failure.
    """
    measured = ttft_s if ttft_s is not None else latency_s
    return outcome is Outcome.OK and measured is not None and measured > slow_s


def ttft_within_objective(ttft_s: float | None, objective_s: float) -> bool | None:
    """Was this TTFT within the route's `ttft_p95_s`? None when nothing streamed."""
    return None if ttft_s is None else ttft_s <= objective_s
