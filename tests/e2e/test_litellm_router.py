"""The LiteLLM plug-in in a real `litellm.Router`, in front of simulated providers, with
the fleet breaker in a real Redis: what LiteLLM may pick, and what its calls teach."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import litellm
import pytest
from conftest import eventually
from litellm import Router
from litellm.router_utils.cooldown_handlers import async_get_cooldown_deployments
from prometheus_client import CollectorRegistry

from routeguard.breaker import BreakerState, Keys
from routeguard.client import HealthClient
from routeguard.errors import ConfigError
from routeguard.integrations.litellm import RouteguardCallback
from routeguard.integrations.litellm.callback import CALLBACK_LISTS
from routeguard.redis_connect import connect_redis

from .litellm_helpers import MESSAGES, Sims, quiet_litellm, sims

pytestmark = [pytest.mark.redis, pytest.mark.filterwarnings("ignore::UserWarning:pydantic")]


@pytest.fixture
async def sim() -> AsyncIterator[Sims]:
    async with sims() as started:
        yield started


@pytest.fixture(autouse=True)
def litellm_callbacks() -> Iterator[None]:
    """Each test leaves LiteLLM's global callback list as it found it."""
    quiet_litellm()
    yield
    for name in CALLBACK_LISTS:
        found = getattr(litellm, name, None)
        if isinstance(found, list):
            found[:] = [c for c in found if not isinstance(c, RouteguardCallback)]


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def health(
    sim: Sims, redis_url: str, keys: Keys, registry: CollectorRegistry, redis_client: Any
) -> AsyncIterator[HealthClient]:
    redis = connect_redis(redis_url, connect_timeout_s=2, timeout_s=2)
    client = HealthClient(redis, sim.catalog(), keys=keys, registry=registry, flush_s=0.02)
    async with client:
        yield client


def router(sim: Sims, *groups: tuple[str, ...], fallbacks: bool = True) -> Router:
    """One model group per tuple of providers, named m-<first>; m-p1 falls back to m-p2."""
    model_list = [sim.deployment(name, f"m-{group[0]}") for group in groups for name in group]
    extra: dict[str, Any] = {"fallbacks": [{"m-p1": ["m-p2"]}]} if fallbacks else {}
    return Router(model_list=model_list, num_retries=0, **extra)


async def plugged(
    r: Router, health: HealthClient, registry: CollectorRegistry
) -> RouteguardCallback:
    return await RouteguardCallback.for_router(r, health, registry=registry)


async def force_open(health: HealthClient, route: str) -> None:
    await health.store.force(route, "open", "test")
    await eventually(
        lambda: health.view[route].state is BreakerState.FORCED_OPEN,
        timeout_s=5,
        what=f"{route} forced open in the worker's view",
    )


async def ask(r: Router, group: str, **kwargs: Any) -> Any:
    response = await r.acompletion(model=group, messages=MESSAGES, max_tokens=4, **kwargs)
    if kwargs.get("stream"):
        chunks = [chunk async for chunk in response]
        assert chunks
    return response


def requests(registry: CollectorRegistry, route: str, outcome: str) -> float:
    provider, model = route.split("/", 1)
    labels = {"provider": provider, "model": model, "outcome": outcome}
    return registry.get_sample_value("routeguard_requests_total", labels) or 0.0


async def test_a_deployment_without_a_route_stops_the_start_up_with_what_to_add(
    sim: Sims, health: HealthClient
) -> None:
    stray = {
        "model_name": "m-x",
        "litellm_params": {"model": "openai/llama", "api_base": "http://127.0.0.1:9/v1"},
    }
    r = Router(model_list=[sim.deployment("p1"), stray])
    with pytest.raises(ConfigError) as caught:
        await RouteguardCallback.for_router(r, health)
    assert "model_name='m-x'" in str(caught.value) and "routeguard_route" in str(caught.value)
    assert not any(isinstance(c, RouteguardCallback) for c in litellm.callbacks)


