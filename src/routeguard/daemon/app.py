"""The daemon's composition root: builds every part from settings and a catalog.

Nothing here decides anything; it wires the store, the probe runner, the
scheduler, the notifier (when the catalog has `notify.channels`) and the HTTP
interface together, and takes them down in order.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from aiohttp import web
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.exceptions import RedisError

from routeguard.breaker import BreakerStore, Keys
from routeguard.config import Catalog
from routeguard.daemon.http import HttpContext, build_app
from routeguard.daemon.leases import ProbeLeases
from routeguard.daemon.metrics import (
    BreakerCollector,
    SchedulerMetrics,
    WatchMetrics,
    store_up_gauge,
)
from routeguard.daemon.probe_log import ProbeLog
from routeguard.daemon.prober import Prober
from routeguard.daemon.scheduler import ProbeScheduler
from routeguard.daemon.watch import HEARTBEAT_S, QUEUE_SIZE, WatchHub
from routeguard.errors import ConfigError, StoreUnavailable
from routeguard.heartbeat import beat_forever
from routeguard.notify.dispatcher import Dispatcher
from routeguard.probes import ProbeMetrics, ProbeRunner
from routeguard.probes.clients import ProviderClients
from routeguard.redact import redact_url
from routeguard.redis_batch import RedisBatcher
from routeguard.redis_connect import connect_redis
from routeguard.tasks import stop_tasks

log = logging.getLogger(__name__)


@dataclass
class DaemonOptions:
    """Knobs of one daemon instance; the defaults are production's."""

    http_host: str = "127.0.0.1"
    http_port: int = 9477
    key_prefix: str = "routeguard"
    admin_token: str | None = None
    replica_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    tick_s: float = 0.2
    resync_s: float = 1.0
    env: Mapping[str, str] | None = None  # where API keys are read (None: os.environ)
    tracer: Tracer | None = None
    watch_heartbeat_s: float = HEARTBEAT_S  # `: ping` on an idle GET /v1/routes/watch
    watch_queue_size: int = QUEUE_SIZE  # transitions a watcher may lag before it is dropped


