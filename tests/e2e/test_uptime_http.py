"""Uptime, probe figures and incidents through the daemon's HTTP API, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.daemon.app import Daemon
from routeguard.sim import SimCluster, SimProvider
from routeguard.uptime import WINDOWS

from .daemon_helpers import ADMIN_TOKEN, catalog_from, get_json, running_daemon

pytestmark = pytest.mark.redis

KEY = "sk-sim-e2e-key-0015"
ENV = {"SIM_KEY": KEY}
STRICT, LOOSE = "oa/gpt-4o-mini", "oa/gpt-4o"  # the stricter objective comes first


def _catalog_text(sim: SimProvider) -> str:
    return f"""
providers:
  oa: {{flavour: openai, base_url: "{sim.base_url}", api_key_env: SIM_KEY, vendor: openai}}
models:
  mini: [{STRICT}]
  big: [{LOOSE}]
  any: [{STRICT}, {LOOSE}]
probes: {{interval_s: 0.3, suspect_interval_s: 0.1, timeout_s: 1.0, tiers: [liveness, stream]}}
breaker: {{open_s: 1, open_max_s: 2, consecutive_failures: 2}}
routes:
  {STRICT}:
    slo: {{availability: 0.999, ttft_p95_s: 1.0}}
  {LOOSE}:
    slo: {{availability: 0.99, ttft_p95_s: 3.0}}
