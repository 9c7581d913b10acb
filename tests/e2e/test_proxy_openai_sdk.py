"""The official `openai` SDK, sync and async, against `routeguard proxy` in front of
simulated providers of all three flavours: failover before the first byte, never
after it, streams that break end in an error the SDK raises, and bad requests
are 4xx in OpenAI's shape with nothing reported against any provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import openai
import pytest
from conftest import eventually

from routeguard.breaker import BreakerStore, Keys
from routeguard.config import Catalog
from routeguard.sim import SimProvider
from routeguard.sim.wire_common import ANSWER

from .daemon_helpers import catalog_from
from .proxy_helpers import SIM_KEY, SIM_KEY_ENV, RunningProxy, running_proxy

CALLER_KEY = "rg-caller-key-0001"
HELLO = [{"role": "user", "content": "Say hello"}]


@dataclass
class Stack:
    proxy: RunningProxy
    sims: dict[str, SimProvider]
    store: BreakerStore

    def client(self, key: str = CALLER_KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.proxy.base_url, api_key=key, max_retries=0)

    def async_client(self, key: str = CALLER_KEY) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.proxy.base_url, api_key=key, max_retries=0)


def _catalog(sims: dict[str, SimProvider]) -> Catalog:
    def provider(name: str) -> str:
        sim = sims[name]
        return f"  {name}: {{flavour: {sim.flavour}, base_url: {sim.base_url}, api_key_env: {SIM_KEY_ENV}}}"

    return catalog_from(
        "providers:\n"
        + "\n".join(provider(name) for name in sims)
        + """
models:
  chat: [oa/gpt-4o-mini, tg/gpt-4o-mini]
  haiku: [an/claude-haiku-4-5]
  flash: [ge/gemini-2.0-flash]
  claude-then-gpt: [an/claude-haiku-4-5, oa/gpt-4o-mini]
