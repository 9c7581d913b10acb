"""The probe runner over httpx.MockTransport: no sockets, every failure classified."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from prometheus_client import CollectorRegistry

from routeguard.outcomes import Outcome
from routeguard.probes import ProbeMetrics, ProbeRunner, ProbeTarget
from routeguard.providers import OPENAI, Endpoint
from routeguard.tiers import ProbeTier

EP = Endpoint("acme", "http://sim.invalid/v1", {"authorization": "Bearer k"}, vendor="openai")


def target(tier: str, model: str | None = "gpt-4o-mini", timeout_s: float = 2.0) -> ProbeTarget:
    return ProbeTarget(EP, OPENAI, ProbeTier(tier), model, timeout_s)


def runner(handler: object, registry: CollectorRegistry | None = None) -> ProbeRunner:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    metrics = ProbeMetrics(registry) if registry is not None else None
    return ProbeRunner(client, metrics=metrics)


def completion_body() -> dict[str, object]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "p"},
                "finish_reason": "length",
            }
        ],
        "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9},
    }


async def test_a_healthy_completion_is_ok_and_counts_its_tokens() -> None:
    registry = CollectorRegistry()
    result = await runner(lambda r: httpx.Response(200, json=completion_body()), registry).run(
        target("completion")
    )
    assert result.outcome is Outcome.OK
    labels = {"provider": "acme", "model": "gpt-4o-mini", "tier": "completion", "outcome": "ok"}
    assert registry.get_sample_value("routeguard_probes_total", labels) == 1
    tokens = {"provider": "acme", "model": "gpt-4o-mini", "direction": "input"}
    assert registry.get_sample_value("routeguard_probe_tokens_total", tokens) == 8


async def test_a_stream_reports_ttft_and_its_terminator() -> None:
    def chunk(content: str) -> bytes:
        delta = {"choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}]}
        return f"data: {json.dumps(delta)}\n\n".encode()

    body = b": keep-alive\n\n" + chunk("hi") + chunk(" there") + b"data: [DONE]\n\n"
    result = await runner(lambda r: httpx.Response(200, content=body)).run(target("stream"))
    assert result.outcome is Outcome.OK
    assert result.ttft_s is not None and result.tokens_out == 2


async def test_a_stream_cut_before_its_terminator_is_a_bad_response() -> None:
    body = b'data: {"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n'
    result = await runner(lambda r: httpx.Response(200, content=body)).run(target("stream"))
    assert result.outcome is Outcome.BAD_RESPONSE


async def test_a_refused_connection_is_a_connect_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    result = await runner(refuse).run(target("liveness", model=None))
    assert result.outcome is Outcome.CONNECT_ERROR


async def test_an_answer_slower_than_the_probe_timeout_is_a_timeout_within_the_deadline() -> None:
    async def stall(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    result = await runner(stall).run(target("completion", timeout_s=0.2))
    assert result.outcome is Outcome.TIMEOUT
    assert result.duration_s < 5


async def test_a_fifty_megabyte_body_is_a_bad_response_not_a_stall() -> None:
    huge = b"[" + b"0," * (25 * 1024 * 1024) + b"0]"
    result = await runner(lambda r: httpx.Response(200, content=huge)).run(target("liveness", None))
    assert (result.outcome, result.classified.error_type) == (
        Outcome.BAD_RESPONSE,
        "body_too_large",
    )


async def test_garbage_with_a_200_is_a_bad_response() -> None:
    result = await runner(lambda r: httpx.Response(200, content=b"\x00\xffnot json")).run(
        target("completion")
    )
    assert result.outcome is Outcome.BAD_RESPONSE


async def test_our_own_bug_is_never_blamed_on_the_provider() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a bug in routeguard")

    result = await runner(broken).run(target("completion"))
    assert result.outcome is Outcome.CLIENT_ERROR


async def test_cancellation_propagates() -> None:
    asked = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        asked.set()
        await asyncio.sleep(30)  # an answer that never comes in time: only a cancel ends it
        return httpx.Response(200)

    task = asyncio.ensure_future(runner(slow).run(target("completion", timeout_s=10)))
    async with asyncio.timeout(5):
        await asked.wait()  # the probe is in flight
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_each_probe_is_one_span_with_the_genai_attributes() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(529)))
    probe = ProbeRunner(client, tracer=provider.get_tracer("test"))
    await probe.run(target("completion"))
    [span] = exporter.get_finished_spans()
    assert span.name == "chat gpt-4o-mini"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["server.address"] == "sim.invalid"
    assert attrs["error.type"]
    assert "Bearer" not in str(attrs)
