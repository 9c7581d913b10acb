"""Writes docs/status-page.png: the status page of a daemon probing simulated providers.

`make screenshot` runs it. An embedded Redis (or --redis-url, under a key prefix
of its own that it deletes afterwards), three simulated providers, the daemon
probing them, and a scripted scene: one provider hard down (its routes open),
one route forced open by an operator. Chromium is the system's (Debian
`chromium`), driven by Playwright; nothing downloads a browser.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
import uuid
from pathlib import Path

from playwright.async_api import Page, async_playwright
from redis.asyncio import Redis

from routeguard.breaker import BreakerState
from routeguard.config import Catalog, parse_catalog
from routeguard.daemon.app import Daemon, DaemonOptions
from routeguard.embedded_redis import EmbeddedRedis
from routeguard.sim import SimCluster, SimProvider

KEY = "sk-sim-screenshot"
OUT = Path(__file__).resolve().parent.parent / "docs" / "status-page.png"
FAULTS = {"latency_s": 0.03, "ttft_s": 0.12, "jitter_s": 0.08}
WARM_UP_S = 8.0  # a few probes of every tier before the outage
VIEWPORT = {"width": 1440, "height": 1000}


def providers() -> list[SimProvider]:
    return [
        SimProvider("openai", "openai", ("gpt-4o-mini", "gpt-4o"), KEY, "openai", faults=FAULTS),
        SimProvider(
            "anthropic", "anthropic", ("claude-haiku-4-5",), KEY, "anthropic", faults=FAULTS
        ),
        SimProvider("together", "openai", ("llama-3.1-70b",), KEY, "together", faults=FAULTS),
    ]


def catalog(cluster: SimCluster) -> Catalog:
    lines = ["providers:"]
    for sim in cluster.values():
        lines.append(
            f"  {sim.name}: {{flavour: {sim.flavour}, vendor: {sim.vendor}, "
            f'base_url: "{sim.base_url}", api_key_env: SIM_KEY}}'
        )
    lines += [
        "models:",
        "  chat: [openai/gpt-4o-mini, together/llama-3.1-70b, anthropic/claude-haiku-4-5]",
        "  smart: [openai/gpt-4o, anthropic/claude-haiku-4-5]",
        "probes: {interval_s: 1, suspect_interval_s: 0.3, timeout_s: 2, tiers: [liveness, completion, stream]}",
        "breaker: {open_s: 30, open_max_s: 60}",
    ]
    return parse_catalog("\n".join(lines) + "\n", "<screenshot catalog>")


async def until_state(daemon: Daemon, route: str, state: BreakerState, timeout_s: float) -> None:
    assert daemon.store is not None
    deadline = time.monotonic() + timeout_s
    while (await daemon.store.state(route)).state != state:
        if time.monotonic() > deadline:
            raise SystemExit(f"{route} did not become {state} within {timeout_s:g} s")
        await asyncio.sleep(0.1)


async def scene(cluster: SimCluster, daemon: Daemon) -> None:
    """A provider outage and an operator's force, as a status page would show them."""
    await asyncio.sleep(WARM_UP_S)
    await cluster["together"].down()
    await until_state(daemon, "together/llama-3.1-70b", BreakerState.OPEN, 15)
    assert daemon.store is not None
    await daemon.store.force("openai/gpt-4o", "open", "vendor incident INC-4711: elevated 5xx")


async def shoot(url: str, out: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no `chromium` on PATH: apt-get install chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium)
        page: Page = await browser.new_page(viewport=VIEWPORT, color_scheme="light")
        await page.goto(url)
        await page.wait_for_selector('#live[data-live="live"]')
        await page.wait_for_selector("#figures-as-of:not(:empty)")
        await page.screenshot(path=str(out), full_page=True)
        await browser.close()


async def run(redis_url: str, out: Path) -> None:
    prefix = f"routeguard-screenshot-{uuid.uuid4().hex[:8]}"
    async with SimCluster(providers(), seed=3) as cluster:
        options = DaemonOptions(http_port=0, key_prefix=prefix, env={"SIM_KEY": KEY})
        daemon = Daemon(catalog(cluster), redis_url, options)
        await daemon.start()
        try:
            await scene(cluster, daemon)
            await shoot(daemon.http_url + "/", out)
        finally:
            await daemon.stop()
            await _forget(redis_url, prefix)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


async def _forget(redis_url: str, prefix: str) -> None:
    redis = Redis.from_url(redis_url)
    async for key in redis.scan_iter(match=f"{prefix}*", count=500):
        await redis.delete(key)
    await redis.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", help="a Redis to use (default: an embedded one)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.redis_url:
        asyncio.run(run(args.redis_url, args.out))
        return 0
    with EmbeddedRedis() as embedded:
        asyncio.run(run(embedded.url, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