class Daemon:
    """One routeguard daemon replica."""

    def __init__(
        self, catalog: Catalog, redis_url: str, options: DaemonOptions | None = None
    ) -> None:
        self.catalog = catalog
        self.options = options or DaemonOptions()
        self.registry = CollectorRegistry()
        # The families with a series per route are written by /metrics itself, fast
        # (routeguard/series.py), not through the registry.
        self.probe_metrics = ProbeMetrics()
        self._redis_url = redis_url
        self._redis: Redis | None = None
        self._batcher: RedisBatcher | None = None
        self._http: httpx.AsyncClient | None = None  # the notifier's
        self._probe_http = ProviderClients()
        self._scheduler: ProbeScheduler | None = None
        self._web: web.AppRunner | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._watch: WatchHub | None = None
        self.store: BreakerStore | None = None
        self.notifier: Dispatcher | None = None
        self.http_url = ""

    async def start(self) -> None:
        opts = self.options
        self._redis = connect_redis(self._redis_url, connect_timeout_s=3, timeout_s=5)
        try:
            await self._redis.ping()
        except (RedisError, OSError):
            await self._redis.aclose()
            raise StoreUnavailable(
                f"Redis at {redact_url(self._redis_url)} does not answer; "
                "check ROUTEGUARD_REDIS_URL and that the server is running"
            ) from None
        keys = Keys(opts.key_prefix)
        routes = {r.id: r.breaker for r in self.catalog.routes.values()}
        # The probes' writes leave in shared pipelines, on a client of their own (one
        # deadline a pipeline, not a timer a reply: routeguard/redis_batch.py).
        batch_redis = connect_redis(self._redis_url, connect_timeout_s=3, timeout_s=None)
        self._batcher = batcher = RedisBatcher(batch_redis)
        self.store = BreakerStore(
            self._redis, routes, keys=keys, where=redact_url(self._redis_url), batcher=batcher
        )
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(120.0), limits=httpx.Limits(max_connections=200)
        )
        probe_metrics = self.probe_metrics
        probe_metrics.initialise(self.catalog)
        runner = ProbeRunner(self._probe_http, metrics=probe_metrics, tracer=opts.tracer)
        probe_log = ProbeLog(self._redis, keys, batcher=batcher)
        leases = ProbeLeases(self._redis, keys, opts.replica_id, batcher)
        prober = Prober(
            self.catalog, self.store, runner, leases, probe_log, env=opts.env, metrics=probe_metrics
        )
        self._scheduler = ProbeScheduler(
            prober,
            self.store,
            metrics=SchedulerMetrics(self.registry),
            tick_s=opts.tick_s,
            resync_s=opts.resync_s,
        )
        # The notifier joins the transition stream before the first probe can move a route.
        self.notifier = await self._start_notifier(keys)
        # Bind before probing: a taken port then fails fast with nothing to wind down.
        await self._serve()
        self._scheduler.start()
        self._heartbeat = asyncio.create_task(
            beat_forever(self._redis, keys, opts.replica_id), name="routeguard-heartbeat"
        )
        log.info(
            "routeguard daemon %s: %d providers, %d routes, HTTP on %s",
            opts.replica_id,
            len(self.catalog.providers),
            len(self.catalog.routes),
            self.http_url,
        )

    async def _start_notifier(self, keys: Keys) -> Dispatcher | None:
        """The notification dispatcher, running, if any channel is configured."""
        assert self._redis is not None and self._http is not None
        if not self.catalog.notify.channels:
            return None
        opts = self.options
        dispatcher = Dispatcher(
            self._redis,
            keys,
            self.catalog.notify,
            self._http,
            registry=self.registry,
            routes=list(self.catalog.routes),
            env=opts.env,
            consumer=f"notify-{opts.replica_id}",
        )
        await dispatcher.start()
        return dispatcher

    async def _serve(self) -> None:
        assert self.store is not None and self._redis is not None and self._scheduler is not None
        collector = BreakerCollector(self.catalog)
        scheduler = self._scheduler
        self._watch = WatchHub(
            self._redis,
            self.store.keys,
            WatchMetrics(self.registry),
            queue_size=self.options.watch_queue_size,
            heartbeat_s=self.options.watch_heartbeat_s,
        )
        ctx = HttpContext(
            catalog=self.catalog,
            store=self.store,
            redis=self._redis,
            registry=self.registry,
            collector=collector,
            probe_metrics=self.probe_metrics,
            admin_token=self.options.admin_token,
            scheduler_running=lambda: scheduler.running,
            notifier=self.notifier,
            scrape_store_up=store_up_gauge(self.registry),
            watch=self._watch,
        )
        self._web = web.AppRunner(build_app(ctx), access_log=None)
        await self._web.setup()
        host, port = self.options.http_host, self.options.http_port
        site = web.TCPSite(self._web, host, port)
        try:
            await site.start()
        except OSError as exc:  # in use, not an address of this host, a name that does not resolve
            raise ConfigError(
                f"ROUTEGUARD_HTTP_ADDR: cannot listen on {host}:{port} ({_why(exc)}); "
                "choose a free port on an address of this host, or stop what holds it"
            ) from None
        self.http_url = f"http://{host}:{self._web.addresses[0][1]}"

    async def stop(self) -> None:
        """Stop probing first, then notifying, the watch feed, the HTTP interface, the connections.

        A notification the notifier had not finished stays in Redis, pending,
        for the next daemon (or another replica) to deliver.
        """
        if self._heartbeat is not None:
            await stop_tasks([self._heartbeat])
        if self._scheduler is not None:
            await self._scheduler.stop()
        if self.notifier is not None:
            await self.notifier.stop()
        if self._watch is not None:
            await self._watch.stop()  # watch streams would hold the HTTP shutdown open
        if self._web is not None:
            await self._web.cleanup()
        await self._probe_http.aclose()
        if self._batcher is not None:
            await self._batcher.aclose()
            await self._batcher.redis.aclose()
        if self._http is not None:
            await self._http.aclose()
        if self._redis is not None:
            await self._redis.aclose()


def _why(exc: OSError) -> str:
    """`Address already in use`, not asyncio's `error while attempting to bind on …`."""
    if isinstance(exc, socket.gaierror) or not exc.errno:
        return exc.strerror or str(exc)
    return os.strerror(exc.errno)
