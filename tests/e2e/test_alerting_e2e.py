"""A hard-down provider pages through a real Prometheus and Alertmanager, and resolves.

The daemon probes the simulator; Prometheus scrapes it every 5 s and evaluates
the shipped rules (alerts/*.yaml) every 5 s; `RouteOpen` keeps its shipped
`for:`. The test measures the time from the outage's start to RouteOpen firing
in Prometheus and to Alertmanager's webhook arriving, prints both and records
them as properties of the test report (JUnit XML).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import yaml
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.config import Catalog
from routeguard.daemon.app import Daemon
from routeguard.sim import SimCluster, SimProvider

from .daemon_helpers import catalog_from, running_daemon
from .promstack import API_POLL_S, Notification, PromStack, shipped_rule_files

pytestmark = [pytest.mark.redis, pytest.mark.prometheus]

KEY = "sk-sim-alerting-e2e-0001"
DOWN, HEALTHY = "alert-oa", "alert-an"
ROUTE = {"provider": DOWN, "model": "gpt-4o-mini"}
# Probes every 0.5 s (0.2 s while suspect): the breaker opens within about a
# second of the outage, so the measured time is Prometheus's: scrape,
# evaluation and the shipped `for:`. open_max_s keeps trials coming while the
# provider is down, so the route closes soon after it is back.
CATALOG = """
providers:
  alert-oa: {flavour: openai, base_url: "URL:alert-oa", api_key_env: SIM_KEY}
  alert-an: {flavour: anthropic, base_url: "URL:alert-an", api_key_env: SIM_KEY}
models:
  mini: [alert-oa/gpt-4o-mini]
  haiku: [alert-an/claude-haiku-4-5]
probes: {interval_s: 0.5, suspect_interval_s: 0.2, timeout_s: 1.0}
breaker: {consecutive_failures: 2, open_s: 1.0, open_max_s: 4}
"""


@pytest.fixture
async def cluster() -> AsyncIterator[SimCluster]:
    providers = [
        SimProvider(DOWN, "openai", ("gpt-4o-mini",), KEY, "openai"),
        SimProvider(HEALTHY, "anthropic", ("claude-haiku-4-5",), KEY),
    ]
    async with SimCluster(providers, seed=3) as running:
        yield running


def _catalog(cluster: SimCluster) -> Catalog:
    text = CATALOG
    for sim in cluster.values():
        text = text.replace(f"URL:{sim.name}", sim.base_url)
    return catalog_from(text)


def _target(daemon: Daemon) -> str:
    return daemon.http_url.removeprefix("http://").rstrip("/")


async def _scraped(stack: PromStack) -> bool:
    ups = await stack.query(
        f'routeguard_route_up{{provider="{DOWN}", model="gpt-4o-mini", test="alerting"}} == 1'
    )
    return bool(ups)


def _route_open(stack: PromStack, state: str) -> Callable[[], Awaitable[list[Any] | None]]:
    async def check() -> list[Any] | None:
        alerts = [a for a in await stack.alerts("RouteOpen", **ROUTE) if a["state"] == state]
        return alerts or None

    return check


def _webhook(
    stack: PromStack, status: str, *, since: float
) -> Callable[[], Awaitable[Notification | None]]:
    async def check() -> Notification | None:
        return stack.receiver.first("RouteOpen", status, since=since, **ROUTE)

    return check


async def test_a_hard_down_provider_fires_route_open_through_alertmanager_and_resolves(
    prom_stack: PromStack,
    cluster: SimCluster,
    redis_url: str,
    keys: Keys,
    redis_client: Redis,  # deletes the test's keys afterwards
    request: pytest.FixtureRequest,
) -> None:
    stack = prom_stack
    async with running_daemon(_catalog(cluster), redis_url, keys, env={"SIM_KEY": KEY}) as daemon:
        stack.set_targets("alerting", [_target(daemon)], {"test": "alerting"})
        try:
            await eventually(
                lambda: _scraped(stack),
                timeout_s=30,
                what="Prometheus scraping the daemon",
                interval_s=API_POLL_S,
            )
            assert not await stack.alerts("RouteOpen", **ROUTE), "nothing is down yet"

            hold = _for_seconds("RouteOpen")
            outage = time.monotonic()
            await cluster[DOWN].down()
            firing = _route_open(stack, "firing")
            await eventually(
                firing, timeout_s=hold + 60, what="RouteOpen firing", interval_s=API_POLL_S
            )
            to_firing = time.monotonic() - outage
            webhook = _webhook(stack, "firing", since=outage)
            await eventually(
                webhook, timeout_s=30, what="Alertmanager's webhook with RouteOpen firing"
            )
            hook = await webhook()
            assert hook is not None
            to_webhook = hook.received_at - outage

            [alert] = await firing() or []
            assert alert["labels"]["severity"] == "ticket"
            assert not await stack.alerts("RouteOpen", provider=HEALTHY), "only the down provider"
            [sent] = hook.alerts("RouteOpen", "firing", **ROUTE)
            assert sent["labels"]["severity"] == "ticket"
            assert sent["annotations"]["runbook_url"].endswith("#routeopen")

            recovery = time.monotonic()
            await cluster[DOWN].up()
            await eventually(
                _webhook(stack, "resolved", since=recovery),
                timeout_s=90,
                what="Alertmanager's webhook with RouteOpen resolved",
            )
            to_resolved = time.monotonic() - recovery
            assert not await stack.alerts("RouteOpen", **ROUTE), "resolved in Prometheus too"
        finally:
            stack.clear_targets("alerting")

    figures = {
        "outage_to_route_open_firing_s": round(to_firing, 1),
        "outage_to_webhook_s": round(to_webhook, 1),
        "recovery_to_resolved_webhook_s": round(to_resolved, 1),
    }
    # What record_property does, without its warning under CI's junit xunit2:
    # the figures land in the JUnit report as <property> elements.
    request.node.user_properties.extend(figures.items())
    print(
        "\nRouteOpen (scrape 5 s, evaluation 5 s, shipped for:): "
        + ", ".join(f"{name} = {value}" for name, value in figures.items())
    )
    # Not before the shipped for:, and after it within what the loop adds: the
    # breaker opening (about 1 s), one scrape and two evaluations (5 s each).
    assert hold <= to_firing <= hold + 25, figures
    assert to_webhook - to_firing < 10, figures


def _for_seconds(alertname: str) -> float:
    """The shipped `for:` of an alert, in seconds (a Prometheus duration: 1m, 1m30s)."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    for path in shipped_rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == alertname:
                    parts = re.findall(r"(\d+)(ms|s|m|h|d)", str(rule["for"]))
                    return sum(int(n) * units[unit] for n, unit in parts)
    raise AssertionError(f"no alert {alertname} in {shipped_rule_files()}")
