"""Runs one probe: deadline, timing, classification of failures, metrics, a span.

`ProbeRunner.run` never raises (cancellation aside): whatever happens becomes a
classified `ProbeResult`, so a misbehaving provider can never crash or stall the
scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from routeguard.metric_names import PROVIDER_LEVEL
from routeguard.outcomes import Outcome
from routeguard.probes.base import ProbeResult, ProbeTarget
from routeguard.probes.clients import ProviderClients
from routeguard.probes.http import HttpxProbeClient, ProbeClient
from routeguard.probes.metrics import ProbeMetrics
from routeguard.probes.tiers import PROBES, TierAnswer
from routeguard.providers import Classified, Endpoint, classify_exception
from routeguard.providers.classify import without_secrets
from routeguard.tiers import ProbeTier

log = logging.getLogger(__name__)

OPERATIONS = {
    ProbeTier.LIVENESS: "list_models",
    ProbeTier.COMPLETION: "chat",
    ProbeTier.STREAM: "chat",
}
"""OTel GenAI `gen_ai.operation.name` of each tier."""


class ProbeRunner:
    """Sends probes and reports them to metrics and traces.

    `client` is one httpx client for every provider (tests: its MockTransport), or
    a `ProviderClients` (the daemon's: an aiohttp pool per provider).
    """

    def __init__(
        self,
        client: httpx.AsyncClient | ProviderClients,
        *,
        metrics: ProbeMetrics | None = None,
        tracer: Tracer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(client, httpx.AsyncClient):
            one = HttpxProbeClient(client)
            self._client_for: Callable[[Endpoint], ProbeClient] = lambda _endpoint: one
        else:
            self._client_for = client
        self._metrics = metrics
        self._tracer = tracer
        self._clock = clock

    async def run(self, target: ProbeTarget) -> ProbeResult:
        """Probe once; always a result, within `target.timeout_s`.

        Without a tracer there is no span at all: OTel's no-op tracer still costs a
        context switch a probe (3% of the daemon's CPU samples at 10,000 routes).
        """
        if self._tracer is None:
            result = await self._measure(target)
        else:
            result = await self._traced(self._tracer, target)
        self._observe(result)
        return result

    async def _traced(self, tracer: Tracer, target: ProbeTarget) -> ProbeResult:
        operation = OPERATIONS[target.tier]
        name = f"{operation} {target.model}" if target.model else operation
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT) as span:
            result = await self._measure(target)
            _annotate(span, target, operation, result)
        return result

    async def _measure(self, target: ProbeTarget) -> ProbeResult:
        started_at, started = time.time(), self._clock()
        answer = await self._answer(target)
        stream = answer.stream
        return ProbeResult(
            target=target,
            classified=without_secrets(answer.classified, target.endpoint.secrets),
            started_at=started_at,
            duration_s=self._clock() - started,
            ttft_s=stream.ttft_s if stream else None,
            tokens_out=stream.tokens_out if stream else (answer.classified.output_tokens or 0),
            generation_s=stream.generation_s if stream else None,
        )

    async def _answer(self, target: ProbeTarget) -> TierAnswer:
        client = self._client_for(target.endpoint)
        try:
            async with asyncio.timeout(target.timeout_s):
                return await PROBES[target.tier](client, target, self._clock)
        except TimeoutError:
            detail = f"no complete answer within the probe timeout ({target.timeout_s:g} s)"
            return TierAnswer(Classified(Outcome.TIMEOUT, None, None, "timeout", detail))
        except httpx.HTTPError as exc:
            return TierAnswer(classify_exception(exc))
        except Exception as exc:  # our own bug: log it, never blame the provider
            log.exception("probe of %s failed inside routeguard", target.endpoint.provider)
            return TierAnswer(Classified(Outcome.CLIENT_ERROR, None, None, type(exc).__name__))

    def _observe(self, result: ProbeResult) -> None:
        if self._metrics is None:
            return
        t = result.target
        model = t.model or PROVIDER_LEVEL
        provider = t.endpoint.provider
        self._metrics.probes.inc((provider, model, t.tier.value, result.outcome.value))
        self._metrics.duration.observe((provider, model, t.tier.value), result.duration_s)
        if result.ttft_s is not None:
            self._metrics.ttft.observe((provider, model), result.ttft_s)
        c = result.classified
        for direction, tokens in (("input", c.input_tokens), ("output", c.output_tokens)):
            if tokens:
                self._metrics.tokens.inc((provider, model, direction), tokens)


def _annotate(span: trace.Span, target: ProbeTarget, operation: str, result: ProbeResult) -> None:
    host, port = target.server
    span.set_attribute("gen_ai.operation.name", operation)
    span.set_attribute("gen_ai.provider.name", target.genai_provider)
    if target.model:
        span.set_attribute("gen_ai.request.model", target.model)
    span.set_attribute("server.address", host)
    span.set_attribute("server.port", port)
    span.set_attribute("routeguard.probe.tier", target.tier.value)
    span.set_attribute("routeguard.outcome", result.outcome.value)
    c = result.classified
    if c.input_tokens is not None:
        span.set_attribute("gen_ai.usage.input_tokens", c.input_tokens)
    if c.output_tokens is not None:
        span.set_attribute("gen_ai.usage.output_tokens", c.output_tokens)
    if result.ttft_s is not None:
        span.set_attribute("gen_ai.response.time_to_first_chunk", result.ttft_s)
    if not c.ok:
        span.set_attribute("error.type", c.error_type or result.outcome.value)
        span.set_status(Status(StatusCode.ERROR, c.detail[:200]))
