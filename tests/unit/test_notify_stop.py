"""Shutdown never hangs on a notifier loop that does not finish cancelling.

Under redis-py 8.1 a task blocked in XREADGROUP swallowed its cancellation and
`Dispatcher.stop()` waited for ever; stop() now gives the loops STOP_GRACE_S.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.config.notify import NotifyConfig
from routeguard.notify import dispatcher as dispatcher_module
from routeguard.notify.dispatcher import Dispatcher


async def stubborn(release: asyncio.Event) -> None:
    """A loop that ignores cancellation until `release` is set."""
    while not release.is_set():
        try:
            await release.wait()
        except asyncio.CancelledError:
            continue


async def test_stop_gives_up_on_a_loop_that_ignores_cancellation(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dispatcher_module, "STOP_GRACE_S", 0.2)
    redis = Redis.from_url("redis://127.0.0.1:1/0")  # never used: nothing connects
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(redis, Keys(prefix="rgtest-stop"), NotifyConfig(), http)
        release = asyncio.Event()
        task = asyncio.create_task(stubborn(release), name="notify-events")
        dispatcher._tasks = [task]
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="routeguard.notify.dispatcher"):
            stopping = asyncio.create_task(dispatcher.stop())
            done, _ = await asyncio.wait({stopping}, timeout=5)
        if not done:
            release.set()  # let the hung stop() finish before failing
            await stopping
        assert done, "stop() hung on a loop that ignores cancellation"
        assert time.monotonic() - started < 2
        assert not task.done(), "stop() returned while the stubborn loop still runs"
        assert not dispatcher.running
        assert "notify-events did not stop" in caplog.text
        release.set()
        await task
    await redis.aclose()
