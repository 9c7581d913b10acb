"""The three probe tiers, one function each with one signature (blackbox_exporter's habit).

Each sends its request, reads the answer within the body limit and classifies
it. Timeouts and cancellation propagate: the runner owns the deadline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from routeguard.outcomes import Outcome
from routeguard.probes.base import MAX_BODY_BYTES, ProbeTarget
from routeguard.probes.http import ProbeClient, ProbeResponse
from routeguard.providers import Classified, ProbeRequest, StreamResult
from routeguard.providers.sse import read_stream
from routeguard.tiers import ProbeTier

ERROR_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class TierAnswer:
    """A tier's finding before the runner adds timing and metrics."""

    classified: Classified
    stream: StreamResult | None = None


Clock = Callable[[], float]
TierProbe = Callable[[ProbeClient, ProbeTarget, Clock], Awaitable[TierAnswer]]


async def _read_capped(response: ProbeResponse, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (reading stops there)."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


async def _classify_body(target: ProbeTarget, response: ProbeResponse) -> Classified:
    """Read a whole answer (an error's within its smaller limit) and classify it."""
    limit = MAX_BODY_BYTES if response.is_success else ERROR_BODY_BYTES
    body = await _read_capped(response, limit)
    if body is None and response.is_success:
        detail = f"body larger than {limit // (1024 * 1024)} MiB"
        return Classified(
            Outcome.BAD_RESPONSE, response.status_code, None, "body_too_large", detail
        )
    return target.codec.classify_response(
        target.endpoint, response.status_code, response.headers, body or b"", tier=target.tier
    )


async def _send_and_classify(
    client: ProbeClient, target: ProbeTarget, request: ProbeRequest
) -> TierAnswer:
    response = await client.send(request)
    try:
        return TierAnswer(await _classify_body(target, response))
    finally:
        await response.aclose()


async def probe_liveness(client: ProbeClient, target: ProbeTarget, clock: Clock) -> TierAnswer:
    """List models: proves the API answers and the key works, spends no tokens."""
    return await _send_and_classify(client, target, target.codec.liveness_request(target.endpoint))


async def probe_completion(client: ProbeClient, target: ProbeTarget, clock: Clock) -> TierAnswer:
    """One tiny real completion of the route's model."""
    request = target.codec.completion_request(target.endpoint, target.model or "")
    return await _send_and_classify(client, target, request)


async def probe_stream(client: ProbeClient, target: ProbeTarget, clock: Clock) -> TierAnswer:
    """A streamed completion: TTFT, tokens/s, and the stream's terminator."""
    request = target.codec.stream_request(target.endpoint, target.model or "")
    started = clock()
    response = await client.send(request)
    try:
        if not response.is_success:
            return TierAnswer(await _classify_body(target, response))
        interpreter = target.codec.new_stream_interpreter(target.endpoint, started_s=started)
        result = await read_stream(response, interpreter, clock=clock)
    finally:
        await response.aclose()
    return TierAnswer(result.classified, result)


PROBES: Mapping[ProbeTier, TierProbe] = MappingProxyType(
    {
        ProbeTier.LIVENESS: probe_liveness,
        ProbeTier.COMPLETION: probe_completion,
        ProbeTier.STREAM: probe_stream,
    }
)
"""Each tier's probe function. Adding a tier is one function and one entry."""
