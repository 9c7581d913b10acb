"""Schedules probe jobs (`timers.py`) and the breaker's clock tick.

One job per provider for the liveness tier and one per route and route tier,
each with jitter; a job never runs twice at once, and a late run is run once.
A route that looks suspect (failures without an open yet, or open for
auth/quota) is probed every `suspect_interval_s`; a route in its timed open
period is not probed at all (trials decide it); a half-open route gets trial
probes back to back from the tick loop. A provider whose liveness probe was rate-limited is not probed at all
(no tier, no trial) until its hint has passed (`holds.py`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from routeguard.breaker import BreakerState, BreakerStore, RouteStatus
from routeguard.daemon.holds import ProviderHolds
from routeguard.daemon.metrics import SchedulerMetrics
from routeguard.daemon.prober import Prober
from routeguard.daemon.resync import ScheduleResync
from routeguard.daemon.timers import IntervalTimers
from routeguard.outcomes import PROVIDER_WIDE_DOWN, Outcome
from routeguard.probes import ProbeJob, ProbeResult
from routeguard.store_health import STORE_ERRORS, FailureEpisodes
from routeguard.tasks import raise_if_cancelled, stop_tasks
from routeguard.tiers import ProbeTier

log = logging.getLogger(__name__)
T = TypeVar("T")

JITTER_SHARE = 0.1
TICK_S = 0.2
RESYNC_S = 1.0


def is_suspect(status: RouteStatus) -> bool:
    """Probe faster: failures are piling up, or the route waits on a success to close."""
    if status.state == BreakerState.CLOSED:
        return status.window.consecutive_failures > 0
    return status.state == BreakerState.OPEN and status.open_until_ms == 0


def in_timed_open(status: RouteStatus | None) -> bool:
    return status is not None and status.state == BreakerState.OPEN and status.open_until_ms > 0


class ProbeScheduler:
    """Owns the probe jobs' timers, the tick loop and the trial tasks."""

    def __init__(
        self,
        prober: Prober,
        store: BreakerStore,
        *,
        rng: random.Random | None = None,
        metrics: SchedulerMetrics | None = None,
        tick_s: float = TICK_S,
        resync_s: float = RESYNC_S,
        holds: ProviderHolds | None = None,
    ) -> None:
        self._prober = prober
        self._store = store
        self._rng = rng or random.Random()
        self._tick_s = tick_s
        self._resync_s = resync_s
        self._resync = ScheduleResync(store, resync_s)
        self._metrics = metrics
        self._holds = holds or ProviderHolds()
        self._timers = IntervalTimers(on_start=self._on_start, on_skip=self._on_skip, rng=self._rng)
        self._jobs: dict[str, ProbeJob] = {}
        self._known: dict[str, RouteStatus] = {}
        self._trials: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._episodes = FailureEpisodes(log, "probes")
        self._tick_episodes = FailureEpisodes(log, "breaker clock")

    @property
    def running(self) -> bool:
        return self._timers.running and self._loop_task is not None and not self._loop_task.done()

    def start(self) -> None:
        catalog = self._prober.catalog
        for provider in catalog.providers:
            routes = [catalog.routes[r] for r in self._prober.routes_of(provider)]
            live = [r for r in routes if ProbeTier.LIVENESS in r.probes.tiers]
            if live:
                interval = min(r.probes.interval_s for r in live)
                job = ProbeJob.liveness(provider)
                self._add(job, interval, self._liveness_job(job, interval))
        for route in catalog.routes.values():
            for tier in route.probes.tiers:
                if tier.per_route:
                    job = ProbeJob.of_route(route.id, tier)
                    self._add(job, route.probes.interval_s, self._route_job(job))
        self._timers.start()
        self._loop_task = asyncio.create_task(self._tick_loop(), name="routeguard-tick")

    async def stop(self) -> None:
        await self._timers.stop()
        tasks = [t for t in (self._loop_task, *self._trials.values()) if t is not None]
        await stop_tasks(tasks)

    # -- jobs -------------------------------------------------------------------

    def _on_start(self, key: str, lag_s: float) -> None:
        if self._metrics is not None:
            self._metrics.lag.labels(self._jobs[key].tier.value).observe(lag_s)

    def _on_skip(self, key: str) -> None:
        if self._metrics is not None:
            self._metrics.skipped.labels(self._jobs[key].tier.value).inc()

    def _add(self, job: ProbeJob, interval: float, func: Callable[[], Awaitable[None]]) -> None:
        self._jobs[job.key] = job
        first_in_s = self._rng.uniform(0, interval)
        self._timers.add(job.key, interval, interval * JITTER_SHARE, first_in_s, func)

    def _retime(self, job: ProbeJob, interval: float) -> None:
        self._timers.retime(job.key, interval, interval * JITTER_SHARE)

    def _liveness_job(self, job: ProbeJob, normal_s: float) -> Callable[[], Awaitable[None]]:
        catalog = self._prober.catalog
        provider = job.provider
        routes = self._prober.routes_of(provider)
        suspect_s = min(catalog.routes[r].probes.suspect_interval_s for r in routes)
        floor_s = min(catalog.routes[r].breaker.rate_limit_open_min_s for r in routes)

        async def run() -> None:
            if self._holds.held(provider):
                return
            result = await _guarded(
                self._prober.probe_provider(provider, self._timers.interval_s(job.key)),
                self._episodes,
            )
            if result is not None:
                self._hold_if_rate_limited(provider, result, floor_s)
                failing = result.outcome in PROVIDER_WIDE_DOWN
                self._retime(job, suspect_s if failing else normal_s)

        return run

    def _hold_if_rate_limited(self, provider: str, result: ProbeResult, floor_s: float) -> None:
        if result.outcome is not Outcome.RATE_LIMITED:
            return
        hold_s = max(result.classified.retry_after_s or 0.0, floor_s)
        self._holds.hold(provider, hold_s)
        log.info("%s: rate-limited provider-wide; no probes for %.3g s", provider, hold_s)

    def _route_job(self, job: ProbeJob) -> Callable[[], Awaitable[None]]:
        route_id = job.subject

        async def run() -> None:
            if in_timed_open(self._known.get(route_id)) or route_id in self._trials:
                return
            if self._holds.held(job.provider):
                return
            done = await _guarded(
                self._prober.probe_route(job, self._timers.interval_s(job.key)), self._episodes
            )
            if done is not None:
                _, status = done
                self._note(status)

        return run

    def _note(self, status: RouteStatus) -> None:
        self._known[status.route] = status
        probes = self._prober.catalog.routes[status.route].probes
        interval = probes.suspect_interval_s if is_suspect(status) else probes.interval_s
        for tier in probes.tiers:
            if tier.per_route:
                self._retime(ProbeJob.of_route(status.route, tier), interval)
        if status.state == BreakerState.HALF_OPEN:
            self._start_trials(status.route)

    # -- the breaker's clock ----------------------------------------------------

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_resync = 0.0
        while True:
            raise_if_cancelled()
            moved = await _guarded(self._store.tick(), self._tick_episodes)
            for transition in moved or []:
                self._start_trials(transition.route)
            if loop.time() >= next_resync:
                next_resync = loop.time() + self._resync_s
                for status in await _guarded(self._resync.next_round(), self._tick_episodes) or []:
                    self._note(status)
            await asyncio.sleep(self._tick_s)

    def _start_trials(self, route_id: str) -> None:
        if route_id in self._trials:
            return
        if self._holds.held(self._prober.catalog.routes[route_id].provider):
            return  # the resync starts them once the provider's hold has passed

        async def trials() -> None:
            try:
                status = await _guarded(self._prober.run_trials(route_id), self._episodes)
            finally:
                self._trials.pop(route_id, None)
            if status is not None:
                self._note(status)

        self._trials[route_id] = asyncio.create_task(trials(), name=f"trials:{route_id}")


async def _guarded(work: Awaitable[T], episodes: FailureEpisodes) -> T | None:
    """Run a job step; Redis trouble (once per episode) or a bug is logged, never kills it."""
    try:
        result = await work
    except STORE_ERRORS as exc:
        episodes.failed(exc)
        return None
    except Exception:
        log.exception("probe job failed")
        return None
    episodes.succeeded()
    return result
