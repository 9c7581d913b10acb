"""Fixtures of the chaos suite: real processes (a private redis-server) that tests kill."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ha.topology import RedisProcess, free_port, require_binaries


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A redis-server of this test's own on a free loopback port; stopped whatever happens."""
    server, _ = require_binaries()
    process = RedisProcess(server, free_port(), tmp_path / "redis")
    process.start()
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


async def until(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll a (sync) `condition` until it holds; seconds taken; fails after `timeout_s`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def url_of(process: RedisProcess) -> str:
    return f"redis://127.0.0.1:{process.port}/0"
