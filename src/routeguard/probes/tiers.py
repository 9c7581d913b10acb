"""The three probe tiers, one function each with one signature (blackbox_exporter's habit).

Each sends its request, reads the answer within the body limit and classifies
it. Timeouts and cancellation propagate: the runner owns the deadline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from routeguard.outcomes import Outcome
from routeguard.probes.base import MAX_BODY_BYTES, ProbeTarget
from routeguard.providers import Classified, ProbeRequest, StreamResult
from routeguard.providers.sse import read_stream

ERROR_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class TierAnswer:
    """A tier's finding before the runner adds timing and metrics."""

    classified: Classified
    stream: StreamResult | None = None


Clock = Callable[[], float]
TierProbe = Callable[[httpx.AsyncClient, ProbeTarget, Clock], Awaitable[TierAnswer]]


async def _read_capped(response: httpx.Response, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (reading stops there)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


async def _send_and_classify(
    client: httpx.AsyncClient, target: ProbeTarget, request: ProbeRequest
) -> TierAnswer:
    response = await client.send(request.build(client), stream=True)
    try:
        limit = MAX_BODY_BYTES if response.is_success else ERROR_BODY_BYTES
        body = await _read_capped(response, limit)
    finally:
        await response.aclose()
    if body is None:
        detail = f"body larger than {limit // (1024 * 1024) or 1} MiB"
        return TierAnswer(
            Classified(Outcome.BAD_RESPONSE, response.status_code, None, "body_too_large", detail)
            if response.is_success
            else target.flavour.classify_response(
                response.status_code,
                response.headers,
                b"",
                tier=target.tier,
                vendor=target.endpoint.vendor,
            )
        )
    classified = target.flavour.classify_response(
        response.status_code,
        response.headers,
        body,
        tier=target.tier,
        vendor=target.endpoint.vendor,
    )
    return TierAnswer(classified)


async def probe_liveness(
    client: httpx.AsyncClient, target: ProbeTarget, clock: Clock
) -> TierAnswer:
    """List models: proves the API answers and the key works, spends no tokens."""
    return await _send_and_classify(
        client, target, target.flavour.liveness_request(target.endpoint)
    )


async def probe_completion(
    client: httpx.AsyncClient, target: ProbeTarget, clock: Clock
) -> TierAnswer:
    """One tiny real completion of the route's model."""
    request = target.flavour.completion_request(target.endpoint, target.model or "")
    return await _send_and_classify(client, target, request)


async def probe_stream(client: httpx.AsyncClient, target: ProbeTarget, clock: Clock) -> TierAnswer:
    """A streamed completion: TTFT, tokens/s, and the stream's terminator."""
    request = target.flavour.stream_request(target.endpoint, target.model or "")
    started = clock()
    response = await client.send(request.build(client), stream=True)
    try:
        if not response.is_success:
            body = await _read_capped(response, ERROR_BODY_BYTES) or b""
            classified = target.flavour.classify_response(
                response.status_code,
                response.headers,
                body,
                tier=target.tier,
                vendor=target.endpoint.vendor,
            )
            return TierAnswer(classified)
        interpreter = target.flavour.new_stream_interpreter(
            vendor=target.endpoint.vendor, started_s=started
        )
        result = await read_stream(response, interpreter, clock=clock)
    finally:
        await response.aclose()
    return TierAnswer(result.classified, result)


PROBES: dict[str, TierProbe] = {
    "liveness": probe_liveness,
    "completion": probe_completion,
    "stream": probe_stream,
}
"""Tier name -> probe function. Adding a tier is one function and one entry."""
