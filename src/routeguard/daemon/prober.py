"""What one probe job does: claim, probe, record. No scheduling here.

Route tiers (`completion`, `stream`) feed their route's breaker. The provider
tier (`liveness`) feeds every route of the provider, but only with hard-down
signals: its successes never reset a route's failures, so a one-model outage
behind a healthy `/models` still opens that route, and only that route.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from routeguard.breaker import BreakerState, BreakerStore, RouteStatus
from routeguard.config import Catalog, Provider
from routeguard.config.policies import ProbeTier
from routeguard.daemon.leases import ProbeLeases
from routeguard.daemon.metrics import ProbeMetrics
from routeguard.daemon.probe_log import ProbeLog
from routeguard.outcomes import Outcome
from routeguard.probes import ProbeResult, ProbeRunner, ProbeTarget
from routeguard.providers import FLAVOURS, Endpoint
from routeguard.tasks import raise_if_cancelled

log = logging.getLogger(__name__)

LIVENESS_FEEDS_ROUTES = frozenset(
    {Outcome.CONNECT_ERROR, Outcome.TIMEOUT, Outcome.SERVER_ERROR, Outcome.AUTH_ERROR}
)
"""Liveness outcomes that say every route of the provider is down or unusable."""
TRIAL_GAP_S = 0.1
"""Pause between back-to-back trial probes of a half-open route."""


class Prober:
    """Runs probe jobs for the daemon and feeds their outcomes to the breaker."""

    def __init__(
        self,
        catalog: Catalog,
        store: BreakerStore,
        runner: ProbeRunner,
        leases: ProbeLeases,
        probe_log: ProbeLog,
        env: Mapping[str, str] | None = None,
        metrics: ProbeMetrics | None = None,
    ) -> None:
        self.catalog = catalog
        self._metrics = metrics
        self._store = store
        self._runner = runner
        self._leases = leases
        self._log = probe_log
        self._env = env
        self._routes_of: dict[str, list[str]] = {}
        for route in catalog.routes.values():
            self._routes_of.setdefault(route.provider, []).append(route.id)

    def routes_of(self, provider: str) -> list[str]:
        return self._routes_of.get(provider, [])

    def _target(
        self, provider: Provider, tier: str, model: str | None, timeout_s: float
    ) -> ProbeTarget:
        key = provider.api_key(self._env)
        endpoint = Endpoint(
            provider.name,
            provider.base_url,
            provider.request_headers(self._env),
            provider.vendor,
            secrets=(key,) if key else (),
        )
        return ProbeTarget(endpoint, FLAVOURS[provider.flavour.value], tier, model, timeout_s)  # type: ignore[arg-type]

    async def probe_provider(self, provider_name: str, interval_s: float) -> ProbeResult | None:
        """The liveness tier of a provider; None when another replica has this interval."""
        if not await self._leases.claim(f"{provider_name}|liveness", interval_s):
            return None
        provider = self.catalog.providers[provider_name]
        routes = [self.catalog.routes[r] for r in self.routes_of(provider_name)]
        timeout_s = min((r.probes.timeout_s for r in routes), default=10.0)
        result = await self._runner.run(self._target(provider, "liveness", None, timeout_s))
        slo = routes[0].slo.ttft_p95_s if routes else 2.0
        await self._log.record(provider_name, provider_name, result, slo)
        # A provider-wide 429 holds every probe of the provider (scheduler), so it must
        # also open its routes until the hint: otherwise nothing would ever say so.
        if result.outcome in LIVENESS_FEEDS_ROUTES or result.outcome is Outcome.RATE_LIMITED:
            await asyncio.gather(*(self._feed(r.id, result) for r in routes))
        return result

    async def probe_route(
        self, route_id: str, tier: str, interval_s: float, *, claim: bool = True
    ) -> tuple[ProbeResult, RouteStatus] | None:
        """A route tier; None when another replica has this interval."""
        if claim and not await self._leases.claim(f"{route_id}|{tier}", interval_s):
            return None
        result = await self._run_route(route_id, tier)
        return result, await self._feed(route_id, result)

    async def run_trials(self, route_id: str) -> RouteStatus | None:
        """Trial probes back to back while the route is half-open and a lease is free."""
        route = self.catalog.routes[route_id]
        tier = trial_tier(route.probes.tiers)
        status = None
        for _ in range(2 * route.breaker.half_open_successes + 2):
            token = await self._store.acquire_trial(route_id)
            if token is None:
                break
            result = await self._run_route(route_id, tier)
            status = await self._feed(route_id, result, trial_token=token)
            if status.state != BreakerState.HALF_OPEN:
                break
            await asyncio.sleep(TRIAL_GAP_S)
            raise_if_cancelled()
        return status

    async def _run_route(self, route_id: str, tier: str) -> ProbeResult:
        route = self.catalog.routes[route_id]
        provider = self.catalog.providers[route.provider]
        target = self._target(provider, tier, route.model, route.probes.timeout_s)
        result = await self._runner.run(target)
        await self._log.record(route_id, route.provider, result, route.slo.ttft_p95_s)
        if self._metrics and result.ttft_s is not None and result.ttft_s <= route.slo.ttft_p95_s:
            self._metrics.ttft_within.labels(route.provider, route.model).inc()
        return result

    async def _feed(
        self, route_id: str, result: ProbeResult, trial_token: str | None = None
    ) -> RouteStatus:
        route = self.catalog.routes[route_id]
        latency = result.ttft_s if result.ttft_s is not None else result.duration_s
        slow = result.outcome is Outcome.OK and latency > route.breaker.slow_ttft_s
        status = await self._store.record(
            route_id,
            result.outcome,
            slow=slow,
            retry_after_s=result.classified.retry_after_s,
            trial_token=trial_token,
        )
        for t in status.transitions:
            log.info(
                "%s: %s -> %s (%s: %s)", route_id, t.from_state, t.to_state, t.reason, t.detail
            )
        return status


def trial_tier(tiers: tuple[ProbeTier, ...]) -> str:
    """The tier that tests a half-open route: its first per-route tier, else liveness."""
    for tier in tiers:
        if tier is not ProbeTier.LIVENESS:
            return tier.value
    return ProbeTier.LIVENESS.value
