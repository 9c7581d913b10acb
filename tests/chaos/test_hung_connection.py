"""A Redis connection that hangs rather than refuses (tests/chaos/blackhole.py).

Nothing errors and nothing closes: only deadlines can tell. A worker must turn
`degraded` on within its PING deadline / command timeout (2 s each; asserted
≤ 5 s), never raise into its caller, keep answering `candidates()` from memory
(microseconds: no network hop), and recover once the link heals. The daemon's
`/readyz` and `/v1/routes` must still answer (asserted within 10 s here).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from conftest import eventually
from e2e.daemon_helpers import catalog_from, running_daemon
from ha.topology import RedisProcess

from routeguard.breaker import Keys
from routeguard.client import HealthClient
from routeguard.client.sync import PING_DEADLINE_S
from routeguard.outcomes import Outcome
from routeguard.sim import SimProvider

from .blackhole import BlackholeProxy
from .conftest import listening

pytestmark = pytest.mark.redis

KEY = "sk-sim-hung-0001"
RESYNC_S = 1.0
DEGRADED_BOUND_S = 5.0
DAEMON_ANSWER_BOUND_S = 2.0  # every read path answers 503 within 2 s (docs/daemon.md)
CATALOG = """
providers:
  a: {{flavour: openai, base_url: "{base}", api_key_env: SIM_KEY}}
  b: {{flavour: openai, base_url: "{base}", api_key_env: SIM_KEY}}
models:
  m: [a/x, b/x]
probes: {{interval_s: 0.5, timeout_s: 1.0}}
"""


@pytest.fixture
async def proxy(private_redis: RedisProcess) -> AsyncIterator[BlackholeProxy]:
    async with BlackholeProxy("127.0.0.1", private_redis.port) as running:
        yield running


@pytest.fixture
async def sim() -> AsyncIterator[SimProvider]:
    async with SimProvider("a", "openai", ("x",), KEY, "openai") as running:
        yield running


class Caller:
    """A request loop on memory only: times `candidates()`, counts what it raises."""

    def __init__(self, health: HealthClient) -> None:
        self.health = health
        self.exceptions: list[BaseException] = []
        self.latencies_us: list[float] = []
        self.measuring = False

    async def run(self) -> None:
        while True:
            try:
                started = time.perf_counter()
                answer = list(self.health.candidates("m"))
                took_us = (time.perf_counter() - started) * 1e6
                assert answer, "candidates() is never empty for a configured model"
                self.health.report(answer[0], Outcome.OK, latency_s=0.01)
                if self.measuring:
                    self.latencies_us.append(took_us)
            except Exception as exc:
                self.exceptions.append(exc)
            await asyncio.sleep(0.005)  # the caller's request rate, not a wait


async def test_a_hung_redis_link_degrades_the_worker_within_5_s_and_it_routes_from_memory(
    private_redis: RedisProcess,
    proxy: BlackholeProxy,
    sim: SimProvider,
    record_property,  # type: ignore[no-untyped-def]
) -> None:
    catalog = catalog_from(CATALOG.format(base=sim.base_url))
    async with HealthClient.from_url(
        proxy.url, config=catalog, key_prefix="rgchaos-hung", resync_s=RESYNC_S
    ) as health:
        caller = Caller(health)
        loop = asyncio.create_task(caller.run())
        try:
            await listening(private_redis, Keys("rgchaos-hung"))  # subscribed through the proxy
            assert not health.degraded
            proxy.hang()
            degraded_s = await eventually(
                lambda: health.degraded, timeout_s=DEGRADED_BOUND_S, what="degraded"
            )
            caller.measuring = True
            # The behaviour under test is this second: the request path while Redis hangs.
            await asyncio.sleep(1.0)
            caller.measuring = False
            hung_latencies = sorted(caller.latencies_us)
            proxy.heal()
            healed_s = await eventually(
                lambda: not health.degraded,
                timeout_s=RESYNC_S + PING_DEADLINE_S + 1.0,
                what="recovery",
            )
        finally:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
    p99 = hung_latencies[int(0.99 * (len(hung_latencies) - 1))]
    figures = {
        "degraded_after_hang_s": round(degraded_s, 3),
        "candidates_while_hung_p50_us": round(statistics.median(hung_latencies), 1),
        "candidates_while_hung_p99_us": round(p99, 1),
        "candidates_while_hung_max_us": round(hung_latencies[-1], 1),
        "candidates_calls_while_hung": len(hung_latencies),
        "recovered_after_heal_s": round(healed_s, 3),
        "caller_exceptions": len(caller.exceptions),
    }
    for name, value in figures.items():
        record_property(name, value)
    print("\nhung link, worker: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    assert caller.exceptions == []
    assert len(hung_latencies) > 50
    # A Redis round trip on this link would take the 2 s timeout: 50 ms means memory only.
    assert hung_latencies[-1] < 50_000, figures


async def timed_get(url: str) -> tuple[float, int | None]:
    """Seconds until the daemon answered `url` (any status), and the status."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=DAEMON_ANSWER_BOUND_S + 5) as http:
        try:
            response = await http.get(url)
        except httpx.TimeoutException:
            return time.monotonic() - started, None
    return time.monotonic() - started, response.status_code


async def test_the_daemon_on_a_hung_redis_link_still_answers_readyz_and_routes(
    proxy: BlackholeProxy,
    sim: SimProvider,
    record_property,  # type: ignore[no-untyped-def]
) -> None:
    catalog = catalog_from(CATALOG.format(base=sim.base_url))
    keys = Keys("rgchaos-hung-daemon")
    async with running_daemon(catalog, proxy.url, keys, env={"SIM_KEY": KEY}) as daemon:
        assert (await timed_get(daemon.http_url + "/readyz"))[1] == 200
        proxy.hang()
        readyz_s, readyz_status = await timed_get(daemon.http_url + "/readyz")
        routes_s, routes_status = await timed_get(daemon.http_url + "/v1/routes")
        proxy.heal()

        async def ready() -> bool:
            return (await timed_get(daemon.http_url + "/readyz"))[1] == 200

        ready_again_s = await eventually(
            ready, timeout_s=15, what="the daemon to be ready again", interval_s=0.1
        )
    figures = {
        "readyz_while_hung_s": round(readyz_s, 3),
        "readyz_while_hung_status": readyz_status,
        "routes_while_hung_s": round(routes_s, 3),
        "routes_while_hung_status": routes_status,
        "ready_again_after_heal_s": round(ready_again_s, 3),
    }
    for name, value in figures.items():
        record_property(name, value)
    print("\nhung link, daemon: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    assert readyz_status is not None and readyz_s <= DAEMON_ANSWER_BOUND_S, figures
    assert routes_status is not None and routes_s <= DAEMON_ANSWER_BOUND_S, figures
    assert readyz_status == 503, "a daemon whose Redis hangs is not ready"
    assert routes_status == 503, figures
