"""HealthClient: what a routing worker embeds (docs/client.md).

```python
async with HealthClient.from_url("redis://…", config="catalog.yaml") as health:
    for route in health.candidates("llama-3.1-70b"):
        ...
        health.report(route, Outcome.SERVER_ERROR, latency_s=0.8)
```

`candidates()` answers from memory, from a ranking kept until the view, what
the worker learnt for sorting, or the time can change it (client/ranked.py).
The view is kept current by pub/sub and a periodic resync that reads only what
changed; `report()` only appends to a buffer that a background task
flushes in batches (at once after a hard failure). When Redis is unreachable
the worker keeps its last view, runs a local breaker on its own traffic and
never raises into the request path; when Redis returns, the fleet state wins.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.exceptions import RedisError

from routeguard.breaker import BreakerStore, Keys
from routeguard.client.candidates import (
    Candidates,
    Preferences,
    Signals,
    Sort,
    health_rank,
    rank_candidates,
    skip_reason,
)
from routeguard.client.failover import FailoverResult, run_with_failover
from routeguard.client.local import LocalBreakers
from routeguard.client.metrics import WorkerMetrics
from routeguard.client.ranked import RankingCache, valid_until
from routeguard.client.reporter import OutcomeBuffer
from routeguard.client.sync import Synchroniser
from routeguard.client.view import LocalView
from routeguard.config import Catalog, load_catalog
from routeguard.config.settings import Settings, env_var, load_settings
from routeguard.errors import ConfigError, RouteError
from routeguard.heartbeat import live_daemons, no_daemon_message
from routeguard.outcomes import HARD_FAILURES, Outcome, is_slow
from routeguard.redact import redact_url
from routeguard.redis_connect import connect_redis

log = logging.getLogger(__name__)
T = TypeVar("T")
EWMA_WEIGHT = 0.3
SORT_STEPS = 8
"""Sorting signals are kept to 8 steps per doubling (about 9 % apart): closer figures
are noise and tie (catalog order), and a ranking sorted by them is not recomputed
for every report that moves an average by a hair."""


class HealthClient:
    """A worker's local, always-answering view of route health."""

    def __init__(
        self,
        redis: Redis,
        catalog: Catalog,
        *,
        keys: Keys | None = None,
        registry: CollectorRegistry | None = None,
        flush_s: float = 0.1,
        resync_s: float = 2.0,
        clock: Callable[[], float] = time.time,
        where: str = "redis",
    ) -> None:
        self.catalog = catalog
        self._redis = redis
        self._where = where
        self._keys = keys or Keys()
        routes = {r.id: r.breaker for r in catalog.routes.values()}
        self.store = BreakerStore(redis, routes, keys=self._keys, where=where)
        self._ranked = RankingCache(catalog.models)
        self._answers = self._ranked.answers  # the hot path's one lookup
        self.view = LocalView(catalog.routes, clock=clock, on_change=self._ranked.forget)
        self._clock = clock
        self._buffer = OutcomeBuffer()
        self._local = LocalBreakers(routes, clock=clock)
        self._streaks: dict[str, int] = {}
        self._ttft: dict[str, float] = {}
        self._tps: dict[str, float] = {}
        self._sorted_ttft: dict[str, float] = {}  # quantised: what sorting sees
        self._sorted_tps: dict[str, float] = {}
        self._signals = Signals(ttft_s=self._sorted_ttft, tokens_per_s=self._sorted_tps)
        self.metrics = WorkerMetrics(registry, self.view.staleness_s) if registry else None
        if self.metrics:
            self.metrics.initialise(catalog)
        self._sync = Synchroniser(
            redis,
            self.store,
            self.view,
            self._buffer,
            self._local,
            self._keys,
            flush_s=flush_s,
            resync_s=resync_s,
            on_degraded=self.metrics.note_degraded if self.metrics else None,
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        config: str | Path | Catalog | None = None,
        key_prefix: str | None = None,
        **kwargs: Any,
    ) -> HealthClient:
        """A client of the Redis at `url`; `config` and `key_prefix` default to the
        daemon's settings (ROUTEGUARD_CONFIG, ROUTEGUARD_KEY_PREFIX)."""
        settings = load_settings() if config is None or key_prefix is None else None
        catalog = _catalog(config, settings)
        prefix = key_prefix if key_prefix is not None else _settings(settings).key_prefix
        redis = connect_redis(url, connect_timeout_s=2, timeout_s=2)
        return cls(redis, catalog, keys=Keys(prefix), where=redact_url(url), **kwargs)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> HealthClient:
        """A client configured exactly as the daemon is: ROUTEGUARD_REDIS_URL,
        ROUTEGUARD_CONFIG and ROUTEGUARD_KEY_PREFIX from `env` (default: the environment)."""
        settings = load_settings(env)
        if settings.redis_url is None:
            raise ConfigError(
                [
                    f"{env_var('redis_url')}: not set; a worker needs the daemon's Redis "
                    "(e.g. redis://127.0.0.1:6379/0)"
                ]
            )
        catalog = _catalog(None, settings)
        return cls.from_url(
            settings.redis_url, config=catalog, key_prefix=settings.key_prefix, **kwargs
        )

    async def __aenter__(self) -> HealthClient:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Load the view (if Redis answers) and start the background tasks."""
        await self._sync.start()
        await self._check_daemon()

    async def _check_daemon(self) -> None:
        """One line when no daemon writes under this prefix (a wrong prefix looks healthy)."""
        try:
            live = await live_daemons(self._redis, self._keys)
        except (RedisError, OSError):
            return  # degraded already says Redis is away
        if not live:
            log.warning("%s", no_daemon_message(self._keys, self._where))

    async def close(self) -> None:
        """Flush what is pending (best effort) and stop."""
        await self._sync.stop()

    @property
    def degraded(self) -> bool:
        """True while Redis cannot be reached and local breakers decide."""
        return self._sync.degraded

    def staleness_s(self) -> float:
        return self.view.staleness_s()

    # -- the request path: memory only ------------------------------------------

    def candidates(
        self,
        model: str,
        *,
        order: Sequence[str] | None = None,
        only: Sequence[str] | None = None,
        ignore: Sequence[str] | None = None,
        allow_fallbacks: bool = True,
        sort: Sort | str | None = None,
    ) -> Candidates:
        """The model's routes to try, healthy first; never empty for a configured model.

        The answer is shared with every caller asking the same until something can
        change it, hence immutable (`list(answer)` to edit)."""
        if order is None and only is None and ignore is None and allow_fallbacks and sort is None:
            key: Hashable = model
        else:
            key = (
                model,
                _frozen(order),
                _frozen(only),
                _frozen(ignore),
                bool(allow_fallbacks),
                sort,
            )
        hit = self._answers.get(key)
        if hit is None or self._clock() >= hit[1]:
            prefs = Preferences(order, only, ignore, allow_fallbacks, Sort(sort) if sort else None)
            hit = self._rank(model, key, prefs)
        answer = hit[0]
        if answer.panic and self.metrics:
            self.metrics.panics.labels(model).inc()
        return answer

    def _rank(self, model: str, key: Hashable, prefs: Preferences) -> tuple[Candidates, float]:
        routes = self.catalog.models.get(model)
        if routes is None:
            known = ", ".join(sorted(self.catalog.models)[:10])
            raise RouteError(f"unknown model {model!r}: models in the catalog are {known}")
        now = self._clock()
        answer = rank_candidates(
            routes,
            self.view.routes,
            prefs,
            now_ms=self.view.redis_ms_at(now),
            suspected=lambda r: self.view.suspected(r, now),
            signals=self._signals,
        )
        until = valid_until(routes, self.view, now)
        self._ranked.put(model, key, answer, until)
        return answer, until

    @property
    def signals(self) -> Signals:
        """What this worker learnt for sorting (EWMA TTFT and tokens/s, quantised)."""
        return self._signals

    def unusable(self, route: str) -> str | None:
        """Why `route` should get no traffic now, as `candidates()` would skip it; None
        when it may. For gateways that keep their own list and order (LiteLLM)."""
        view = self.view[route]
        suspected = self.view.suspected(route, self._clock())
        rank = health_rank(view, self.view.redis_now_ms(), suspected)
        return None if rank == 0 else skip_reason(view, rank)

    def report(
        self,
        route: str,
        outcome: Outcome,
        *,
        latency_s: float | None = None,
        ttft_s: float | None = None,
        tokens_per_s: float | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """Record what a call saw. Never blocks, never raises for a known route."""
        spec = self.catalog.routes.get(route)
        if spec is None:
            raise RouteError(f"unknown route {route!r}")
        slow = is_slow(outcome, ttft_s, latency_s, spec.breaker.slow_ttft_s)
        self._buffer.add(route, outcome, slow, retry_after_s)
        self._learn(route, outcome, ttft_s, tokens_per_s)
        if self.metrics:
            self.metrics.requests.labels(spec.provider, spec.model, outcome.value).inc()
        if self.degraded:
            self._sync.apply_locally(route, outcome, slow, retry_after_s)
        self._sync.wake(urgent=self._buffer.urgent)

    def _learn(self, route: str, outcome: Outcome, ttft_s: float | None, tps: float | None) -> None:
        spec = self.catalog.routes[route]
        if outcome in HARD_FAILURES:
            streak = self._streaks.get(route, 0) + 1
            self._streaks[route] = streak
            if streak >= spec.breaker.consecutive_failures:
                self.view.suspect(route, self._clock() + spec.breaker.local_suspicion_s)
        elif outcome is Outcome.OK:
            self._streaks[route] = 0
        if ttft_s is not None:
            self._ttft[route] = _ewma(self._ttft.get(route), ttft_s)
            self._learn_signal(self._sorted_ttft, route, self._ttft[route])
        if tps is not None:
            self._tps[route] = _ewma(self._tps.get(route), tps)
            self._learn_signal(self._sorted_tps, route, self._tps[route])

    def _learn_signal(self, sorted_by: dict[str, float], route: str, value: float) -> None:
        """Keep the quantised figure sorting sees; a ranking is redone only when it moves."""
        step = _quantised(value)
        if sorted_by.get(route) != step:
            sorted_by[route] = step
            self._ranked.forget(route)

    async def call_with_failover(
        self,
        model: str,
        attempt: Callable[[str], Awaitable[T]],
        **preferences: Any,
    ) -> FailoverResult[T]:
        """Run `attempt(route)` over the model's candidates (see client/failover.py)."""
        answer = self.candidates(model, **preferences)

        def report(route: str, outcome: Outcome, latency: float, retry: float | None) -> None:
            self.report(route, outcome, latency_s=latency, retry_after_s=retry)
            if outcome is not Outcome.OK and self.metrics:
                spec = self.catalog.routes[route]
                self.metrics.failovers.labels(spec.provider, spec.model, model).inc()

        result = await run_with_failover(list(answer), attempt, report)
        result.skipped, result.panic = answer.skipped, answer.panic
        return result


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else load_settings()


def _catalog(config: str | Path | Catalog | None, settings: Settings | None) -> Catalog:
    if isinstance(config, Catalog):
        return config
    path = Path(config) if config is not None else _settings(settings).config
    if path is None:
        raise ConfigError(
            [f"{env_var('config')}: not set; pass config= or set it to the catalog file's path"]
        )
    return load_catalog(path)


def _ewma(previous: float | None, sample: float) -> float:
    return sample if previous is None else previous + EWMA_WEIGHT * (sample - previous)


def _quantised(value: float) -> float:
    """`value` to the nearest of SORT_STEPS steps per doubling (0 for none or nonsense)."""
    if value == math.inf:
        return value
    if not value > 0:  # zero, negative or NaN
        return 0.0
    return float(2.0 ** (round(math.log2(value) * SORT_STEPS) / SORT_STEPS))


def _frozen(values: Sequence[str] | None) -> Hashable:
    """A preference list as part of a cache key (a list cannot be one)."""
    return values if values is None or isinstance(values, str | tuple) else tuple(values)
