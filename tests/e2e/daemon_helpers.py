"""Start daemons in-process against a real Redis, for end-to-end tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx

from routeguard.breaker import BreakerState, Keys
from routeguard.config import Catalog, parse_catalog
from routeguard.daemon.app import Daemon, DaemonOptions

ADMIN_TOKEN = "test-admin-token-7c1f"


def catalog_from(text: str) -> Catalog:
    return parse_catalog(text, "test-catalog.yaml")


@asynccontextmanager
async def running_daemon(
    catalog: Catalog, redis_url: str, keys: Keys, **options: object
) -> AsyncIterator[Daemon]:
    settings: dict[str, object] = {"http_port": 0, "key_prefix": keys.prefix}
    settings |= {"admin_token": ADMIN_TOKEN, "env": {}} | options
    opts = DaemonOptions(**settings)  # type: ignore[arg-type]
    daemon = Daemon(catalog, redis_url, opts)
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, timeout_s: float, what: str
) -> float:
    """Poll until `condition` holds; return how long it took; fail after `timeout_s`."""
    start = time.monotonic()
    while not await condition():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def route_states(daemon: Daemon) -> dict[str, BreakerState]:
    assert daemon.store is not None
    return {s.route: s.state for s in await daemon.store.states()}


async def get_json(daemon: Daemon, path: str) -> object:
    async with httpx.AsyncClient() as client:
        response = await client.get(daemon.http_url + path)
        response.raise_for_status()
        return response.json()
