"""Per-request route selection: routeguard's candidates() beside LiteLLM Router's.

routeguard answers from the worker's in-memory view; LiteLLM Router selects a
deployment through its own per-request path (`async_get_available_deployment`,
the call its `acompletion` makes). Same model, same deployments (3, then 50),
same process, same run; p50/p99 over many calls after a warm-up.

    .venv/bin/python bench/candidates.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import redis as sync_redis

from routeguard.client import HealthClient
from routeguard.config import parse_catalog

MESSAGES = [{"role": "user", "content": "hi"}]


def catalog_text(n: int) -> str:
    lines = ["providers:"]
    lines += [
        f'  p{i}: {{flavour: openai, base_url: "http://127.0.0.1:{9000 + i}/v1", api_key_env: null}}'
        for i in range(n)
    ]
    lines += ["models:", "  m: [" + ", ".join(f"p{i}/llama" for i in range(n)) + "]"]
    return "\n".join(lines) + "\n"


def litellm_router(n: int):  # type: ignore[no-untyped-def]
    import litellm
    from litellm import Router

    litellm.suppress_debug_info = True
    return Router(
        model_list=[
            {
                "model_name": "m",
                "litellm_params": {
                    "model": "openai/llama",
                    "api_base": f"http://127.0.0.1:{9000 + i}/v1",
                    "api_key": "k",
                },
            }
            for i in range(n)
        ]
    )


async def timed(call: Callable[[], Awaitable[object]], calls: int) -> list[float]:
    for _ in range(min(1000, calls)):
        await call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        await call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


async def measure(n: int, calls: int, url: str) -> tuple[tuple[float, float], tuple[float, float]]:
    prefix = f"rgbench-cand-{uuid.uuid4().hex[:8]}"
    catalog = parse_catalog(catalog_text(n), "bench")
    async with HealthClient.from_url(url, config=catalog, key_prefix=prefix) as health:

        async def ours() -> object:
            return health.candidates("m")

        rg = quantiles(await timed(ours, calls))
    client = sync_redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{{{prefix}}}*"):
        client.delete(key)
    router = litellm_router(n)

    async def theirs() -> object:
        return await router.async_get_available_deployment(
            model="m", request_kwargs={}, messages=MESSAGES
        )

    ll = quantiles(await timed(theirs, calls))
    return rg, ll


async def main_async(args: argparse.Namespace) -> None:
    import importlib.metadata as md

    warnings.filterwarnings("ignore", category=DeprecationWarning)

    url = os.environ.get("ROUTEGUARD_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    print(
        f"route selection latency, {args.calls} calls each (routeguard {md.version('routeguard')}, litellm {md.version('litellm')})"
    )
    print(
        f"  {'deployments':>11}  {'routeguard p50/p99':>22}  {'LiteLLM p50/p99':>22}  {'ratio p50':>9}"
    )
    for n in (3, 50):
        (rg50, rg99), (ll50, ll99) = await measure(n, args.calls, url)
        print(
            f"  {n:>11}  {rg50:>9.1f} / {rg99:>6.1f} us  {ll50:>9.1f} / {ll99:>6.1f} us  {ll50 / rg50:>8.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
