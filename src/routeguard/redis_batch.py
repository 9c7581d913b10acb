"""Commands issued close together go to Redis as one pipeline.

A command sent alone costs its caller about 150 µs of CPU (redis-py's
connection checkout, the socket round trip, the parse); in a pipeline of eight,
about 40 µs each. The probe engine sends three a probe (lease, probe log,
breaker), one probe every few milliseconds at 10,000 routes, so the daemon
batches them: the first command of a batch waits at most `window_s` for
others, then all of them leave in one pipeline (`max_batch` sends at once).
Each caller gets its own reply or its own error, as if it had sent alone;
a lost connection fails every command of the batch, and so does Redis taking
longer than `deadline_s` over the batch (redis-py's `TimeoutError`). Give it a
client without a socket timeout: one deadline a batch, not a timer a reply
(those timers were 6% of the daemon's CPU samples). On a Redis Cluster each
command goes alone (redis-py 6 refuses scripts in a cluster pipeline), within
the same deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from redis.asyncio import Redis, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

WINDOW_S = 0.005
MAX_BATCH = 64
DEADLINE_S = 5.0

Queue = Callable[[Any], object]
"""Puts one command on a pipeline (e.g. `lambda pipe: pipe.set(...)`); on a Cluster it
is given the client instead, and what it returns is awaited."""


class RedisBatcher:
    """Sends the commands given to it in pipelines of those that arrive together."""

    def __init__(
        self,
        redis: Redis,
        *,
        window_s: float = WINDOW_S,
        max_batch: int = MAX_BATCH,
        deadline_s: float = DEADLINE_S,
    ) -> None:
        self.redis = redis
        self._one_by_one = isinstance(redis, RedisCluster)
        self._window_s = window_s
        self._deadline_s = deadline_s
        self._max_batch = max_batch
        self._pending: list[tuple[Queue, asyncio.Future[Any]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self.pipelines = 0
        self.commands = 0

    async def call(self, queue: Queue) -> Any:
        """The reply of the command `queue` puts on a pipeline."""
        if self._one_by_one:
            return await self._alone(queue)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((queue, future))
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window_s, self._flush)
        return await future

    async def _alone(self, queue: Queue) -> Any:
        """A Cluster's command, sent by itself (redis-py 6 refuses EVALSHA in a cluster
        pipeline), within the same deadline."""
        try:
            async with asyncio.timeout(self._deadline_s):
                return await cast("Awaitable[Any]", queue(self.redis))
        except TimeoutError:
            raise self._late("a command") from None

    async def script(self, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run a registered script (loaded again if the server lost it)."""
        words = (*keys, *args)
        try:
            return await self.call(lambda pipe: pipe.evalsha(script.sha, len(keys), *words))
        except NoScriptError:
            script.sha = await self.redis.script_load(script.script)
            return await self.call(lambda pipe: pipe.evalsha(script.sha, len(keys), *words))

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[Queue, asyncio.Future[Any]]]) -> None:
        self.pipelines += 1
        self.commands += len(batch)
        try:
            pipe = self.redis.pipeline(transaction=False)
            for queue, _ in batch:
                queue(pipe)
            async with asyncio.timeout(self._deadline_s):
                replies = await pipe.execute(raise_on_error=False)
        except TimeoutError:
            self._fail(batch, self._late("a pipeline"))
            return
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # the connection, or a command refused: every caller's
            self._fail(batch, exc)
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue  # its caller gave up
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def _late(self, what: str) -> RedisTimeoutError:
        return RedisTimeoutError(f"Redis took over {self._deadline_s:g} s for {what}")

    @staticmethod
    def _fail(batch: list[tuple[Queue, asyncio.Future[Any]]], exc: Exception) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(exc)

    async def aclose(self) -> None:
        """Send what is waiting, and wait for every batch on its way."""
        self._flush()
        if self._sending:
            await asyncio.wait(set(self._sending))
