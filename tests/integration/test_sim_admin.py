"""The admin API changes faults at runtime, and refuses bad input without changing anything."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from routeguard.sim import SimCluster, SimProvider

KEY = "sk-sim"
OA = {"authorization": f"Bearer {KEY}"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}]}


@pytest.fixture
async def sim() -> AsyncIterator[SimCluster]:
    async with SimCluster(
        [
            SimProvider("openai-sim", "openai", ["gpt-4o-mini", "gpt-4o"], KEY, "openai"),
            SimProvider("claude-sim", "anthropic", ["claude-haiku-4-5"], KEY),
        ],
        seed=5,
    ) as cluster:
        yield cluster


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield http


async def chat(client: httpx.AsyncClient, sim: SimCluster, model: str = "gpt-4o-mini") -> int:
    url = sim["openai-sim"].base_url + "/chat/completions"
    return (await client.post(url, headers=OA, json={**CHAT, "model": model})).status_code


async def test_lists_every_provider_with_faults_and_stats(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    await chat(client, sim)
    r = await client.get(sim.admin_url + "/providers")
    providers = {p["name"]: p for p in r.json()["providers"]}
    openai = providers["openai-sim"]
    assert openai["flavour"] == "openai" and openai["vendor"] == "openai"
    assert openai["base_url"] == sim["openai-sim"].base_url
    assert openai["models"] == ["gpt-4o-mini", "gpt-4o"] and openai["up"] is True
    assert openai["faults"] == {}
    assert openai["stats"]["requests"] == [
        {"kind": "completion", "model": "gpt-4o-mini", "served": "ok", "count": 1}
    ]
    assert providers["claude-sim"]["base_url"].endswith("/v1")
    one = await client.get(sim.admin_url + "/providers/claude-sim")
    assert one.json()["flavour"] == "anthropic"


async def test_put_replaces_and_patch_merges(sim: SimCluster, client: httpx.AsyncClient) -> None:
    url = sim.admin_url + "/providers/openai-sim/faults"
    r = await client.put(url, json={"error_rate": 1.0, "latency_s": 0.01})
    assert r.status_code == 200 and r.json()["faults"] == {"error_rate": 1.0, "latency_s": 0.01}
    assert await chat(client, sim) == 503
    r = await client.patch(url, json={"error_rate": None, "models": {"gpt-4o": {"html_502": True}}})
    assert r.json()["faults"] == {"latency_s": 0.01, "models": {"gpt-4o": {"html_502": True}}}
    assert await chat(client, sim) == 200
    assert await chat(client, sim, "gpt-4o") == 502
    r = await client.put(url, json={})
    assert r.json()["faults"] == {} and await chat(client, sim, "gpt-4o") == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("PUT", "/providers/openai-sim/faults", b"{not json", 400, "body"),
        ("PUT", "/providers/openai-sim/faults", b"[1, 2]", 400, "body"),
        ("PUT", "/providers/openai-sim/faults", b'{"error_rate": 2}', 422, "error_rate"),
        ("PUT", "/providers/openai-sim/faults", b'{"eror_rate": 1}', 422, "eror_rate"),
        ("PATCH", "/providers/openai-sim/faults", b'{"error_status": 529}', 422, "error_status"),
        ("PATCH", "/providers/openai-sim/faults", b'{"model_down": ["claude"]}', 422, "model_down"),
        (
            "PATCH",
            "/providers/openai-sim/faults",
            b'{"models": {"gpt-4o": {"down": true}}}',
            422,
            "models.gpt-4o.down",
        ),
        ("PUT", "/providers/nope/faults", b"{}", 404, "name"),
        ("POST", "/providers/nope/down", b"", 404, "name"),
    ],
)
async def test_bad_input_is_a_4xx_naming_the_field_and_changes_nothing(
    sim: SimCluster,
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: bytes,
    status: int,
    field: str,
) -> None:
    await sim["openai-sim"].set_faults({"latency_s": 0.01})
    before = sim["openai-sim"].faults
    r = await client.request(method, sim.admin_url + path, content=body)
    assert r.status_code == status
    assert r.json()["error"]["field"] == field and r.json()["error"]["message"]
    assert sim["openai-sim"].faults == before and sim["openai-sim"].is_up


async def test_down_and_up(sim: SimCluster, client: httpx.AsyncClient) -> None:
    r = await client.post(sim.admin_url + "/providers/openai-sim/down")
    assert r.json()["up"] is False and r.json()["faults"] == {"down": True}
    with pytest.raises(httpx.ConnectError):
        await chat(client, sim)
    r = await client.post(sim.admin_url + "/providers/openai-sim/up")
    assert r.json()["up"] is True and r.json()["faults"] == {}
    assert await chat(client, sim) == 200


async def test_reset_heals_everything_and_zeroes_the_counts(
    sim: SimCluster, client: httpx.AsyncClient
) -> None:
    await chat(client, sim)
    await sim["openai-sim"].set_faults({"error_rate": 1.0})
    await sim["claude-sim"].down()
    r = await client.post(sim.admin_url + "/reset")
    for provider in r.json()["providers"]:
        assert (
            provider["faults"] == {} and provider["up"] is True and provider["stats"]["total"] == 0
        )
    assert await chat(client, sim) == 200