"""


@pytest.fixture
async def sim() -> AsyncIterator[SimProvider]:
    provider = SimProvider("oa", "openai", ("gpt-4o-mini", "gpt-4o"), KEY, "openai")
    async with SimCluster([provider], seed=15) as cluster:
        yield cluster["oa"]


@pytest.fixture
async def daemon(
    sim: SimProvider, redis_url: str, keys: Keys, redis_client: Redis
) -> AsyncIterator[Daemon]:
    async with running_daemon(
        catalog_from(_catalog_text(sim)), redis_url, keys, env=ENV
    ) as running:
        yield running


async def _routes(daemon: Daemon) -> dict[str, dict[str, Any]]:
    body = await get_json(daemon, "/v1/routes")
    return {r["route"]: r for r in body["routes"]}  # type: ignore[index]


async def _provider(daemon: Daemon) -> dict[str, Any]:
    [record] = (await get_json(daemon, "/v1/providers"))["providers"]  # type: ignore[index]
    return record  # type: ignore[no-any-return]


async def _incidents(daemon: Daemon) -> list[dict[str, Any]]:
    return (await get_json(daemon, "/v1/incidents"))["incidents"]  # type: ignore[index,no-any-return]


async def test_a_provider_outage_is_down_time_on_both_routes_and_one_incident(
    sim: SimProvider, daemon: Daemon
) -> None:
    async def probed() -> bool:
        return all(r["probes"]["5m"]["probes"] > 0 for r in (await _routes(daemon)).values())

    await eventually(probed, timeout_s=10, what="both routes probed")
    await sim.down()

    async def both_out() -> list[dict[str, Any]] | None:
        routes = (await _routes(daemon)).values()
        ongoing = [i for i in await _incidents(daemon) if i["ended"] is None]
        out = all(r["outage_since"] for r in routes)
        return ongoing if out and len(ongoing) == 1 and len(ongoing[0]["routes"]) == 2 else None

    await eventually(both_out, timeout_s=10, what="both routes out, one ongoing incident")
    await sim.up()

    async def recovered() -> bool:
        routes = (await _routes(daemon)).values()
        return all(r["state"] == "closed" and r["outage_since"] is None for r in routes)

    await eventually(recovered, timeout_s=15, what="both routes closed again")
    routes = await _routes(daemon)
    for record in routes.values():
        five = record["uptime"]["5m"]
        assert five["down_s"] > 0 and five["ratio"] < 1, record["uptime"]
        assert five["excluded_s"] == {"forced": 0, "auth_quota": 0}
        assert five["up_s"] + five["down_s"] == pytest.approx(five["covers_s"], abs=0.01)
        assert five["covers_s"] < 60, "tracking began when the daemon started"
        assert set(record["uptime"]) == set(record["probes"]) == set(WINDOWS)
        assert record["probes"]["5m"]["availability"] < 1, "failed probes count as bad"
        assert record["last_probes"].keys() == {"liveness", "stream"}
    [incident] = await _incidents(daemon)
    assert incident["provider"] == "oa" and incident["class"] == "down"
    assert sorted(incident["routes"]) == sorted(routes) and incident["ended"] is not None
    down = max(r["uptime"]["5m"]["down_s"] for r in routes.values())
    assert incident["duration_s"] >= down - 0.01, "the incident spans every route's outage"
    provider = await _provider(daemon)
    assert provider["uptime"]["5m"]["down_s"] == pytest.approx(
        sum(r["uptime"]["5m"]["down_s"] for r in routes.values()), abs=0.01
    )


async def test_forced_time_is_excluded_and_the_provider_objective_is_the_loosest(
    daemon: Daemon,
) -> None:
    url = daemon.http_url + f"/v1/routes/{STRICT}/force"
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient() as client:
        assert (await client.post(url, json={"state": "open"}, headers=auth)).status_code == 200

        async def forced_for_a_while() -> bool:
            uptime = (await _routes(daemon))[STRICT]["uptime"]["5m"]
            return bool(uptime["excluded_s"]["forced"] >= 0.3)

        await eventually(forced_for_a_while, timeout_s=10, what="0.3 s of forced time")
        assert (await client.post(url, json={"state": "auto"}, headers=auth)).status_code == 200
    record = (await _routes(daemon))[STRICT]
    five = record["uptime"]["5m"]
    assert five["down_s"] == 0 and five["ratio"] == 1.0, five
    assert record["models"] == ["mini", "any"]
    [incident] = await _incidents(daemon)
    assert (incident["class"], incident["routes"], incident["reasons"]) == (
        "forced",
        [STRICT],
        ["forced"],
    )
    provider = await _provider(daemon)
    assert provider["objective"] == {"availability": 0.99, "ttft_p95_s": 3.0}
    assert "sla" not in provider


async def test_probe_figures_carry_ttft_percentiles_and_bars_cover_the_day(daemon: Daemon) -> None:
    async def sampled() -> dict[str, Any] | None:
        probes = (await _provider(daemon))["probes"]["5m"]
        return probes if probes["ttft_samples"] >= 4 else None

    probes = await eventually(sampled, timeout_s=10, what="streamed probes")
    probes = (await _provider(daemon))["probes"]["5m"]
    assert probes["availability"] == 1.0
    assert 0 < probes["ttft_p50_s"] <= probes["ttft_p95_s"] <= probes["ttft_p99_s"]
    assert 0 < probes["covers_s"] <= 300
    bars = await get_json(daemon, "/v1/uptime?span=24h")
    assert bars["span"] == "24h" and bars["bar_s"] == 3600  # type: ignore[index]
    [provider] = bars["providers"]  # type: ignore[index]
    assert len(provider["bars"]) == 24 and len(provider["routes"]) == 2
    assert provider["bars"][-1]["ratio"] == 1.0 and provider["bars"][0]["covers_s"] == 0
    daily = await get_json(daemon, "/v1/uptime?span=90d")
    assert len(daily["providers"][0]["bars"]) == 90  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v1/uptime?span=7d", "span must be one of 24h, 90d"),
        ("/v1/uptime?span=24h&x=1", "span must be one of"),
        ("/v1/incidents?limit=0", "limit must be a whole number from 1 to 200"),
        ("/v1/incidents?limit=201", "limit must be a whole number"),
        ("/v1/incidents?limit=ten", "limit must be a whole number"),
    ],
)
async def test_bad_parameters_are_one_clear_400(daemon: Daemon, path: str, message: str) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(daemon.http_url + path)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
