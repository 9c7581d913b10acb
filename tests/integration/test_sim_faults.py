"""Every fault, as a client on 127.0.0.1 sees it: statuses, bodies, headers, framing, timing."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import pytest
from conftest import eventually

from routeguard.sim import SimCluster, SimProvider

KEY = "sk-sim"
OA = {"authorization": f"Bearer {KEY}"}
AN = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
GE = {"x-goog-api-key": KEY}
PING = [{"role": "user", "content": "ping"}]
CHAT = {"model": "gpt-4o-mini", "messages": PING}
STREAM = {**CHAT, "stream": True}
CLAUDE = {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": PING}
GEMINI_BODY = {"contents": [{"parts": [{"text": "ping"}]}]}
EPS = 0.02  # the loop's timers may fire this much before a monotonic-clock deadline


@pytest.fixture
async def sim() -> AsyncIterator[SimCluster]:
    async with SimCluster(
        [
            SimProvider("openai-sim", "openai", ["gpt-4o-mini", "gpt-4o"], KEY, "openai"),
            SimProvider("claude-sim", "anthropic", ["claude-haiku-4-5"], KEY),
            SimProvider("gemini-sim", "gemini", ["gemini-2.0-flash"], KEY),
            SimProvider("groq-sim", "openai", ["llama-3.1-8b-instant"], KEY, "groq"),
            SimProvider("deepseek-sim", "openai", ["deepseek-chat"], KEY, "deepseek"),
            SimProvider("openrouter-sim", "openai", ["openai/gpt-4o"], KEY, "openrouter"),
        ],
        admin=False,
        seed=3,
    ) as cluster:
        yield cluster


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield http


def chat_url(p: SimProvider) -> str:
    return p.base_url + "/chat/completions"


async def timed(coro: Awaitable[Any]) -> tuple[Any, float]:
    start = time.monotonic()
    result = await coro
    return result, time.monotonic() - start


async def test_down_refuses_connections_and_up_rebinds_the_same_port(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openai-sim"]
    port = p.port
    assert (await client.get(p.base_url + "/models", headers=OA)).status_code == 200  # pooled now
    await p.down()
    assert not p.is_up
    with pytest.raises(httpx.ConnectError):
        await client.get(p.base_url + "/models", headers=OA)
    with pytest.raises(httpx.ConnectError):
        await client.get(p.base_url + "/models", headers=OA)
    await p.up()
    assert p.port == port and p.is_up
    assert (await client.get(p.base_url + "/models", headers=OA)).status_code == 200
    assert p.stats.total == 2  # refused connections never reached it


async def test_going_down_cuts_a_stream_in_flight(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"stall_mid_stream_s": 5.0})
    with pytest.raises(httpx.RemoteProtocolError):
        async with client.stream("POST", chat_url(p), headers=OA, json=STREAM) as r:
            async for _ in r.aiter_lines():
                if p.is_up:
                    await p.down()
    assert p.active_requests == 0


@pytest.mark.parametrize(
    ("name", "status", "field", "value"),
    [
        ("openai-sim", 503, ("error", "code"), "server_is_overloaded"),
        ("claude-sim", 529, ("error", "type"), "overloaded_error"),
        ("gemini-sim", 503, ("error", "status"), "UNAVAILABLE"),
    ],
)
async def test_error_rate_answers_the_vendors_overload(
    sim: SimCluster,
    client: httpx.AsyncClient,
    name: str,
    status: int,
    field: tuple[str, str],
    value: str,
) -> None:
    p = sim[name]
    await p.set_faults({"error_rate": 1.0})
    r = await _generate(client, p)
    assert r.status_code == status
    assert r.json()[field[0]][field[1]] == value


async def test_error_status_picks_the_status_groq_498_included(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    groq = sim["groq-sim"]
    await groq.set_faults({"error_rate": 1.0, "error_status": 498})
    r = await client.post(
        chat_url(groq), headers=OA, json={**CHAT, "model": "llama-3.1-8b-instant"}
    )
    assert r.status_code == 498 and r.json()["error"]["code"] == "capacity_exceeded"
    await sim["claude-sim"].set_faults({"error_rate": 1.0, "error_status": 504})
    r = await _generate(client, sim["claude-sim"])
    assert r.status_code == 504 and r.json()["error"]["type"] == "timeout_error"


async def test_error_rate_is_a_share_of_requests(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"error_rate": 0.5})
    statuses = [(await _generate(client, p)).status_code for _ in range(60)]
    assert 15 < statuses.count(503) < 45 and statuses.count(200) == 60 - statuses.count(503)


async def test_rate_limit_storm_in_each_vendors_format(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    for p in (sim["openai-sim"], sim["claude-sim"], sim["gemini-sim"]):
        await p.set_faults({"rate_limit": 1.0, "retry_after_s": 360})
    openai = await _generate(client, sim["openai-sim"])
    assert openai.status_code == 429 and openai.json()["error"]["code"] == "rate_limit_exceeded"
    assert openai.headers["retry-after"] == "360" and openai.headers["retry-after-ms"] == "360000"
    assert openai.headers["x-ratelimit-reset-requests"] == "6m0s"
    claude = await _generate(client, sim["claude-sim"])
    assert claude.status_code == 429 and claude.headers["retry-after"] == "360"
    assert claude.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    gemini = await _generate(client, sim["gemini-sim"])
    details = gemini.json()["error"]["details"]
    assert (
        gemini.status_code == 429
        and {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "360s"} in details
    )


@pytest.mark.parametrize(
    ("name", "status", "marker"),
    [
        ("openai-sim", 429, "insufficient_quota"),
        ("claude-sim", 402, "billing_error"),
        ("gemini-sim", 429, "PerDay"),
        ("deepseek-sim", 402, "Insufficient Balance"),
        ("openrouter-sim", 402, "openrouter_credits"),
    ],
)
async def test_quota_exhausted_in_each_vendors_shape(
    sim: SimCluster, client: httpx.AsyncClient, name: str, status: int, marker: str
) -> None:
    p = sim[name]
    await p.set_faults({"quota_exhausted": True})
    r = await _generate(client, p)
    assert r.status_code == status and marker in r.text
    assert "retry-after" not in r.headers


async def test_latency_delays_the_headers(sim: SimCluster, client: httpx.AsyncClient) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"latency_s": 0.3})
    r, elapsed = await timed(client.get(p.base_url + "/models", headers=OA))
    assert r.status_code == 200 and 0.3 - EPS <= elapsed < 2.0


async def test_ttft_delays_the_first_token_not_the_headers(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["claude-sim"]
    await p.set_faults({"ttft_s": 0.4})
    start = time.monotonic()
    async with client.stream(
        "POST", p.base_url + "/messages", headers=AN, json={**CLAUDE, "stream": True}
    ) as r:
        headers_at = time.monotonic() - start
        async for line in r.aiter_lines():
            if line == "event: content_block_delta":
                break
        first_token_at = time.monotonic() - start
    assert headers_at < 0.3 and 0.4 - EPS <= first_token_at < 2.0


async def test_a_stalled_stream_goes_silent_mid_way_then_finishes(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"stall_mid_stream_s": 0.5})
    arrivals: list[float] = []
    start = time.monotonic()
    async with client.stream("POST", chat_url(p), headers=OA, json=STREAM) as r:
        async for line in r.aiter_lines():
            if line.startswith("data:"):
                arrivals.append(time.monotonic() - start)
                last = line
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert max(gaps) >= 0.5 - EPS and sorted(gaps)[-2] < 0.25
    assert last == "data: [DONE]"
    with pytest.raises(httpx.ReadTimeout):
        async with client.stream(
            "POST", chat_url(p), headers=OA, json=STREAM, timeout=httpx.Timeout(5.0, read=0.2)
        ) as r:
            async for _ in r.aiter_lines():
                pass


async def test_a_cut_stream_closes_without_terminator(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"cut_stream": True})
    lines: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        async with client.stream("POST", chat_url(p), headers=OA, json=STREAM) as r:
            assert r.status_code == 200
            async for line in r.aiter_lines():
                lines.append(line)
    assert any(line.startswith("data: {") for line in lines)
    assert "data: [DONE]" not in lines
    with pytest.raises(httpx.RemoteProtocolError):  # a plain body is cut short too
        await client.post(chat_url(p), headers=OA, json=CHAT)


async def test_an_error_event_arrives_after_a_200(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    claude = sim["claude-sim"]
    await claude.set_faults({"error_event_in_stream": True})
    r = await client.post(
        claude.base_url + "/messages", headers=AN, json={**CLAUDE, "stream": True}
    )
    assert r.status_code == 200
    assert (
        "event: error" in r.text and "overloaded_error" in r.text and "message_stop" not in r.text
    )
    openai = sim["openai-sim"]
    await openai.set_faults({"error_event_in_stream": True, "error_status": 500})
    r = await client.post(chat_url(openai), headers=OA, json=STREAM)
    last = [line for line in r.text.splitlines() if line.startswith("data:")][-1]
    assert r.status_code == 200 and json.loads(last[5:])["error"]["type"] == "server_error"
    assert "[DONE]" not in r.text
    router = sim["openrouter-sim"]
    await router.set_faults({"error_event_in_stream": True})
    r = await client.post(chat_url(router), headers=OA, json={**CHAT, "model": "openai/gpt-4o"})
    assert r.status_code == 200 and r.json()["choices"][0]["finish_reason"] == "error"


async def test_malformed_json_and_html_502(sim: SimCluster, client: httpx.AsyncClient) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"malformed_json": True})
    r = await client.post(chat_url(p), headers=OA, json=CHAT)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.content)
    await p.set_faults({"html_502": True})
    r = await client.post(chat_url(p), headers=OA, json=CHAT)
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in r.text


async def test_deepseek_queue_sends_keep_alives_before_answering(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["deepseek-sim"]
    await p.set_faults({"queue_keepalive_s": 0.3, "keepalive_every_s": 0.05})
    body = {**STREAM, "model": "deepseek-chat"}
    r, elapsed = await timed(client.post(chat_url(p), headers=OA, json=body))
    lines = [line for line in r.text.split("\n") if line]
    assert lines[0] == ": keep-alive" and lines.count(": keep-alive") >= 4
    assert lines[-1] == "data: [DONE]" and elapsed >= 0.3 - EPS
    plain = await client.post(chat_url(p), headers=OA, json={**CHAT, "model": "deepseek-chat"})
    assert plain.text.startswith("\n\n") and plain.json()["object"] == "chat.completion"


async def test_openrouter_queues_with_its_processing_comments(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openrouter-sim"]
    await p.set_faults({"queue_keepalive_s": 0.1, "keepalive_every_s": 0.05})
    r = await client.post(chat_url(p), headers=OA, json={**STREAM, "model": "openai/gpt-4o"})
    assert r.text.startswith(": OPENROUTER PROCESSING\n\n")


async def test_a_revoked_key_gets_the_auth_error(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"key_revoked": True})
    r = await client.post(chat_url(p), headers=OA, json=CHAT)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert p.stats.count(served="key_revoked") == 1
    router = sim["openrouter-sim"]  # its model list needs no key, so a revoked one does not matter
    await router.set_faults({"key_revoked": True})
    assert (await client.get(router.base_url + "/models")).status_code == 200
    assert (await client.post(chat_url(router), headers=OA, json=CHAT)).status_code == 401


async def test_one_model_down_while_another_is_fine(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"model_down": ["gpt-4o"]})
    assert (
        await client.post(chat_url(p), headers=OA, json={**CHAT, "model": "gpt-4o"})
    ).status_code == 503
    assert (await client.post(chat_url(p), headers=OA, json=CHAT)).status_code == 200
    assert (await client.get(p.base_url + "/models", headers=OA)).status_code == 200
    await p.patch_faults({"model_down_status": 404})
    r = await client.post(chat_url(p), headers=OA, json={**CHAT, "model": "gpt-4o"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


async def test_faults_for_one_model_only(sim: SimCluster, client: httpx.AsyncClient) -> None:
    p = sim["openai-sim"]
    await p.set_model_faults("gpt-4o", {"html_502": True})
    assert (
        await client.post(chat_url(p), headers=OA, json={**CHAT, "model": "gpt-4o"})
    ).status_code == 502
    assert (await client.post(chat_url(p), headers=OA, json=CHAT)).status_code == 200
    await p.set_model_faults("gpt-4o", {})
    assert (
        await client.post(chat_url(p), headers=OA, json={**CHAT, "model": "gpt-4o"})
    ).status_code == 200


async def test_a_huge_body_has_the_size_asked_for(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"huge_body_mb": 2.0})
    r = await client.post(chat_url(p), headers=OA, json=CHAT)
    assert r.status_code == 200 and 2 * 1024 * 1024 <= len(r.content) < 2 * 1024 * 1024 + 4096
    assert len(r.json()["choices"][0]["message"]["content"]) == 2 * 1024 * 1024


async def test_a_never_ending_stream_stops_when_the_client_leaves(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"never_ending_stream": True, "keepalive_every_s": 0.02})
    async with client.stream("POST", chat_url(p), headers=OA, json=STREAM) as r:
        seen = 0
        async for line in r.aiter_lines():
            seen += line == ": keep-alive"
            if seen == 5:
                break
        assert seen == 5, "the stream ended by itself: it was not never-ending"
        assert p.active_requests == 1, "still answering when the client leaves"
    assert p.stats.count(served="never_ending") == 1
    await eventually(lambda: p.active_requests == 0, timeout_s=3, what="the stream to stop")


async def test_lifting_never_ending_lets_the_answer_through(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["claude-sim"]
    await p.set_faults({"never_ending_stream": True, "keepalive_every_s": 0.02})
    async with client.stream(
        "POST", p.base_url + "/messages", headers=AN, json={**CLAUDE, "stream": True}
    ) as r:
        lines = []
        async for line in r.aiter_lines():
            lines.append(line)
            if lines.count("event: ping") == 3:
                await p.set_faults({})
    assert lines[:2] == ["event: ping", 'data: {"type":"ping"}']
    assert [line for line in lines if line][-2:] == [
        "event: message_stop",
        'data: {"type":"message_stop"}',
    ]


async def _generate(client: httpx.AsyncClient, p: SimProvider) -> httpx.Response:
    if p.flavour == "anthropic":
        return await client.post(p.base_url + "/messages", headers=AN, json=CLAUDE)
    if p.flavour == "gemini":
        return await client.post(
            p.base_url + f"/models/{p.models[0]}:generateContent", headers=GE, json=GEMINI_BODY
        )
    return await client.post(chat_url(p), headers=OA, json={**CHAT, "model": p.models[0]})


async def test_a_provider_can_start_down_and_come_up_later(client: httpx.AsyncClient) -> None:
    async with SimProvider("late", "gemini", ["gemini-2.0-flash"], KEY, faults={"down": True}) as p:
        assert p.port > 0 and not p.is_up
        with pytest.raises(httpx.ConnectError):
            await client.get(p.base_url + "/models", headers=GE)
        await p.up()
        assert (await client.get(p.base_url + "/models", headers=GE)).status_code == 200
    assert not p.is_up


async def test_an_answer_stops_as_soon_as_its_client_leaves(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    p = sim["openai-sim"]
    await p.set_faults({"stall_mid_stream_s": 30.0})
    async with client.stream("POST", chat_url(p), headers=OA, json=STREAM) as r:
        async for line in r.aiter_lines():
            if line.startswith("data:"):
                break
        assert p.active_requests == 1, "still answering (stalled) when the client leaves"
    assert p.stats.count(served="stalled") == 1
    await eventually(lambda: p.active_requests == 0, timeout_s=1.0, what="the answer to stop")
