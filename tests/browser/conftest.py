"""Fixtures of the browser tests: the system's Chromium driven by Playwright (sync API),
and daemons (with simulated providers) running on an asyncio loop in a thread beside it.

The browser is Debian's `chromium` (.ci/run installs it); nothing downloads one. Without
it, or without Playwright, these tests skip, and .ci/run fails a CI run with a skip.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
import redis

from routeguard.breaker import Keys

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.redis)


class ServiceLoop:
    """An asyncio loop in its own thread: daemons and simulators live there while the
    test (synchronous, as Playwright's sync API must be) drives the browser."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="services", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def services() -> Iterator[ServiceLoop]:
    loop = ServiceLoop()
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module (the system's: `chromium` on PATH)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian `chromium` is not installed (.ci/run installs it): no browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def forget_keys(redis_url: str, keys: Keys) -> Iterator[Keys]:
    """The test's key prefix; its keys (only those) are deleted afterwards."""
    yield keys
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{keys.tag}*", count=500):
        client.delete(key)
    client.close()
