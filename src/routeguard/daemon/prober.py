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
from routeguard.config import Catalog, ProbeSettings, Route
from routeguard.daemon.leases import ProbeLeases
from routeguard.daemon.probe_log import ProbeLog
from routeguard.outcomes import PROVIDER_WIDE_DOWN, Outcome, is_slow, ttft_within_objective
from routeguard.probes import ProbeJob, ProbeMetrics, ProbeResult, ProbeRunner, ProbeTarget
from routeguard.providers import CODECS
from routeguard.tasks import raise_if_cancelled
from routeguard.tiers import trial_tier

log = logging.getLogger(__name__)

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

    def _target(self, job: ProbeJob, model: str | None, timeout_s: float) -> ProbeTarget:
        provider = self.catalog.providers[job.provider]
        endpoint = provider.endpoint(self._env)
        return ProbeTarget(endpoint, CODECS[provider.flavour], job.tier, model, timeout_s)

    async def probe_provider(self, provider_name: str, interval_s: float) -> ProbeResult | None:
        """The liveness tier of a provider; None when another replica has this interval."""
        job = ProbeJob.liveness(provider_name)
        if not await self._leases.claim(job, interval_s):
            return None
        routes = [self.catalog.routes[r] for r in self.routes_of(provider_name)]
        timeout_s = min((r.probes.timeout_s for r in routes), default=ProbeSettings().timeout_s)
        result = await self._runner.run(self._target(job, None, timeout_s))
        await self._log.record(job, result)
        # A provider-wide 429 holds every probe of the provider (scheduler), so it must
        # also open its routes until the hint: otherwise nothing would ever say so.
        if result.outcome in PROVIDER_WIDE_DOWN or result.outcome is Outcome.RATE_LIMITED:
            await asyncio.gather(*(self._feed(r, result) for r in routes))
        return result

    async def probe_route(
        self, job: ProbeJob, interval_s: float, *, claim: bool = True
    ) -> tuple[ProbeResult, RouteStatus] | None:
        """A route tier; None when another replica has this interval."""
        if claim and not await self._leases.claim(job, interval_s):
            return None
        route = self.catalog.routes[job.subject]
        result = await self._run_route(route, job)
        return result, await self._feed(route, result)

    async def run_trials(self, route_id: str) -> RouteStatus | None:
        """Trial probes back to back while the route is half-open and a lease is free."""
        route = self.catalog.routes[route_id]
        tier = trial_tier(route.probes.tiers)
        # A route probed by liveness alone is tried with its provider's model list.
        job = ProbeJob(route_id, tier)
        status = None
        for _ in range(2 * route.breaker.half_open_successes + 2):
            token = await self._store.acquire_trial(route_id)
            if token is None:
                break
            result = await self._run_route(route, job)
            status = await self._feed(route, result, trial_token=token)
            if status.state != BreakerState.HALF_OPEN:
                break
            await asyncio.sleep(TRIAL_GAP_S)
            raise_if_cancelled()
        return status

    async def _run_route(self, route: Route, job: ProbeJob) -> ProbeResult:
        result = await self._runner.run(self._target(job, route.model, route.probes.timeout_s))
        within = ttft_within_objective(result.ttft_s, route.slo.ttft_p95_s)
        await self._log.record(job, result)
        if self._metrics is not None:
            self._metrics.observe_ttft_objective(route.provider, route.model, within)
        return result

    async def _feed(
        self, route: Route, result: ProbeResult, trial_token: str | None = None
    ) -> RouteStatus:
        slow = is_slow(result.outcome, result.ttft_s, result.duration_s, route.breaker.slow_ttft_s)
        status = await self._store.record(
            route.id,
            result.outcome,
            slow=slow,
            retry_after_s=result.classified.retry_after_s,
            trial_token=trial_token,
        )
        for t in status.transitions:
            log.info(
                "%s: %s -> %s (%s: %s)", route.id, t.from_state, t.to_state, t.reason, t.detail
            )
        return status
