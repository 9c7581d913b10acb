"""A provider that answers every call 429 with a 6 ms reset hint and no Retry-After.

Before the rate-limit floor this opened the route for 6 ms at a time: about 119
open -> half_open -> open cycles in 25 s, each one a paid trial completion.
"""

from __future__ import annotations

import time

import pytest
from aiohttp import web
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import Keys

from .daemon_helpers import catalog_from, running_daemon
from .loopback import loopback_provider

pytestmark = pytest.mark.redis

ROUTE = "limited/model-a"
OBSERVE_S = 8.0
# Floor 1 s, doubling while the limit persists: opens at ~0, ~1, ~3, ~7 s, so at
# most 4 opens and 3 half-opens in 8 s (the 6 ms hint alone gave ~75 of each).
MAX_TRANSITIONS = 8
MAX_COMPLETIONS = 6


async def _always_rate_limited(request: web.Request) -> web.Response:
    headers = {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "6ms",
    }
    body = {
        "error": {
            "message": "Rate limit reached for requests",
            "type": "requests",
            "code": "rate_limit_exceeded",
        }
    }
    return web.json_response(body, status=429, headers=headers)


def _catalog(base_url: str, tiers: str) -> str:
    return f"""
providers:
  limited: {{flavour: openai, base_url: "{base_url}", api_key_env: null}}
models:
  m: [{ROUTE}]
probes: {{interval_s: 0.5, suspect_interval_s: 0.2, timeout_s: 1, tiers: [{tiers}]}}
"""


async def _transitions(redis: Redis, keys: Keys) -> list[tuple[str, str]]:
    entries = await redis.xrange(keys.events)
    return [
        (f[b"from"].decode(), f[b"to"].decode())
        for _, f in entries
        if f[b"route"].decode() == ROUTE
    ]


async def _watch(provider_url: str, tiers: str, redis_url: str, keys: Keys) -> None:
    """Run a daemon against the provider for OBSERVE_S seconds."""
    started = time.monotonic()
    async with running_daemon(catalog_from(_catalog(provider_url, tiers)), redis_url, keys):

        async def window_over() -> bool:
            return time.monotonic() >= started + OBSERVE_S

        # The bound is on what happens in the whole window, so the wait is the window.
        await eventually(window_over, timeout_s=OBSERVE_S + 1, what="the observation window")


async def test_a_6ms_reset_hint_opens_for_a_growing_floor_not_6ms(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with loopback_provider(_always_rate_limited) as provider:
        await _watch(provider.base_url, "completion", redis_url, keys)
        moves = await _transitions(redis_client, keys)
        completions = provider.count("/chat/completions")
    print(f"{len(moves)} transitions, {completions} completions in {OBSERVE_S:g} s")
    assert moves[:3] == [("closed", "open"), ("open", "half_open"), ("half_open", "open")]
    assert len(moves) <= MAX_TRANSITIONS, moves
    assert completions <= MAX_COMPLETIONS, provider.paths


async def test_a_rate_limited_liveness_probe_holds_every_probe_of_the_provider(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with loopback_provider(_always_rate_limited) as provider:
        await _watch(provider.base_url, "liveness, completion", redis_url, keys)
        moves = await _transitions(redis_client, keys)
        listings = provider.count("/models")
        completions = provider.count("/chat/completions")
    print(f"{len(moves)} transitions, {listings} listings, {completions} completions")
    assert listings >= 1, "the provider was probed"
    # Each 429 holds the whole provider for the 1 s floor: at most one listing a second.
    assert listings <= OBSERVE_S + 1, provider.paths
    assert completions <= MAX_COMPLETIONS and len(moves) <= MAX_TRANSITIONS, provider.paths
