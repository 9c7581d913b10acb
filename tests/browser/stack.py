"""A daemon (optionally probing simulated providers) started on the service loop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass

from e2e.daemon_helpers import UNREACHABLE_PAIR, catalog_from, running_daemon

from routeguard.breaker import BreakerState, Keys, Transition
from routeguard.daemon.app import Daemon
from routeguard.sim import SimCluster, SimProvider

from .conftest import ServiceLoop

KEY = "sk-sim-browser-0001"
FAST = """
probes: {interval_s: 0.5, suspect_interval_s: 0.2, timeout_s: 1.0}
breaker: {open_s: 1.0, open_max_s: 4}
"""


@dataclass
class Stack:
    daemon: Daemon
    cluster: SimCluster | None
    services: ServiceLoop

    @property
    def url(self) -> str:
        return self.daemon.http_url + "/"

    def events(self, route: str) -> list[Transition]:
        assert self.daemon.store is not None
        found = self.services.run(self.daemon.store.events(count=1000))
        return [e for e in found if e.route == route]

    def state(self, route: str) -> BreakerState:
        assert self.daemon.store is not None
        return self.services.run(self.daemon.store.state(route)).state

    def force(self, route: str, target: str, reason: str) -> None:
        assert self.daemon.store is not None
        self.services.run(self.daemon.store.force(route, target, reason))


def _sim_catalog(cluster: SimCluster) -> str:
    lines = ["providers:"]
    for sim in cluster.values():
        lines.append(
            f"  {sim.name}: {{flavour: {sim.flavour}, vendor: {sim.vendor or 'null'}, "
            f'base_url: "{sim.base_url}", api_key_env: SIM_KEY}}'
        )
    lines += ["models:", "  chat: [oa/gpt-4o-mini, an/claude-haiku-4-5]", "  big: [oa/gpt-4o]"]
    return "\n".join(lines) + "\n" + FAST


@contextmanager
def simulated(services: ServiceLoop, redis_url: str, keys: Keys) -> Iterator[Stack]:
    """Two simulated providers (openai with two routes, anthropic with one), probed fast."""
    exits = AsyncExitStack()

    async def start() -> Stack:
        providers = [
            SimProvider("oa", "openai", ("gpt-4o-mini", "gpt-4o"), KEY, "openai"),
            SimProvider("an", "anthropic", ("claude-haiku-4-5",), KEY, "anthropic"),
        ]
        cluster = await exits.enter_async_context(SimCluster(providers, seed=5))
        catalog = catalog_from(_sim_catalog(cluster))
        daemon = await exits.enter_async_context(
            running_daemon(catalog, redis_url, keys, env={"SIM_KEY": KEY})
        )
        return Stack(daemon, cluster, services)

    try:
        yield services.run(start())
    finally:
        services.run(exits.aclose())


@contextmanager
def unreachable(services: ServiceLoop, redis_url: str, keys: Keys) -> Iterator[Stack]:
    """Two routes whose providers are never reached (probed once an hour): state by force only."""
    exits = AsyncExitStack()

    async def start() -> Stack:
        daemon = await exits.enter_async_context(
            running_daemon(catalog_from(UNREACHABLE_PAIR), redis_url, keys)
        )
        return Stack(daemon, None, services)

    try:
        yield services.run(start())
    finally:
        services.run(exits.aclose())
