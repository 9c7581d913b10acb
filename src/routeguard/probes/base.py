"""Probe jobs, what a probe is pointed at, and what it reports."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from routeguard.outcomes import Outcome
from routeguard.providers import Classified, Endpoint, WireCodec
from routeguard.routes import provider_of
from routeguard.tiers import ProbeTier

# OTel GenAI `gen_ai.provider.name` well-known values; others pass through as is.
GENAI_PROVIDER_NAMES = {"gemini": "gcp.gemini", "mistral": "mistral_ai"}
MAX_BODY_BYTES = 16 * 1024 * 1024
"""Bodies past this are not read on: a 50 MB answer is a bad_response, not a stall."""


@dataclass(frozen=True)
class ProbeJob:
    """One scheduled probe: a tier against a provider (liveness) or a route (the others).

    Its `key` names it everywhere: the scheduler's job id, its probe lease
    (`{p}:probe:<key>`), its last-probe field (`{p}:lastprobe`) and its log lines.
    """

    subject: str
    """The provider's name for the liveness tier, else the route id."""
    tier: ProbeTier

    @classmethod
    def liveness(cls, provider: str) -> ProbeJob:
        return cls(provider, ProbeTier.LIVENESS)

    @classmethod
    def of_route(cls, route_id: str, tier: ProbeTier) -> ProbeJob:
        if not tier.per_route:
            raise ValueError(f"{tier} probes a provider, not route {route_id!r}")
        return cls(route_id, tier)

    @property
    def key(self) -> str:
        """`<route>|<tier>`, or `<provider>|liveness`."""
        return f"{self.subject}|{self.tier.value}"

    @property
    def provider(self) -> str:
        return provider_of(self.subject)

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class ProbeTarget:
    """One probe to run: a tier against a provider (liveness) or a route."""

    endpoint: Endpoint
    codec: WireCodec
    tier: ProbeTier
    model: str | None
    timeout_s: float

    @property
    def genai_provider(self) -> str:
        vendor = self.endpoint.vendor or self.endpoint.provider
        return GENAI_PROVIDER_NAMES.get(vendor, vendor)

    @property
    def server(self) -> tuple[str, int]:
        parts = urlsplit(self.endpoint.base_url)
        default = 443 if parts.scheme == "https" else 80
        return parts.hostname or "", parts.port or default


@dataclass(frozen=True)
class ProbeResult:
    """What one probe found. Never an exception: failures are classified."""

    target: ProbeTarget
    classified: Classified
    started_at: float
    """Wall-clock start (epoch seconds), for people and the last-probe record."""
    duration_s: float
    ttft_s: float | None = None
    tokens_out: int = 0
    generation_s: float | None = None

    @property
    def outcome(self) -> Outcome:
        return self.classified.outcome

    @property
    def tokens_per_s(self) -> float | None:
        if not self.generation_s or self.tokens_out < 2:
            return None
        return (self.tokens_out - 1) / self.generation_s
