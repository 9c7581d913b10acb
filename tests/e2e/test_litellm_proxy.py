"""LiteLLM's proxy server (from PyPI) with the routeguard plug-in in its config.yaml, in
front of simulated providers, called with the official openai SDK: an open route gets
no call, the proxy's failures reach the fleet breaker, and a deployment without a
route stops the start-up with one message."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
import yaml
from conftest import eventually

from routeguard.breaker import BreakerState, BreakerStore, Keys
from routeguard.redis_connect import connect_redis

from .litellm_helpers import MESSAGES, Sims, sims
from .proxy_helpers import SIM_KEY, SIM_KEY_ENV
from .test_proxy_process import _free_port

pytestmark = pytest.mark.redis
MASTER_KEY = "sk-litellm-master-test"
LITELLM = Path(sys.executable).with_name("litellm")
HANDLER = "routeguard.integrations.litellm.proxy_handler"


def litellm_config(sim: Sims, extra: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {
        "model_list": [sim.deployment("p1"), sim.deployment("p2"), *(extra or [])],
        "litellm_settings": {"callbacks": HANDLER},
        "router_settings": {
            "fallbacks": [{"m-p1": ["m-p2"]}],
            "disable_cooldowns": True,
            "num_retries": 0,
        },
        "general_settings": {"master_key": MASTER_KEY},
    }


@dataclass
class Proxy:
    process: asyncio.subprocess.Process
    url: str
    log: Path


async def start_proxy(
    sim: Sims, tmp_path: Path, redis_url: str, keys: Keys, config: dict[str, object]
) -> Proxy:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(sim.catalog_text())
    config_path = tmp_path / "litellm.yaml"
    config_path.write_text(yaml.safe_dump(config))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTEGUARD_")}
    env |= {
        "ROUTEGUARD_CONFIG": str(catalog),
        "ROUTEGUARD_REDIS_URL": redis_url,
        "ROUTEGUARD_KEY_PREFIX": keys.prefix,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        SIM_KEY_ENV: SIM_KEY,
    }
    log = tmp_path / "litellm.log"
    process = await asyncio.create_subprocess_exec(
        str(LITELLM),
        "--config",
        str(config_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=env,
        stdout=log.open("wb"),
        stderr=asyncio.subprocess.STDOUT,
    )
    return Proxy(process, f"http://127.0.0.1:{port}", log)


async def stop(proxy: Proxy) -> None:
    if proxy.process.returncode is None:
        proxy.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proxy.process.wait(), timeout=20)
        except TimeoutError:
            proxy.process.kill()
            await proxy.process.wait()


@pytest.fixture
async def sim() -> AsyncIterator[Sims]:
    async with sims() as started:
        yield started


@pytest.fixture
async def store(
    redis_url: str, keys: Keys, sim: Sims, redis_client: object
) -> AsyncIterator[BreakerStore]:
    catalog = sim.catalog()
    redis = connect_redis(redis_url, connect_timeout_s=2, timeout_s=2)
    routes = {r.id: r.breaker for r in catalog.routes.values()}
    yield BreakerStore(redis, routes, keys=keys)
    await redis.aclose()


async def test_behind_litellms_proxy_an_open_route_gets_no_call_and_failures_reach_redis(
    sim: Sims, store: BreakerStore, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    proxy = await start_proxy(sim, tmp_path, redis_url, keys, litellm_config(sim))
    client = openai.AsyncOpenAI(base_url=proxy.url, api_key=MASTER_KEY, max_retries=0)
    try:

        async def ready() -> bool:
            if proxy.process.returncode is not None:
                pytest.fail(f"LiteLLM's proxy exited:\n{proxy.log.read_text()[-3000:]}")
            async with httpx.AsyncClient() as http:
                return (await http.get(proxy.url + "/health/liveliness", timeout=1)).is_success

        await eventually(ready, timeout_s=90, what="LiteLLM's proxy to answer", interval_s=0.5)

        async def ask() -> str:
            answer = await client.chat.completions.with_raw_response.create(
                model="m-p1",
                messages=MESSAGES,
                max_tokens=4,  # type: ignore[arg-type]
            )
            return str(answer.headers.get("x-litellm-model-api-base", ""))

        assert f":{sim['p1'].port}/" in await ask()

        # p1 fails: LiteLLM falls back to p2, and the plug-in reports p1's failures
        await sim["p1"].set_faults({"error_rate": 1.0})
        for _ in range(3):
            assert f":{sim['p2'].port}" in await ask()

        async def p1_opened() -> bool:
            return (await store.state("p1/llama")).state is BreakerState.OPEN

        await eventually(p1_opened, timeout_s=10, what="p1/llama opened by the proxy's reports")

        # the proxy's own view has it open: no more calls into p1
        await sim["p1"].reset()
        await store.force("p1/llama", "open", "test")

        async def p1_left_alone() -> bool:
            before = sim["p1"].stats.count()
            await ask()
            return sim["p1"].stats.count() == before

        await eventually(p1_left_alone, timeout_s=10, what="the proxy skipping p1")
        before = sim["p1"].stats.count()
        for _ in range(10):
            assert f":{sim['p2'].port}" in await ask()
        assert sim["p1"].stats.count() == before
    finally:
        await client.close()
        await stop(proxy)


async def test_a_deployment_without_a_route_stops_litellms_proxy_with_one_message(
    sim: Sims, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    stray = {
        "model_name": "m-x",
        "litellm_params": {"model": "openai/llama", "api_base": "http://127.0.0.1:9/v1"},
    }
    proxy = await start_proxy(sim, tmp_path, redis_url, keys, litellm_config(sim, [stray]))
    try:
        await eventually(
            lambda: (
                proxy.process.returncode is not None or "routeguard_route" in proxy.log.read_text()
            ),
            timeout_s=90,
            what="LiteLLM's proxy to refuse its config",
            interval_s=0.5,
        )
    finally:
        await stop(proxy)
    text = proxy.log.read_text()
    assert "routeguard plug-in refuses LiteLLM's config: model_list entry model_name='m-x'" in text
    assert "routeguard_route" in text
    assert SIM_KEY not in text