async def test_an_open_route_gets_no_call_and_the_fallback_group_serves(
    sim: Sims, health: HealthClient, registry: CollectorRegistry
) -> None:
    r = router(sim, ("p1",), ("p2",))
    await plugged(r, health, registry)
    assert sim.served_by(await ask(r, "m-p1")) == "p1"
    await force_open(health, "p1/llama")
    before = sim["p1"].stats.count()
    served = [sim.served_by(await ask(r, "m-p1")) for _ in range(10)]
    assert served == ["p2"] * 10
    assert sim["p1"].stats.count() == before, "a call reached the open route"
    skipped = {"provider": "p1", "model": "llama", "model_group": "m-p1"}
    assert registry.get_sample_value("routeguard_litellm_deployments_skipped_total", skipped) == 10


async def test_only_unusable_deployments_leave_the_group_and_the_rest_serve(
    sim: Sims, health: HealthClient, registry: CollectorRegistry
) -> None:
    r = router(sim, ("p1", "p3"), fallbacks=False)
    await plugged(r, health, registry)
    await force_open(health, "p3/llama")
    before = sim["p3"].stats.count()
    served = {sim.served_by(await ask(r, "m-p1")) for _ in range(12)}
    assert served == {"p1"}
    assert sim["p3"].stats.count() == before


async def test_with_every_deployment_open_and_no_fallback_the_list_stands_panic(
    sim: Sims, health: HealthClient, registry: CollectorRegistry
) -> None:
    r = router(sim, ("p1",), fallbacks=False)
    await plugged(r, health, registry)
    await force_open(health, "p1/llama")
    assert sim.served_by(await ask(r, "m-p1")) == "p1"
    assert registry.get_sample_value("routeguard_litellm_panic_total", {"model_group": "m-p1"}) == 1


@pytest.mark.parametrize(
    ("faults", "outcome", "kwargs"),
    [
        ({"error_rate": 1.0}, "server_error", {}),  # Anthropic's 529, which LiteLLM calls a 500
        ({"error_rate": 1.0}, "server_error", {"stream": True}),
        ({"rate_limit": 1.0}, "rate_limited", {}),
        ({"key_revoked": True}, "auth_error", {}),
        ({"quota_exhausted": True}, "quota_exhausted", {}),
        ({"latency_s": 2.0}, "timeout", {"timeout": 0.3}),
        ({"cut_stream": True}, "bad_response", {"stream": True}),
        ({"down": True}, "connect_error", {}),
    ],
)
async def test_each_failure_is_judged_by_the_vendor_codec_and_reported(
    sim: Sims,
    health: HealthClient,
    registry: CollectorRegistry,
    faults: dict[str, Any],
    outcome: str,
    kwargs: dict[str, Any],
) -> None:
    r = router(sim, ("p2",), fallbacks=False)
    await plugged(r, health, registry)
    await sim["p2"].set_faults(faults)
    with pytest.raises(Exception):  # noqa: B017 - whatever LiteLLM raises, the class is ours
        await ask(r, "m-p2", **kwargs)
    await eventually(
        lambda: requests(registry, "p2/claude-haiku-4-5", outcome) == 1,
        timeout_s=5,
        what=f"one {outcome} reported for p2",
    )


async def test_consecutive_failures_seen_through_litellm_open_the_fleet_breaker(
    sim: Sims, health: HealthClient, registry: CollectorRegistry
) -> None:
    r = router(sim, ("p1",), ("p2",))
    await plugged(r, health, registry)
    await sim["p1"].set_faults({"error_rate": 1.0})
    for _ in range(3):
        await ask(r, "m-p1")  # p1 fails (503), the fallback group answers
    await eventually(
        lambda: health.store.state("p1/llama"),
        timeout_s=5,
        what="p1's state readable",
    )

    async def opened() -> bool:
        return (await health.store.state("p1/llama")).state is BreakerState.OPEN

    await eventually(opened, timeout_s=5, what="p1/llama opened in Redis")
    assert requests(registry, "p1/llama", "server_error") == 3
    before = sim["p1"].stats.count()
    await eventually(
        lambda: health.view["p1/llama"].state is BreakerState.OPEN, timeout_s=5, what="view"
    )
    for _ in range(5):
        assert sim.served_by(await ask(r, "m-p1")) == "p2"
    assert sim["p1"].stats.count() == before