"""
    )


@pytest.fixture
async def stack(redis_url: str, keys: Keys) -> AsyncIterator[Stack]:
    sims = {
        "oa": SimProvider("oa", "openai", ("gpt-4o-mini",), SIM_KEY, "openai"),
        "tg": SimProvider("tg", "openai", ("gpt-4o-mini",), SIM_KEY, "together"),
        "an": SimProvider("an", "anthropic", ("claude-haiku-4-5",), SIM_KEY, "anthropic"),
        "ge": SimProvider("ge", "gemini", ("gemini-2.0-flash",), SIM_KEY, "gemini"),
    }
    for sim in sims.values():
        await sim.start()
    catalog = _catalog(sims)
    routes = {r.id: r.breaker for r in catalog.routes.values()}
    store = BreakerStore.from_url(redis_url, routes, keys=keys)
    try:
        async with running_proxy(
            catalog, redis_url, keys, api_keys=(CALLER_KEY,), first_byte_s=1.0, stream_idle_s=0.5
        ) as proxy:
            yield Stack(proxy, sims, store)
    finally:
        await store.aclose()
        for sim in sims.values():
            await sim.stop()


async def _reported_failures(stack: Stack, route: str) -> int:
    status = await stack.store.state(route)
    return status.window.failures


# -- answers ---------------------------------------------------------------------


async def test_a_sync_client_gets_an_answer_and_the_route_that_served_it(stack: Stack) -> None:
    raw = await asyncio.to_thread(
        stack.client().chat.completions.with_raw_response.create, model="chat", messages=HELLO
    )
    completion = raw.parse()
    assert completion.choices[0].message.content and ANSWER.startswith(
        completion.choices[0].message.content.split()[0]
    )
    assert completion.model == "chat"
    assert raw.headers["x-routeguard-route"] == "oa/gpt-4o-mini"
    assert raw.headers["x-routeguard-attempts"] == "oa/gpt-4o-mini=ok"


async def test_an_async_stream_arrives_chunk_by_chunk_and_ends_cleanly(stack: Stack) -> None:
    async with stack.async_client() as client:
        stream = await client.chat.completions.create(
            model="chat", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert ANSWER.startswith(text.strip()) and len(chunks) > 3
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


@pytest.mark.parametrize(("model", "sim"), [("haiku", "an"), ("flash", "ge")])
async def test_anthropic_and_gemini_answers_come_back_in_openais_shape(
    stack: Stack, model: str, sim: str
) -> None:
    async with stack.async_client() as client:
        whole = await client.chat.completions.create(model=model, messages=HELLO, max_tokens=8)
        stream = await client.chat.completions.create(
            model=model, messages=HELLO, max_tokens=8, stream=True
        )
        chunks = [chunk async for chunk in stream]
    content = whole.choices[0].message.content or ""
    assert content and ANSWER.startswith(content.strip())
    assert whole.usage is not None and whole.usage.completion_tokens > 0
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed.strip() == content.strip()
    assert stack.sims[sim].stats.total == 2


# -- failover before the first byte ---------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "outcome"),
    [
        ({"down": True}, "connect_error"),
        ({"error_rate": 1.0}, "server_error"),
        ({"latency_s": 3.0}, "timeout"),
    ],
)
async def test_a_failing_first_route_is_failed_over_and_reported(
    stack: Stack, faults: dict[str, object], outcome: str
) -> None:
    await stack.sims["oa"].set_faults(faults)
    raw = await asyncio.to_thread(
        stack.client().chat.completions.with_raw_response.create, model="chat", messages=HELLO
    )
    assert raw.headers["x-routeguard-route"] == "tg/gpt-4o-mini"
    assert raw.headers["x-routeguard-attempts"] == f"oa/gpt-4o-mini={outcome}; tg/gpt-4o-mini=ok"
    assert raw.parse().choices[0].message.content
    await _eventually_reported(stack, "oa/gpt-4o-mini")
    labels = {"provider": "oa", "model": "gpt-4o-mini"}
    registry = stack.proxy.registry
    failovers = registry.get_sample_value(
        "routeguard_failovers_total", labels | {"public_model": "chat"}
    )
    assert failovers == 1
    assert (
        registry.get_sample_value("routeguard_requests_total", labels | {"outcome": outcome}) == 1
    )


async def test_an_anthropic_529_fails_over_to_openai_in_a_stream(stack: Stack) -> None:
    await stack.sims["an"].set_faults({"error_rate": 1.0})  # Anthropic's overload: 529
    async with stack.async_client() as client:
        response = await client.chat.completions.with_raw_response.create(
            model="claude-then-gpt", messages=HELLO, stream=True
        )
        chunks = [chunk async for chunk in response.parse()]
    assert response.headers["x-routeguard-route"] == "oa/gpt-4o-mini"
    assert "an/claude-haiku-4-5=server_error" in response.headers["x-routeguard-attempts"]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


async def test_a_stream_whose_first_token_is_late_is_failed_over_unseen(stack: Stack) -> None:
    await stack.sims["oa"].set_faults({"ttft_s": 3.0})  # headers at once, then silence
    async with stack.async_client() as client:
        response = await client.chat.completions.with_raw_response.create(
            model="chat", messages=HELLO, stream=True
        )
        chunks = [chunk async for chunk in response.parse()]
    assert response.headers["x-routeguard-route"] == "tg/gpt-4o-mini"
    assert response.headers["x-routeguard-attempts"] == "oa/gpt-4o-mini=timeout"
    roles = [c.choices[0].delta.role for c in chunks if c.choices and c.choices[0].delta.role]
    assert roles == ["assistant"], "one answer, from one route"


async def _eventually_reported(stack: Stack, route: str) -> None:
    async def reported() -> bool:
        return await _reported_failures(stack, route) >= 1

    await eventually(reported, timeout_s=5.0, what=f"a failure of {route} in the breaker window")


# -- after the first byte: no retry, an error the SDK raises -----------------------


@pytest.mark.parametrize(
    "faults", [{"cut_stream": True}, {"stall_mid_stream_s": 3.0}, {"error_event_in_stream": True}]
)
async def test_a_stream_broken_after_its_first_byte_raises_and_is_not_retried(
    stack: Stack, faults: dict[str, object]
) -> None:
    await stack.sims["oa"].set_faults(faults)
    received: list[str] = []
    async with stack.async_client() as client:
        stream = await client.chat.completions.create(model="chat", messages=HELLO, stream=True)
        with pytest.raises(openai.APIError) as raised:
            async for chunk in stream:
                received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert "".join(received), "the stream had begun"
    assert "broke after it began" in str(raised.value)
    assert stack.sims["tg"].stats.total == 0, "no retry once the caller had a byte"
    await _eventually_reported(stack, "oa/gpt-4o-mini")


async def test_a_sync_stream_cut_mid_way_raises(stack: Stack) -> None:
    await stack.sims["oa"].set_faults({"cut_stream": True})

    def read() -> None:
        stream = stack.client().chat.completions.create(model="chat", messages=HELLO, stream=True)
        for _ in stream:
            pass

    with pytest.raises(openai.APIError):
        await asyncio.to_thread(read)


# -- bad requests: 4xx in OpenAI's shape, nothing sent, nothing reported --------------


async def test_a_wrong_caller_key_is_401_and_reaches_no_provider(stack: Stack) -> None:
    with pytest.raises(openai.AuthenticationError) as raised:
        await asyncio.to_thread(
            stack.client("not-the-key").chat.completions.create, model="chat", messages=HELLO
        )
    assert raised.value.code == "invalid_api_key"
    assert "not-the-key" not in str(raised.value)
    assert sum(sim.stats.total for sim in stack.sims.values()) == 0


async def test_an_unknown_model_is_404_model_not_found(stack: Stack) -> None:
    async with stack.async_client() as client:
        with pytest.raises(openai.NotFoundError) as raised:
            await client.chat.completions.create(model="no-such-model", messages=HELLO)
    assert raised.value.code == "model_not_found"
    assert sum(sim.stats.total for sim in stack.sims.values()) == 0


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"model": "chat"}', b'{"model": "chat", "messages": [], "n": 3}'],
)
async def test_a_malformed_body_is_400_in_openais_shape_and_nothing_is_reported(
    stack: Stack, body: bytes
) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            stack.proxy.base_url + "/chat/completions",
            content=body,
            headers={"authorization": f"Bearer {CALLER_KEY}", "content-type": "application/json"},
        )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert sum(sim.stats.total for sim in stack.sims.values()) == 0
    for route in ("oa/gpt-4o-mini", "tg/gpt-4o-mini"):
        assert (await stack.store.state(route)).window.calls == 0


async def test_every_route_rate_limited_is_429_with_the_soonest_retry_after(stack: Stack) -> None:
    await stack.sims["oa"].set_faults({"rate_limit": 1.0, "retry_after_s": 9})
    await stack.sims["tg"].set_faults({"rate_limit": 1.0, "retry_after_s": 4})
    async with stack.async_client() as client:
        with pytest.raises(openai.RateLimitError) as raised:
            await client.chat.completions.create(model="chat", messages=HELLO)
    assert raised.value.response.headers["retry-after"] == "4"


async def test_models_lists_the_catalogs_public_models(stack: Stack) -> None:
    async with stack.async_client() as client:
        listed = [m.id async for m in client.models.list()]
    assert listed == ["chat", "haiku", "flash", "claude-then-gpt"]


# -- OpenRouter's routing fields ------------------------------------------------------


async def test_provider_order_puts_a_provider_first(stack: Stack) -> None:
    async with stack.async_client() as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="chat", messages=HELLO, extra_body={"provider": {"order": ["tg"]}}
        )
    assert raw.headers["x-routeguard-route"] == "tg/gpt-4o-mini"
    assert stack.sims["oa"].stats.total == 0


async def test_a_fallback_model_serves_when_only_its_provider_is_allowed(stack: Stack) -> None:
    async with stack.async_client() as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="chat",
            messages=HELLO,
            extra_body={"models": ["haiku"], "provider": {"only": ["an"]}},
        )
    completion = raw.parse()
    assert raw.headers["x-routeguard-route"] == "an/claude-haiku-4-5"
    assert completion.model == "haiku"
    skipped = raw.headers["x-routeguard-skipped"]
    assert "oa/gpt-4o-mini=" in skipped and "tg/gpt-4o-mini=" in skipped


async def test_an_unknown_provider_preference_is_a_400_naming_it(stack: Stack) -> None:
    async with stack.async_client() as client:
        with pytest.raises(openai.BadRequestError) as raised:
            await client.chat.completions.create(
                model="chat", messages=HELLO, extra_body={"provider": {"quantizations": ["int8"]}}
            )
    assert raised.value.param == "provider.quantizations"
    assert sum(sim.stats.total for sim in stack.sims.values()) == 0
