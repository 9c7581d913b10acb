"""Every dashboard query returns per-provider data from a real Prometheus.

The dashboards in dashboards/ are read as Grafana would run them: variables
substituted ($provider, $model, $__interval, $__rate_interval, $__range,
${datasource}), range panels as range queries over the dashboard's default
time range, instant ones at now. A daemon probes the simulator and a routing
worker (HealthClient with its metrics, served over HTTP) sends calls through
call_with_failover; one provider goes hard down and comes back, so there are
failovers, a panic answer and breaker transitions to show. Every query must
parse, return data, and keep `provider` in its result and its legend: each
provider's SLA is shown on its own, never blended.

The first test needs no Prometheus: the JSON and the provisioning files.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml
from aiohttp import web
from conftest import eventually
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.asyncio import Redis

from routeguard import Outcome, metric_names
from routeguard.breaker import Keys
from routeguard.client import AttemptFailed, FailoverExhausted, HealthClient
from routeguard.config import Catalog
from routeguard.sim import SimCluster, SimProvider

from .daemon_helpers import catalog_from, running_daemon
from .promstack import API_POLL_S, REPO, PromStack

DASHBOARDS = REPO / "dashboards"
PROVISIONING = DASHBOARDS / "provisioning"
SCRAPE_S = 5  # the datasource's timeInterval and the test Prometheus's scrape interval
MAX_DATA_POINTS = 1000  # about a full-width panel

KEY = "sk-sim-dashboards-e2e-01"
DOWN = "dash-oa"
ROUTE = {"provider": DOWN, "model": "gpt-4o-mini"}  # the route-detail dashboard shows this one
CATALOG = """
providers:
  dash-oa: {flavour: openai, base_url: "URL:dash-oa", api_key_env: SIM_KEY}
  dash-tg: {flavour: openai, base_url: "URL:dash-tg", api_key_env: SIM_KEY}
  dash-an: {flavour: anthropic, base_url: "URL:dash-an", api_key_env: SIM_KEY}
  dash-ge: {flavour: gemini, base_url: "URL:dash-ge", api_key_env: SIM_KEY}
models:
  chat: [dash-oa/gpt-4o-mini, dash-tg/llama-3.1-8b]
  solo: [dash-oa/gpt-4o]
  haiku: [dash-an/claude-haiku-4-5]
  flash: [dash-ge/gemini-2.0-flash]