async def test_a_slow_first_token_of_a_stream_counts_as_slow(
    sim: Sims, redis_url: str, keys: Keys, registry: CollectorRegistry, redis_client: Any
) -> None:
    redis = connect_redis(redis_url, connect_timeout_s=2, timeout_s=2)
    catalog = sim.catalog("{consecutive_failures: 3, slow_ttft_s: 0.3}")
    async with HealthClient(redis, catalog, keys=keys, registry=registry, flush_s=0.02) as health:
        r = router(sim, ("p2",), fallbacks=False)
        await plugged(r, health, registry)
        await sim["p2"].set_faults({"ttft_s": 0.5})
        await ask(r, "m-p2", stream=True)

        async def slow() -> int:
            return (await health.store.state("p2/claude-haiku-4-5")).window.slow

        await eventually(slow, timeout_s=5, what="one slow call in p2's window")
        assert requests(registry, "p2/claude-haiku-4-5", "ok") == 1


async def test_litellm_cooldowns_are_off_so_one_breaker_decides(
    sim: Sims, health: HealthClient, registry: CollectorRegistry
) -> None:
    r = router(sim, ("p1", "p3"), fallbacks=False)
    assert not r.disable_cooldowns
    await plugged(r, health, registry)
    assert r.disable_cooldowns is True
    await sim["p1"].set_faults({"error_rate": 1.0})
    for _ in range(6):
        with contextlib.suppress(Exception):  # p1's failures are the point
            await ask(r, "m-p1")
    assert await async_get_cooldown_deployments(r, parent_otel_span=None) == []


async def test_without_a_view_the_list_stands_and_it_is_counted(
    sim: Sims, keys: Keys, registry: CollectorRegistry
) -> None:
    dead = connect_redis("redis://127.0.0.1:9/0", connect_timeout_s=0.2, timeout_s=0.2)
    async with HealthClient(dead, sim.catalog(), keys=keys, registry=registry) as health:
        r = router(sim, ("p1",), fallbacks=False)
        await plugged(r, health, registry)
        assert sim.served_by(await ask(r, "m-p1")) == "p1"
    labels = {"reason": "view_unavailable"}
    assert registry.get_sample_value("routeguard_litellm_fail_open_total", labels) == 1


async def test_a_deployment_added_later_without_a_route_is_kept_and_counted(
    sim: Sims, health: HealthClient, registry: CollectorRegistry
) -> None:
    r = router(sim, ("p1",), fallbacks=False)
    await plugged(r, health, registry)
    stray = sim.deployment("p3", "m-p1")
    stray["litellm_params"]["api_base"] = sim["p3"].base_url.replace("127.0.0.1", "localhost")
    r.add_deployment(litellm.types.router.Deployment(**stray))
    served = {sim.served_by(await ask(r, "m-p1")) for _ in range(10)}
    assert served <= {"p1", "p3"}
    labels = {"reason": "unmapped_deployment"}
    assert (registry.get_sample_value("routeguard_litellm_fail_open_total", labels) or 0) >= 10


async def test_a_failing_plug_in_never_fails_the_request(
    sim: Sims, health: HealthClient, registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = router(sim, ("p1",), fallbacks=False)
    await plugged(r, health, registry)

    def broken(route: str) -> str | None:
        raise RuntimeError("bug")

    monkeypatch.setattr(health, "unusable", broken)
    assert sim.served_by(await ask(r, "m-p1")) == "p1"
    assert registry.get_sample_value("routeguard_litellm_fail_open_total", {"reason": "error"}) == 1


async def test_the_one_line_form_configures_starts_and_closes_its_own_view(
    sim: Sims,
    redis_url: str,
    keys: Keys,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    redis_client: Any,
) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(sim.catalog_text())
    monkeypatch.setenv("ROUTEGUARD_CONFIG", str(catalog))
    monkeypatch.setenv("ROUTEGUARD_REDIS_URL", redis_url)
    monkeypatch.setenv("ROUTEGUARD_KEY_PREFIX", keys.prefix)
    r = router(sim, ("p1",), ("p2",))
    registry = CollectorRegistry()
    guard = await RouteguardCallback.for_router(r, registry=registry)
    try:
        assert guard.health.staleness_s() != float("inf"), "the view was not loaded"
        await force_open(guard.health, "p1/llama")
        assert sim.served_by(await ask(r, "m-p1")) == "p2"
    finally:
        await guard.aclose()
    assert not any(isinstance(c, RouteguardCallback) for c in litellm.callbacks)
