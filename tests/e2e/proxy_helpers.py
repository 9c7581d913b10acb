"""A `routeguard proxy` in the test's own event loop, in front of simulated providers."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from aiohttp import web
from prometheus_client import CollectorRegistry

from routeguard.breaker import Keys
from routeguard.client import HealthClient
from routeguard.config import Catalog
from routeguard.proxy import Forwarder, ProxyContext, Timeouts, build_app
from routeguard.redis_connect import connect_redis

SIM_KEY = "sk-sim-proxy-0123456789"
SIM_KEY_ENV = "ROUTEGUARD_TEST_SIM_KEY"


@dataclass
class RunningProxy:
    url: str
    health: HealthClient
    registry: CollectorRegistry

    @property
    def base_url(self) -> str:
        """What the openai SDK takes as `base_url`."""
        return self.url + "/v1"


@asynccontextmanager
async def running_proxy(
    catalog: Catalog,
    redis_url: str,
    keys: Keys,
    *,
    api_keys: tuple[str, ...] = (),
    first_byte_s: float = 5.0,
    stream_idle_s: float = 5.0,
) -> AsyncIterator[RunningProxy]:
    os.environ[SIM_KEY_ENV] = SIM_KEY  # the catalog's providers read their key from it
    registry = CollectorRegistry()
    redis = connect_redis(redis_url, connect_timeout_s=2, timeout_s=2)
    health = HealthClient(redis, catalog, keys=keys, registry=registry, flush_s=0.02)
    timeouts = Timeouts(first_byte_s, stream_idle_s)
    async with health, httpx.AsyncClient(timeout=httpx.Timeout(None, connect=2)) as http:
        ctx = ProxyContext(health, Forwarder(http, timeouts), registry, api_keys)
        runner = web.AppRunner(build_app(ctx), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield RunningProxy(f"http://127.0.0.1:{port}", health, registry)
        finally:
            await runner.cleanup()
