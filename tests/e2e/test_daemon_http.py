"""The daemon's HTTP interface with a real Redis: metrics labels, the force endpoint."""

from __future__ import annotations

import httpx
import pytest
from conftest import eventually
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from routeguard import metric_names
from routeguard.breaker import BreakerState, Keys

from .daemon_helpers import ADMIN_TOKEN, catalog_from, route_states, running_daemon

pytestmark = pytest.mark.redis

# A provider nobody listens for: every probe is refused.
DEAD = """
providers:
  dead:
    flavour: openai
    base_url: http://127.0.0.1:1/v1
    api_key_env: null
probes: {interval_s: 0.5, suspect_interval_s: 0.2, timeout_s: 1}
models:
  m: [dead/model-a, dead/model-b]
"""


async def test_metrics_expose_the_contract_series_with_provider_and_model_labels(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with running_daemon(catalog_from(DEAD), redis_url, keys) as daemon:

        async def opened() -> bool:
            return set((await route_states(daemon)).values()) != {BreakerState.CLOSED}

        await eventually(opened, timeout_s=15, what="the dead routes to open")
        async with httpx.AsyncClient() as client:
            text = (await client.get(daemon.http_url + "/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in (
        "routeguard_probe_duration_seconds",
        "routeguard_probes",
        "routeguard_route_state",
        "routeguard_route_up",
        "routeguard_breaker_transitions",
        "routeguard_slo_objective_ratio",
        "routeguard_probe_ttft_seconds",
        "routeguard_probe_tokens",
    ):
        assert name in families, name
    declared = {m.name.removesuffix("_total"): m for m in metric_names.DAEMON_METRICS}
    for family in families.values():
        if not family.name.startswith("routeguard_"):
            continue
        # The text format shows each `_created` as a family of its own.
        metric = declared[family.name.removesuffix("_created")]  # KeyError: not a convention
        for sample in family.samples:
            assert set(metric.labels) <= set(sample.labels), sample
            if metric.per_route:
                assert {"provider", "model"} <= set(sample.labels), sample
    states = [
        s for s in families["routeguard_route_state"].samples if s.labels["model"] == "model-a"
    ]
    assert sorted(s.labels["state"] for s in states) == sorted(s.value for s in BreakerState)
    assert sum(s.value for s in states) == 1, "exactly one current state per route"
    refused = [
        s
        for s in families["routeguard_probes"].samples
        if s.name == "routeguard_probes_total" and s.labels["outcome"] == "connect_error"
    ]
    assert refused and all(s.labels["provider"] == "dead" for s in refused)


async def test_metrics_asked_by_name_give_those_families_only_without_reading_redis(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with running_daemon(catalog_from(DEAD), redis_url, keys) as daemon:
        wanted = ["routeguard_probe_schedule_lag_seconds_bucket", "routeguard_probes_total"]
        texts: list[str] = []

        async def scraped() -> bool:
            async with httpx.AsyncClient() as client:
                answer = await client.get(daemon.http_url + "/metrics", params={"name[]": wanted})
            assert answer.status_code == 200
            texts.append(answer.text)
            return any(
                s.labels.get("outcome") == "connect_error" and s.value > 0
                for f in text_string_to_metric_families(answer.text)
                for s in f.samples
            )

        await eventually(scraped, timeout_s=15, what="a refused probe counted")
        store_up = daemon.registry.get_sample_value("routeguard_store_up")
    names = {f.name for f in text_string_to_metric_families(texts[-1])}
    assert names == {"routeguard_probe_schedule_lag_seconds", "routeguard_probes"}
    assert store_up == 0  # set to 1 by a scrape that read Redis: none did


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({}, {"state": "open"}, 401, "missing admin token"),
        ({"Authorization": "Bearer wrong"}, {"state": "open"}, 403, "wrong admin token"),
        ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, "{not json", 400, "malformed JSON"),
        ({"Authorization": f"Bearer {ADMIN_TOKEN}"}, {"state": "sideways"}, 400, "unknown state"),
        (
            {"Authorization": f"Bearer {ADMIN_TOKEN}"},
            {"state": "open", "x": 1},
            400,
            "the body must be",
        ),
    ],
)
async def test_the_force_endpoint_refuses_bad_requests_and_changes_nothing(
    redis_url: str,
    keys: Keys,
    redis_client: Redis,
    headers: dict[str, str],
    body: object,
    status: int,
    message: str,
) -> None:
    catalog = catalog_from(DEAD.replace("interval_s: 0.5", "interval_s: 3600"))
    async with running_daemon(catalog, redis_url, keys) as daemon:
        url = daemon.http_url + "/v1/routes/dead/model-a/force"
        async with httpx.AsyncClient() as client:
            if isinstance(body, str):
                response = await client.post(url, content=body, headers=headers)
            else:
                response = await client.post(url, json=body, headers=headers)
        assert response.status_code == status
        assert message in response.json()["error"]
        assert ADMIN_TOKEN not in response.text
        assert await redis_client.xlen(keys.events) == 0


async def test_force_with_the_token_forces_and_is_audited_and_unknown_routes_are_404(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    catalog = catalog_from(
        DEAD.replace("interval_s: 0.5", "interval_s: 3600").replace(
            "dead/model-b]", "dead/meta-llama/Llama-3-70B]"
        )
    )
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with running_daemon(catalog, redis_url, keys) as daemon, httpx.AsyncClient() as client:
        base = daemon.http_url + "/v1/routes/"
        forced = await client.post(
            base + "dead/meta-llama/Llama-3-70B/force",
            json={"state": "open", "reason": "vendor incident"},
            headers=auth,
        )
        assert forced.status_code == 200
        assert (forced.json()["state"], forced.json()["detail"]) == (
            "forced_open",
            "vendor incident",
        )
        unknown = await client.post(base + "dead/nope/force", json={"state": "open"}, headers=auth)
        assert unknown.status_code == 404 and "unknown route" in unknown.json()["error"]
        events = (await client.get(daemon.http_url + "/v1/events")).json()["events"]
        assert [(e["route"], e["reason"]) for e in events] == [
            ("dead/meta-llama/Llama-3-70B", "forced")
        ]
        ready = await client.get(daemon.http_url + "/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
