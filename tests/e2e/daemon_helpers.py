"""Start daemons in-process against a real Redis, for end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from routeguard.breaker import BreakerState, Keys
from routeguard.config import Catalog, parse_catalog
from routeguard.daemon.app import Daemon, DaemonOptions

ADMIN_TOKEN = "test-admin-token-7c1f"
UNREACHABLE_PAIR = """
providers:
  a: {flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}
  b: {flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}
probes: {interval_s: 3600}
models:
  chat: [a/m, b/m]
"""
"""Two providers nobody listens for, probed once an hour: routes that only move when a
test forces them."""
HTTP_POLL_S = 0.05  # a poll through get_json() builds an HTTP client: ~30 ms of CPU each


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


async def route_states(daemon: Daemon) -> dict[str, BreakerState]:
    assert daemon.store is not None
    return {s.route: s.state for s in await daemon.store.states()}


async def get_json(daemon: Daemon, path: str) -> object:
    async with httpx.AsyncClient() as client:
        response = await client.get(daemon.http_url + path)
        response.raise_for_status()
        return response.json()
