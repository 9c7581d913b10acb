"""Every endpoint of every simulated flavour, over real HTTP on 127.0.0.1, when healthy."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from routeguard.sim import SimCluster, SimProvider

OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY = "sk-sim-openai", "sk-ant-sim", "AIza-sim"
OA = {"authorization": f"Bearer {OPENAI_KEY}"}
AN = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
GE = {"x-goog-api-key": GEMINI_KEY}
PING = [{"role": "user", "content": "ping"}]
CONTENTS = [{"role": "user", "parts": [{"text": "ping"}]}]


def providers() -> list[SimProvider]:
    return [
        SimProvider("openai-sim", "openai", ["gpt-4o-mini", "o3-mini"], OPENAI_KEY, "openai"),
        SimProvider("together-sim", "openai", ["meta-llama/Llama-3-8b"], OPENAI_KEY, "together"),
        SimProvider("openrouter-sim", "openai", ["openai/gpt-4o"], OPENAI_KEY, "openrouter"),
        SimProvider("deepseek-sim", "openai", ["deepseek-chat"], OPENAI_KEY, "deepseek"),
        SimProvider(
            "claude-sim", "anthropic", ["claude-haiku-4-5", "claude-sonnet-4-5"], ANTHROPIC_KEY
        ),
        SimProvider("gemini-sim", "gemini", ["gemini-2.5-flash", "gemini-2.0-flash"], GEMINI_KEY),
    ]


@pytest.fixture
async def sim() -> AsyncIterator[SimCluster]:
    async with SimCluster(providers(), admin=False, seed=1) as cluster:
        yield cluster


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield http


def sse_events(text: str) -> list[dict[str, str]]:
    """Events of an SSE body: each a dict of its fields (comments under ':')."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")
        out.append(event)
    return out


def data(text: str) -> list[Any]:
    return [
        json.loads(e["data"]) for e in sse_events(text) if "data" in e and e["data"] != "[DONE]"
    ]


async def test_openai_lists_models_with_rate_limit_headers(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    r = await client.get(sim["openai-sim"].base_url + "/models", headers=OA)
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["data"]] == ["gpt-4o-mini", "o3-mini"]
    assert r.json()["object"] == "list"
    assert r.headers["x-ratelimit-remaining-requests"] == "9999"
    assert r.headers["x-ratelimit-reset-requests"].endswith("s")
    assert r.headers["x-request-id"].startswith("req_")


