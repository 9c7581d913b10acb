"""One attempt at one route: send, judge, and (when it went well) answer the caller.

Before the first byte reached the caller an attempt can still fail quietly and
the next route is tried; after it, a failure ends the caller's stream with an
error event. Either way the attempt is judged by the probes' codec and reported
to the breaker with its latency and TTFT.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from aiohttp import web

from routeguard.client.chat import (
    ChatAnswer,
    ChatRoute,
    completion_id,
    read_body,
)
from routeguard.providers import SSEEvent, StreamResult, read_stream
from routeguard.proxy.caller import CallerStream
from routeguard.proxy.request import ChatCall


@dataclass(frozen=True)
class Timeouts:
    first_byte_s: float
    """Until the answer begins (non-streamed: until it is whole): then the next route."""
    stream_idle_s: float
    """A started stream with no new output this long is ended as a timeout."""


@dataclass(frozen=True)
class Attempted(ChatAnswer):
    """How one attempt went; `completion` is a good non-streamed answer not yet sent."""

    streamed: web.StreamResponse | None = None
    """The caller's stream, when this attempt answered it (well or with an error event)."""
    upstream_status: int | None = None


class Forwarder:
    """Sends attempts with shared HTTP clients, taken in turn.

    Several clients rather than one: httpcore checks every pooled connection of a
    client on every request, so one pool of hundreds of kept-alive connections
    costs more CPU than the calls themselves (bench/proxy.py); shards keep each
    pool small while every connection is still reused.
    """

    def __init__(
        self,
        http: httpx.AsyncClient | Sequence[httpx.AsyncClient],
        timeouts: Timeouts,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = [http] if isinstance(http, httpx.AsyncClient) else list(http)
        self._turn = itertools.cycle(self._clients)
        self._timeouts = timeouts
        self._clock = clock

    def _next_client(self) -> httpx.AsyncClient:
        return next(self._turn)

    async def whole(self, target: ChatRoute, call: ChatCall, public_model: str) -> Attempted:
        """A non-streamed attempt; a good answer is in `Attempted.completion`, not yet sent."""
        started = self._clock()
        route = target.route.id
        try:
            async with asyncio.timeout(self._timeouts.first_byte_s):
                status, headers, body = await self._exchange(target, call)
        except (httpx.HTTPError, TimeoutError) as exc:
            return Attempted(route, target.failure(exc), self._clock() - started)
        classified = target.classify(status, headers, body)
        latency = self._clock() - started
        if not classified.ok:
            return Attempted(route, classified, latency, upstream_status=status)
        completion = target.completion(body, model=public_model, completion_id=completion_id())
        return Attempted(route, classified, latency, completion=completion)

    async def _exchange(self, target: ChatRoute, call: ChatCall) -> tuple[int, Any, bytes]:
        request = target.request(call.chat)
        http = self._next_client()
        response = await http.send(request.build(http), stream=True)
        try:
            return response.status_code, response.headers, await read_body(response)
        finally:
            await response.aclose()

    async def streamed(
        self, target: ChatRoute, call: ChatCall, public_model: str, caller: CallerStream
    ) -> Attempted:
        """A streamed attempt, relayed to `caller` chunk by chunk once output exists."""
        started = self._clock()
        route = target.route.id
        relay = _Relay(target, call, public_model, caller, self._timeouts)
        try:
            async with asyncio.timeout(self._timeouts.first_byte_s) as deadline:
                relay.deadline = deadline
                result = await self._stream(target, call, relay, started)
        except (httpx.HTTPError, TimeoutError) as exc:
            classified = target.failure(exc)
            if caller.started:  # a stall mid-stream: the caller hears of it
                answer = await caller.fail(classified, route)
                return Attempted(route, classified, self._clock() - started, streamed=answer)
            return Attempted(route, classified, self._clock() - started)
        return await relay.settle(result, self._clock() - started)

    async def _stream(
        self, target: ChatRoute, call: ChatCall, relay: _Relay, started: float
    ) -> StreamResult | Attempted:
        request = target.request(call.chat)
        http = self._next_client()
        response = await http.send(request.build(http), stream=True)
        try:
            if not response.is_success:
                body = await read_body(response)
                classified = target.classify(response.status_code, response.headers, body)
                latency, status = self._clock() - started, response.status_code
                return Attempted(target.route.id, classified, latency, upstream_status=status)
            interpreter = target.interpreter(started)
            return await read_stream(
                response, interpreter, clock=self._clock, on_event=relay.forward
            )
        finally:
            await response.aclose()


class _Relay:
    """Translates a stream's events and writes them to the caller, holding the first
    ones back until there is content (so a failure before it can still fail over)."""

    def __init__(
        self,
        target: ChatRoute,
        call: ChatCall,
        public_model: str,
        caller: CallerStream,
        timeouts: Timeouts,
    ) -> None:
        self._target = target
        self._caller = caller
        self._timeouts = timeouts
        self._chunks = target.chunks(
            model=public_model, completion_id=completion_id(), include_usage=call.include_usage
        )
        self.deadline: asyncio.Timeout | None = None
        self._held: list[dict[str, Any]] = []

    async def forward(self, event: SSEEvent) -> None:
        self._held += self._chunks.feed(event)
        if not any(_carries_output(chunk) for chunk in self._held):
            return  # a role chunk alone is no answer yet: the route may still be failed over
        chunks, self._held = self._held, []
        await self._caller.send(chunks)
        if self.deadline is not None:  # output came: the idle clock starts again
            loop = asyncio.get_running_loop()
            self.deadline.reschedule(loop.time() + self._timeouts.stream_idle_s)

    async def settle(self, result: StreamResult | Attempted, latency_s: float) -> Attempted:
        route = self._target.route.id
        if isinstance(result, Attempted):
            return result
        classified = self._target.masked(result.classified)
        if result.ok:
            answer = await self._caller.done(self._held + self._chunks.finish())
            return Attempted(route, classified, latency_s, result.ttft_s, streamed=answer)
        if self._caller.started:
            answer = await self._caller.fail(classified, route)
            return Attempted(route, classified, latency_s, result.ttft_s, streamed=answer)
        return Attempted(route, classified, latency_s, result.ttft_s)


def _carries_output(chunk: dict[str, Any]) -> bool:
    """Content, or the end of the answer: what the caller must have now."""
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or choice.get("finish_reason"):
            return True
    return False