probes: {interval_s: 0.5, suspect_interval_s: 0.2, timeout_s: 1.0, tiers: [liveness, completion, stream]}
breaker: {consecutive_failures: 2, open_s: 1.0, open_max_s: 2}
"""
WORKER_MODELS = ("chat", "solo")  # openai-flavoured routes only: the worker speaks one wire


def _dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row holds its panels


@dataclass(frozen=True)
class Query:
    """One query a dashboard runs: a panel target, an annotation or a variable."""

    where: str
    expr: str
    legend: str
    instant: bool


def _queries(name: str, dashboard: dict[str, Any]) -> Iterator[Query]:
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            where = f"{name}: panel {panel['id']} {panel['title']!r} {target['refId']}"
            yield Query(where, target["expr"], target["legendFormat"], bool(target["instant"]))
    for annotation in dashboard["annotations"]["list"]:
        if not annotation.get("builtIn"):
            where = f"{name}: annotation {annotation['name']!r}"
            yield Query(where, annotation["expr"], annotation["titleFormat"], instant=False)


# -- the files themselves -----------------------------------------------------------

AGGREGATION = re.compile(
    r"\b(sum|avg|min|max|count|group|stddev|stdvar|topk|bottomk|quantile|count_values)\s*"
    r"(?P<clause>(by|without)\s*\((?P<labels>[^)]*)\))?\s*\("
)


METRIC = re.compile(r"(?<![:\w])routeguard_[a-z_]+")
PROMETHEUS_LABELS = {"le", "instance", "job"}
RECORDING_LABELS = {"source"}  # alerts/recording.yaml adds it to the SLI series


def test_every_metric_and_label_the_dashboards_read_is_one_routeguard_exports() -> None:
    exported = metric_names.sample_names()
    labels = {label for m in metric_names.ALL_METRICS for label in m.labels}
    labels |= PROMETHEUS_LABELS | RECORDING_LABELS
    for name, dashboard in _dashboards().items():
        for query in _queries(name, dashboard):
            unknown = set(METRIC.findall(query.expr)) - exported
            assert not unknown, f"{query.where}: not exported: {sorted(unknown)}"
            for match in AGGREGATION.finditer(query.expr):
                used = {label.strip() for label in (match["labels"] or "").split(",")} - {""}
                assert used <= labels, f"{query.where}: unknown labels {sorted(used - labels)}"


def test_dashboards_are_valid_grafana_json_and_provisioned_from_this_directory() -> None:
    dashboards = _dashboards()
    assert set(dashboards) == {
        "routeguard-sla-overview.json",
        "routeguard-route-detail.json",
        "routeguard-failover.json",
    }
    uids = [d["uid"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids) and all(len(uid) <= 40 for uid in uids)
    for name, dashboard in dashboards.items():
        assert dashboard["schemaVersion"] >= 36, name
        ids = [panel["id"] for panel in _panels(dashboard)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for panel in _panels(dashboard):
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (
                    f"{name}: panel {panel['id']}"
                )
                assert panel["targets"], f"{name}: panel {panel['id']} has no query"
        for query in _queries(name, dashboard):
            assert "{{provider}}" in query.legend, f"{query.where}: legend without {{{{provider}}}}"
            for match in AGGREGATION.finditer(query.expr):
                clause, labels = match["clause"] or "", match["labels"] or ""
                assert clause.startswith("by"), f"{query.where}: {match[0]!r} blends providers"
                assert "provider" in labels or "public_model" in labels, (
                    f"{query.where}: {match[0]!r} drops the provider label"
                )

    detail = {
        v["name"]: v for v in dashboards["routeguard-route-detail.json"]["templating"]["list"]
    }
    assert detail["provider"]["definition"] == "label_values(routeguard_route_state, provider)"
    assert detail["model"]["definition"].startswith(
        'label_values(routeguard_route_state{provider="$provider"}'
    )

    [source] = yaml.safe_load((PROVISIONING / "datasources/routeguard.yaml").read_text())[
        "datasources"
    ]
    assert (source["type"], source["uid"], source["url"]) == (
        "prometheus",
        "prometheus",
        "http://prometheus:9090",
    )
    [provider] = yaml.safe_load((PROVISIONING / "dashboards/routeguard.yaml").read_text())[
        "providers"
    ]
    assert provider["type"] == "file"
    mounts = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["grafana"][
        "volumes"
    ]
    assert f"./dashboards:{provider['options']['path']}:ro" in mounts, (
        "the dashboard provider must read the directory docker-compose.yml mounts ./dashboards at"
    )


# -- the queries against a real Prometheus --------------------------------------------

NICE_INTERVALS_S = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600)


def _duration_s(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(text[:-1]) * units[text[-1]]


def _prom_duration(seconds: int) -> str:
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


@dataclass(frozen=True)
class View:
    """What Grafana would substitute for a dashboard opened on its default time range."""

    range_s: int
    interval_s: int
    values: dict[str, str]

    @classmethod
    def of(cls, dashboard: dict[str, Any], chosen: dict[str, str]) -> View:
        range_s = _duration_s(dashboard["time"]["from"].removeprefix("now-"))
        wanted = max(range_s / MAX_DATA_POINTS, SCRAPE_S)
        # Grafana rounds the interval to the nearest "nice" one.
        interval_s = min(NICE_INTERVALS_S, key=lambda nice: abs(nice - wanted))
        rate_s = max(interval_s + SCRAPE_S, 4 * SCRAPE_S)
        values = {
            "__interval": _prom_duration(interval_s),
            "__interval_ms": str(interval_s * 1000),
            "__rate_interval": _prom_duration(rate_s),
            "__range": _prom_duration(range_s),
            "__range_s": str(range_s),
            "datasource": "prometheus",
            **chosen,
        }
        return cls(range_s, interval_s, values)

    def substitute(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match["braced"] or match["bare"]
            assert name in self.values, f"no value for ${name} in {text!r}"
            return self.values[name]

        return re.sub(r"\$(?:\{(?P<braced>\w+)\}|(?P<bare>\w+))", value, text)


@pytest.fixture
async def cluster() -> AsyncIterator[SimCluster]:
    providers = [
        SimProvider("dash-oa", "openai", ("gpt-4o-mini", "gpt-4o"), KEY, "openai"),
        SimProvider("dash-tg", "openai", ("llama-3.1-8b",), KEY, "openai"),
        SimProvider("dash-an", "anthropic", ("claude-haiku-4-5",), KEY),
        SimProvider("dash-ge", "gemini", ("gemini-2.0-flash",), KEY),
    ]
    async with SimCluster(providers, seed=5) as running:
        yield running


def _catalog(cluster: SimCluster) -> Catalog:
    text = CATALOG
    for sim in cluster.values():
        text = text.replace(f"URL:{sim.name}", sim.base_url)
    return catalog_from(text)


@contextlib.asynccontextmanager
async def _metrics_server(registry: CollectorRegistry) -> AsyncIterator[str]:
    """The worker's /metrics on a free loopback port; yields host:port."""

    async def metrics(request: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"{host}:{port}"
    finally:
        await runner.cleanup()


async def _traffic(health: HealthClient, http: httpx.AsyncClient) -> None:
    """A worker's calls, forever: every call goes through call_with_failover."""

    async def attempt(route: str) -> dict[str, Any]:
        provider = health.catalog.provider_of(route)
        body = {
            "model": health.catalog.routes[route].model,
            "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 4,
        }
        try:
            response = await http.post(
                f"{provider.base_url}/chat/completions",
                headers={"authorization": f"Bearer {KEY}"},
                json=body,
            )
        except httpx.TimeoutException as exc:
            raise AttemptFailed(Outcome.TIMEOUT, str(exc)) from exc
        except httpx.TransportError as exc:  # refused, reset or closed before an answer
            raise AttemptFailed(Outcome.CONNECT_ERROR, str(exc)) from exc
        if response.status_code >= 500:
            raise AttemptFailed(Outcome.SERVER_ERROR, f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise AttemptFailed(Outcome.CLIENT_ERROR, f"HTTP {response.status_code}")
        return dict(response.json())

    while True:
        for model in WORKER_MODELS:
            with contextlib.suppress(FailoverExhausted):
                await health.call_with_failover(model, attempt)
        await asyncio.sleep(0.1)


async def _present(stack: PromStack, expr: str) -> bool:
    return bool(await stack.query(expr))


async def _outage_and_recovery(stack: PromStack, cluster: SimCluster) -> None:
    """dash-oa hard down until Prometheus has seen it open with failovers and a panic answer."""
    seen = 'test="dashboards"'
    await cluster[DOWN].down()
    for expr in (
        f'routeguard_route_state{{provider="{DOWN}", state=~"open|half_open", {seen}}} == 1',
        f'routeguard_failovers_total{{provider="{DOWN}", public_model="chat", {seen}}}',
        f'routeguard_panic_total{{public_model="solo", {seen}}}',
    ):
        await eventually(
            functools.partial(_present, stack, expr), timeout_s=45, what=expr, interval_s=API_POLL_S
        )
    await cluster[DOWN].up()
    back = f'routeguard_route_up{{provider="{DOWN}", {seen}}} == 1'
    await eventually(
        lambda: _count_is(stack, back, 2),
        timeout_s=45,
        what=f"{DOWN} routes serving again",
        interval_s=API_POLL_S,
    )


async def _count_is(stack: PromStack, expr: str, count: int) -> bool:
    return len(await stack.query(expr)) == count


async def _variable_values(stack: PromStack, definition: str) -> list[str]:
    """A Grafana `label_values(selector, label)` variable, as Grafana asks Prometheus."""
    match = re.fullmatch(r"label_values\((?P<selector>.+),\s*(?P<label>\w+)\)", definition)
    assert match, f"unsupported variable query {definition!r}"
    return list(await stack.api(f"label/{match['label']}/values", **{"match[]": match["selector"]}))


async def _chosen_variables(stack: PromStack, dashboard: dict[str, Any]) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        definition = View.of(dashboard, chosen).substitute(variable["definition"])
        values = await _variable_values(stack, definition)
        assert variable["name"] in ROUTE, f"no value chosen for ${variable['name']}"
        wanted = ROUTE[variable["name"]]
        assert wanted in values, f"${variable['name']}: {definition} offers {values}"
        chosen[variable["name"]] = wanted
    return chosen


async def _run(stack: PromStack, view: View, query: Query) -> list[dict[str, Any]]:
    expr = view.substitute(query.expr)
    if query.instant:
        return await stack.query(expr)
    end = time.time()
    return await stack.query_range(expr, end - view.range_s, end, _prom_duration(view.interval_s))


def _numbers(result: list[dict[str, Any]]) -> bool:
    """True when some sample is a number: a series of NaN draws nothing."""
    samples = [s for series in result for s in series.get("values", [series.get("value")])]
    return any(sample[1] not in ("NaN", "+Inf", "-Inf") for sample in samples if sample)


async def _empty_queries(stack: PromStack, plan: list[tuple[View, Query]]) -> list[str]:
    results = await asyncio.gather(*(_run(stack, view, query) for view, query in plan))
    return [
        f"{query.where}: {'only NaN' if result else 'no data'}"
        for (_, query), result in zip(plan, results, strict=True)
        if not _numbers(result)
    ]


@pytest.mark.redis
@pytest.mark.prometheus
async def test_every_dashboard_query_returns_per_provider_data_from_prometheus(
    prom_stack: PromStack,
    cluster: SimCluster,
    redis_url: str,
    keys: Keys,
    redis_client: Redis,  # deletes the test's keys afterwards
) -> None:
    stack = prom_stack
    catalog = _catalog(cluster)
    registry = CollectorRegistry()
    async with (
        running_daemon(catalog, redis_url, keys, env={"SIM_KEY": KEY}) as daemon,
        HealthClient.from_url(
            redis_url, config=catalog, key_prefix=keys.prefix, registry=registry
        ) as health,
        httpx.AsyncClient(timeout=httpx.Timeout(2.0, connect=1.0)) as http,
        _metrics_server(registry) as worker,
    ):
        daemon_target = daemon.http_url.removeprefix("http://")
        stack.set_targets("dashboards", [daemon_target, worker], {"test": "dashboards"})
        traffic = asyncio.create_task(_traffic(health, http))
        try:
            # Transitions are drawn once the route has been scraped for a step (15 s).
            await eventually(
                lambda: _count_is(stack, 'routeguard_route_up{test="dashboards"} offset 20s', 5),
                timeout_s=60,
                what="20 s of scrapes of every route",
                interval_s=API_POLL_S,
            )
            await _outage_and_recovery(stack, cluster)
            plan = []
            for name, dashboard in _dashboards().items():
                view = View.of(dashboard, await _chosen_variables(stack, dashboard))
                plan += [(view, query) for query in _queries(name, dashboard)]
            empty: list[str] = []

            async def all_answer() -> bool:
                empty[:] = await _empty_queries(stack, plan)
                return not empty

            try:
                await eventually(all_answer, timeout_s=60, what="data", interval_s=2)
            except AssertionError:
                pytest.fail("queries without data:\n" + "\n".join(empty))

            for view, query in plan:
                for series in await _run(stack, view, query):
                    assert series["metric"].get("provider"), (
                        f"{query.where}: a series without provider: {series['metric']}"
                    )
        finally:
            traffic.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await traffic
            stack.clear_targets("dashboards")