async def test_openai_chat_completion(sim: SimCluster, client: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4o-mini", "messages": PING, "max_tokens": 1}
    r = await client.post(sim["openai-sim"].base_url + "/chat/completions", headers=OA, json=body)
    doc = r.json()
    assert r.status_code == 200 and doc["object"] == "chat.completion"
    assert doc["choices"][0]["message"]["content"] == "Pong!"
    assert doc["choices"][0]["finish_reason"] == "length"
    assert doc["usage"]["completion_tokens"] == 1 and doc["usage"]["prompt_tokens"] > 0


async def test_openai_stream_has_usage_chunk_and_done(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": PING,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    r = await client.post(sim["openai-sim"].base_url + "/chat/completions", headers=OA, json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert sse_events(r.text)[-1] == {"data": "[DONE]"}
    chunks = data(r.text)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
    assert text.startswith("Pong!") and chunks[-2]["choices"][0]["finish_reason"] == "stop"


async def test_reasoning_models_take_max_completion_tokens_only(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    url = sim["openai-sim"].base_url + "/chat/completions"
    bad = await client.post(
        url, headers=OA, json={"model": "o3-mini", "messages": PING, "max_tokens": 1}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unsupported_parameter"
    good = await client.post(
        url, headers=OA, json={"model": "o3-mini", "messages": PING, "max_completion_tokens": 4}
    )
    assert good.status_code == 200


async def test_openai_refuses_bad_keys_unknown_models_and_paths(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    base = sim["openai-sim"].base_url
    body = {"model": "gpt-4o-mini", "messages": PING}
    wrong = await client.post(
        base + "/chat/completions", headers={"authorization": "Bearer nope"}, json=body
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    missing = await client.get(base + "/models")
    assert missing.status_code == 401
    unknown = await client.post(
        base + "/chat/completions", headers=OA, json={**body, "model": "gpt-9"}
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    garbled = await client.post(base + "/chat/completions", headers=OA, content=b"{nope")
    assert garbled.status_code == 400 and garbled.json()["error"]["type"] == "invalid_request_error"
    assert (await client.get(base + "/nothing-here", headers=OA)).status_code == 404


async def test_vendor_quirks_of_openai_compatible_providers(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    together = await client.get(sim["together-sim"].base_url + "/models", headers=OA)
    assert isinstance(together.json(), list) and together.json()[0]["type"] == "chat"
    assert together.headers["x-ratelimit-remaining"] == "9999"
    openrouter = await client.get(sim["openrouter-sim"].base_url + "/models")  # no key needed
    assert (
        openrouter.status_code == 200
        and openrouter.json()["data"][0]["pricing"]["prompt"] == "0.0000001"
    )
    deepseek = await client.get(sim["deepseek-sim"].root_url + "/models", headers=OA)  # no /v1
    assert deepseek.status_code == 200 and deepseek.json()["data"][0]["id"] == "deepseek-chat"


async def test_anthropic_lists_models_in_pages(sim: SimCluster, client: httpx.AsyncClient) -> None:
    base = sim["claude-sim"].base_url
    first = (await client.get(base + "/models?limit=1", headers=AN)).json()
    assert [m["id"] for m in first["data"]] == ["claude-haiku-4-5"] and first["has_more"] is True
    rest = (
        await client.get(base + f"/models?limit=5&after_id={first['last_id']}", headers=AN)
    ).json()
    assert [m["id"] for m in rest["data"]] == ["claude-sonnet-4-5"] and rest["has_more"] is False
    assert rest["data"][0]["type"] == "model"


async def test_anthropic_message_and_headers(sim: SimCluster, client: httpx.AsyncClient) -> None:
    body = {"model": "claude-haiku-4-5", "max_tokens": 1, "messages": PING}
    r = await client.post(sim["claude-sim"].base_url + "/messages", headers=AN, json=body)
    doc = r.json()
    assert r.status_code == 200 and doc["type"] == "message" and doc["stop_reason"] == "max_tokens"
    assert doc["content"] == [{"type": "text", "text": "Pong!"}]
    assert doc["usage"]["output_tokens"] == 1
    assert r.headers["request-id"].startswith("req_")
    assert r.headers["anthropic-ratelimit-requests-reset"].endswith("Z")


async def test_anthropic_stream_event_order(sim: SimCluster, client: httpx.AsyncClient) -> None:
    body = {"model": "claude-haiku-4-5", "max_tokens": 50, "messages": PING, "stream": True}
    r = await client.post(sim["claude-sim"].base_url + "/messages", headers=AN, json=body)
    names = [e["event"] for e in sse_events(r.text)]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"}


async def test_anthropic_refusals(sim: SimCluster, client: httpx.AsyncClient) -> None:
    url = sim["claude-sim"].base_url + "/messages"
    body = {"model": "claude-haiku-4-5", "max_tokens": 1, "messages": PING}
    wrong = await client.post(url, headers={**AN, "x-api-key": "nope"}, json=body)
    assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "authentication_error"
    assert wrong.json()["type"] == "error"
    no_version = await client.post(url, headers={"x-api-key": ANTHROPIC_KEY}, json=body)
    assert no_version.status_code == 400
    unknown = await client.post(url, headers=AN, json={**body, "model": "claude-9"})
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found_error"


async def test_gemini_lists_models_in_pages(sim: SimCluster, client: httpx.AsyncClient) -> None:
    base = sim["gemini-sim"].base_url
    first = (await client.get(base + "/models?pageSize=1", headers=GE)).json()
    assert first["models"][0]["name"] == "models/gemini-2.5-flash"
    second = (
        await client.get(
            base + f"/models?pageSize=1&pageToken={first['nextPageToken']}", headers=GE
        )
    ).json()
    assert (
        second["models"][0]["name"] == "models/gemini-2.0-flash" and "nextPageToken" not in second
    )


async def test_gemini_generate_content_with_header_or_query_key(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    base = sim["gemini-sim"].base_url
    body = {
        "contents": CONTENTS,
        "generationConfig": {"maxOutputTokens": 1, "thinkingConfig": {"thinkingBudget": 0}},
    }
    by_header = await client.post(
        base + "/models/gemini-2.5-flash:generateContent", headers=GE, json=body
    )
    assert by_header.json()["candidates"][0]["content"]["parts"][0]["text"] == "Pong!"
    by_query = await client.post(
        base + f"/models/gemini-2.5-flash:generateContent?key={GEMINI_KEY}", json=body
    )
    assert by_query.status_code == 200
    thinking = {"contents": CONTENTS, "generationConfig": {"maxOutputTokens": 1}}
    empty = (
        await client.post(
            base + "/models/gemini-2.5-flash:generateContent", headers=GE, json=thinking
        )
    ).json()
    assert empty["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert "parts" not in empty["candidates"][0]["content"]


async def test_gemini_sse_stream_ends_without_sentinel(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    url = sim["gemini-sim"].base_url + "/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    r = await client.post(url, headers=GE, json={"contents": CONTENTS})
    chunks = data(r.text)
    assert "[DONE]" not in r.text and len(chunks) > 1
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    array = await client.post(url.removesuffix("?alt=sse"), headers=GE, json={"contents": CONTENTS})
    assert array.headers["content-type"].startswith("application/json")
    assert array.json()[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_gemini_refusals(sim: SimCluster, client: httpx.AsyncClient) -> None:
    base = sim["gemini-sim"].base_url
    body = {"contents": CONTENTS}
    wrong = await client.post(base + "/models/gemini-2.0-flash:generateContent?key=nope", json=body)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    unknown = await client.post(base + "/models/gemini-9:generateContent", headers=GE, json=body)
    assert unknown.status_code == 404 and unknown.json()["error"]["status"] == "NOT_FOUND"


async def test_every_request_is_counted_where_it_landed(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    provider = sim["openai-sim"]
    url = provider.base_url + "/chat/completions"
    await client.post(url, headers=OA, json={"model": "gpt-4o-mini", "messages": PING})
    await client.post(
        url, headers=OA, json={"model": "gpt-4o-mini", "messages": PING, "stream": True}
    )
    await client.post(url, headers={}, json={"model": "o3-mini", "messages": PING})
    await client.get(provider.base_url + "/models", headers=OA)
    assert provider.stats.count(kind="completion", model="gpt-4o-mini", served="ok") == 1
    assert provider.stats.count(kind="stream", served="ok") == 1
    assert provider.stats.count(model="o3-mini", served="auth_error") == 1
    assert provider.stats.count(kind="models") == 1
    assert provider.stats.total == 4
