"""Every metric and label routeguard exports, named once (Sloth's conventions module).

The metric modules (`probes/metrics.py`, `daemon/metrics.py`, `client/metrics.py`,
`notify/delivery.py`) build their series from these definitions, and the tests of
`alerts/` and `dashboards/` check every name those files read against them, so a
rename is one edit here and a failing test there. The docs list every one (docs/daemon.md, docs/client.md, docs/notifications.md; tests/unit/test_metric_names.py checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

PROVIDER = "provider"
MODEL = "model"
TIER = "tier"
OUTCOME = "outcome"
STATE = "state"
FROM_STATE = "from"
TO_STATE = "to"
SLO = "slo"
DIRECTION = "direction"
PUBLIC_MODEL = "public_model"
KIND = "kind"
CHANNEL = "channel"
MODEL_GROUP = "model_group"
REASON = "reason"
ROUTE_LABELS = (PROVIDER, MODEL)
"""The labels that name a route: no per-route series is ever exported without both."""
PROVIDER_LEVEL = "*"
"""The `model` label of provider-level probes (the liveness tier lists models)."""

Kind = Literal["counter", "gauge", "histogram"]
_SUFFIXES: dict[Kind, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


@dataclass(frozen=True)
class Metric:
    """One exported metric family."""

    name: str
    """As prometheus_client takes it: a counter without its `_total`."""
    kind: Kind
    labels: tuple[str, ...]
    help: str

    @property
    def samples(self) -> frozenset[str]:
        """The sample names a scrape shows (`routeguard_probes_total`, `…_bucket`)."""
        return frozenset(self.name + suffix for suffix in _SUFFIXES[self.kind])

    @property
    def per_route(self) -> bool:
        return set(ROUTE_LABELS) <= set(self.labels)


# -- probes (the daemon) --------------------------------------------------------
PROBE_DURATION = Metric(
    "routeguard_probe_duration_seconds",
    "histogram",
    (PROVIDER, MODEL, TIER),
    "Probe duration from request start to the last byte, by tier.",
)
PROBE_TTFT = Metric(
    "routeguard_probe_ttft_seconds",
    "histogram",
    ROUTE_LABELS,
    "Time to first token of streamed probes.",
)
PROBES = Metric(
    "routeguard_probes",
    "counter",
    (PROVIDER, MODEL, TIER, OUTCOME),
    "Probes run, by tier and outcome class.",
)
PROBE_TTFT_WITHIN_OBJECTIVE = Metric(
    "routeguard_probe_ttft_within_objective",
    "counter",
    ROUTE_LABELS,
    "Streamed probes whose TTFT was within the route's ttft_p95_s objective "
    "(the TTFT SLI numerator; routeguard_probe_ttft_seconds_count is the denominator).",
)
PROBE_TOKENS = Metric(
    "routeguard_probe_tokens",
    "counter",
    (PROVIDER, MODEL, DIRECTION),
    "Tokens spent by probes (direction: input or output).",
)

# -- the daemon itself ----------------------------------------------------------
STORE_UP = Metric(
    "routeguard_store_up",
    "gauge",
    (),
    "1 when this scrape read the breaker states from Redis; 0 when Redis failed or "
    "did not answer within 1 s (the route gauges are then absent, not stale).",
)
SCHEDULE_LAG = Metric(
    "routeguard_probe_schedule_lag_seconds",
    "histogram",
    (KIND,),
    "How late probe jobs start against their planned (jittered) time.",
)
JOBS_SKIPPED = Metric(
    "routeguard_probe_jobs_skipped",
    "counter",
    (KIND,),
    "Probe runs skipped because the previous run of the job was still going.",
)
WATCHERS = Metric(
    "routeguard_watchers",
    "gauge",
    (),
    "Clients connected to GET /v1/routes/watch on this replica and being fed transitions.",
)
WATCHERS_DROPPED = Metric(
    "routeguard_watchers_dropped",
    "counter",
    (),
    "Watch clients this replica dropped because they read too slowly (their queue was full).",
)

# -- breaker state, read from Redis at scrape time --------------------------------
MODEL_ROUTE_INFO = Metric(
    "routeguard_model_route_info",
    "gauge",
    (PUBLIC_MODEL, PROVIDER, MODEL),
    "1 for each route that can serve a public model (the catalog's failover lists).",
)
ROUTE_STATE = Metric(
    "routeguard_route_state",
    "gauge",
    (PROVIDER, MODEL, STATE),
    "1 for the route's current breaker state, 0 for the others.",
)
ROUTE_UP = Metric(
    "routeguard_route_up",
    "gauge",
    ROUTE_LABELS,
    "1 when the route takes ordinary traffic (closed or forced_closed).",
)
BREAKER_TRANSITIONS = Metric(
    "routeguard_breaker_transitions",
    "counter",
    (PROVIDER, MODEL, FROM_STATE, TO_STATE),
    "Breaker transitions of the route, fleet-wide (read from Redis).",
)
SLO_OBJECTIVE = Metric(
    "routeguard_slo_objective_ratio",
    "gauge",
    (PROVIDER, MODEL, SLO),
    "SLO objectives per route: availability, and the share of streamed "
    "probes whose TTFT must stay within ttft_p95_s (0.95).",
)
SLO_TTFT_THRESHOLD = Metric(
    "routeguard_slo_ttft_threshold_seconds",
    "gauge",
    ROUTE_LABELS,
    "The TTFT objective's threshold (ttft_p95_s) per route.",
)

# -- notifications --------------------------------------------------------------
NOTIFICATIONS = Metric(
    "routeguard_notifications",
    "counter",
    (CHANNEL, OUTCOME),
    "Notification deliveries by channel and outcome "
    "(delivered, failed, retried, duplicate, superseded)",
)
NOTIFICATIONS_FAILED = Metric(
    "routeguard_notifications_failed",
    "gauge",
    (CHANNEL,),
    "Deliveries that failed for good and are kept until dismissed, by channel",
)

# -- routing workers (the client library) -------------------------------------------
REQUESTS = Metric(
    "routeguard_requests",
    "counter",
    (PROVIDER, MODEL, OUTCOME),
    "Calls this worker made to a route, by outcome class.",
)
FAILOVERS = Metric(
    "routeguard_failovers",
    "counter",
    (PROVIDER, MODEL, PUBLIC_MODEL),
    "Requests that moved on from a route to the next candidate.",
)
PANICS = Metric(
    "routeguard_panic",
    "counter",
    (PUBLIC_MODEL,),
    "candidates() answers in which no route was healthy (all listed, least bad first).",
)
VIEW_STALENESS = Metric(
    "routeguard_view_staleness_seconds",
    "gauge",
    (),
    "Seconds since this worker's view of breaker states was last confirmed current.",
)
CLIENT_DEGRADED = Metric(
    "routeguard_client_degraded",
    "gauge",
    (),
    "1 while Redis fails this worker's commands and local breakers decide (fail static).",
)
CLIENT_DEGRADED_EPISODES = Metric(
    "routeguard_client_degraded_episodes",
    "counter",
    (),
    "Times this worker lost Redis and went fail static.",
)

# -- the LiteLLM plug-in (routeguard.integrations.litellm) -----------------------------
LITELLM_SKIPPED = Metric(
    "routeguard_litellm_deployments_skipped",
    "counter",
    (PROVIDER, MODEL, MODEL_GROUP),
    "Deployments the plug-in took out of LiteLLM's list because their route is unusable.",
)
LITELLM_PANICS = Metric(
    "routeguard_litellm_panic",
    "counter",
    (MODEL_GROUP,),
    "Requests for which every deployment of a model group without fallbacks was unusable "
    "(LiteLLM's list kept whole).",
)
LITELLM_FAIL_OPEN = Metric(
    "routeguard_litellm_fail_open",
    "counter",
    (REASON,),
    "Requests for which the plug-in returned LiteLLM's list unchanged because it could not "
    "judge it (view_unavailable, unmapped_deployment, error).",
)

DAEMON_METRICS = (
    PROBE_DURATION,
    PROBE_TTFT,
    PROBES,
    PROBE_TTFT_WITHIN_OBJECTIVE,
    PROBE_TOKENS,
    STORE_UP,
    SCHEDULE_LAG,
    JOBS_SKIPPED,
    WATCHERS,
    WATCHERS_DROPPED,
    MODEL_ROUTE_INFO,
    ROUTE_STATE,
    ROUTE_UP,
    BREAKER_TRANSITIONS,
    SLO_OBJECTIVE,
    SLO_TTFT_THRESHOLD,
    NOTIFICATIONS,
    NOTIFICATIONS_FAILED,
)
"""What a daemon replica exports on `/metrics`."""
WORKER_METRICS = (
    REQUESTS,
    FAILOVERS,
    PANICS,
    VIEW_STALENESS,
    CLIENT_DEGRADED,
    CLIENT_DEGRADED_EPISODES,
)
"""What a routing worker exports on the registry it passes to `HealthClient`."""
LITELLM_METRICS = (LITELLM_SKIPPED, LITELLM_PANICS, LITELLM_FAIL_OPEN)
"""What the LiteLLM plug-in exports beside its HealthClient's worker metrics."""
ALL_METRICS = DAEMON_METRICS + WORKER_METRICS + LITELLM_METRICS


def sample_names() -> frozenset[str]:
    """Every sample name a daemon or a worker can show."""
    return frozenset(name for metric in ALL_METRICS for name in metric.samples)


def counter(metric: Metric, registry: CollectorRegistry) -> Counter:
    """`metric`'s counter on `registry`."""
    return Counter(metric.name, metric.help, metric.labels, registry=registry)


def gauge(metric: Metric, registry: CollectorRegistry) -> Gauge:
    """`metric`'s gauge on `registry`."""
    return Gauge(metric.name, metric.help, metric.labels, registry=registry)


def histogram(metric: Metric, registry: CollectorRegistry, buckets: tuple[float, ...]) -> Histogram:
    """`metric`'s histogram on `registry`, with `buckets`."""
    return Histogram(metric.name, metric.help, metric.labels, buckets=buckets, registry=registry)
