"""`routeguard proxy`: the OpenAI-compatible failover proxy as a process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import httpx
from aiohttp import web
from prometheus_client import CollectorRegistry

from routeguard.client import HealthClient
from routeguard.config import Settings, load_catalog
from routeguard.config.settings import env_var
from routeguard.daemon.run import configure_logging
from routeguard.errors import ConfigError
from routeguard.proxy.app import ProxyContext, build_app, is_loopback
from routeguard.proxy.forward import Forwarder, Timeouts

log = logging.getLogger("routeguard.proxy")

MAX_UPSTREAM_CONNECTIONS = 1000
CLIENT_SHARDS = 8
"""HTTP clients the proxy takes in turn (forward.py says why); each keeps its own pool."""


def check_exposure(settings: Settings) -> None:
    """Without caller keys the proxy may only listen on loopback: anyone could spend."""
    host, _ = settings.proxy_bind
    if settings.proxy_keys:
        return
    if is_loopback(host):
        log.warning(
            "no %s: serving loopback only (%s); any local process may call it",
            env_var("proxy_api_keys"),
            settings.proxy_addr,
        )
        return
    raise ConfigError(
        f"{env_var('proxy_addr')} is {settings.proxy_addr} but {env_var('proxy_api_keys')} "
        "is not set: set caller keys, or bind a loopback address such as 127.0.0.1:9478"
    )


def _http_client(settings: Settings) -> httpx.AsyncClient:
    # Reads are bounded by the attempt's own deadlines (first byte, stream idle).
    timeout = httpx.Timeout(None, connect=settings.proxy_connect_timeout_s)
    per_shard = MAX_UPSTREAM_CONNECTIONS // CLIENT_SHARDS
    limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard // 4)
    return httpx.AsyncClient(timeout=timeout, limits=limits)


async def serve(settings: Settings, health: HealthClient, registry: CollectorRegistry) -> None:
    """Run until SIGTERM or SIGINT; in-flight answers get a moment to finish."""
    timeouts = Timeouts(settings.proxy_first_byte_timeout_s, settings.proxy_stream_idle_timeout_s)
    async with health, contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(_http_client(settings)) for _ in range(CLIENT_SHARDS)
        ]
        ctx = ProxyContext(health, Forwarder(clients, timeouts), registry, settings.proxy_keys)
        runner = web.AppRunner(build_app(ctx), access_log=None)
        await runner.setup()
        host, port = settings.proxy_bind
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"{env_var('proxy_addr')}: cannot listen on {settings.proxy_addr}: {exc.strerror}"
            ) from None
        log.info("routeguard proxy on http://%s", settings.proxy_addr)
        try:
            await _until_signalled()
        finally:
            await runner.cleanup()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        log.info("stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def run_proxy(settings: Settings, config: Path | None) -> int:
    """Load the catalog, connect to the daemon's Redis, serve."""
    configure_logging(settings.log_level)
    path = config or settings.config
    if path is None:
        raise ConfigError(f"no catalog file: pass --config FILE or set {env_var('config')}")
    if settings.redis_url is None:
        raise ConfigError(
            f"{env_var('redis_url')}: not set; the proxy reads the daemon's Redis "
            "(e.g. redis://127.0.0.1:6379/0)"
        )
    check_exposure(settings)
    catalog = load_catalog(path)
    registry = CollectorRegistry()
    health = HealthClient.from_url(
        settings.redis_url, config=catalog, key_prefix=settings.key_prefix, registry=registry
    )
    asyncio.run(serve(settings, health, registry))
    return 0
