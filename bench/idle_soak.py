"""Idle soak: do HealthClients on a healthy, silent Redis ever call Redis down?

Before issue 11 a client with no transitions to hear declared Redis
unreachable every ~2.5 s (the subscription shared a 2 s socket timeout). This
runs `--clients` workers on a healthy Redis for `--minutes`, a daemon heartbeat
present, no transition published, and samples `degraded` every 100 ms.

    .venv/bin/python bench/idle_soak.py [--minutes 10] [--clients 4] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import uuid

from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.client import HealthClient
from routeguard.config import parse_catalog
from routeguard.heartbeat import beat

CATALOG = """
providers:
  a: {flavour: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: A_KEY}
  b: {flavour: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: B_KEY}
models:
  m: [a/x, b/x]
"""


class Counting(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def soak(url: str, minutes: float, clients: int) -> None:
    keys = Keys(f"rgbench-soak-{uuid.uuid4().hex[:8]}")
    redis = Redis.from_url(url)
    warnings = Counting()
    logging.getLogger("routeguard").addHandler(warnings)
    catalog = parse_catalog(CATALOG, "soak.yaml")
    workers = [
        HealthClient.from_url(url, config=catalog, key_prefix=keys.prefix) for _ in range(clients)
    ]
    samples = degraded = 0
    try:
        await beat(redis, keys, "soak-daemon")
        for worker in workers:
            await worker.start()
        deadline = time.monotonic() + minutes * 60
        next_beat = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_beat:  # a daemon is there; it just has nothing to say
                await beat(redis, keys, "soak-daemon")
                next_beat = time.monotonic() + 5
            for worker in workers:
                samples += 1
                degraded += worker.degraded
            await asyncio.sleep(0.1)
    finally:
        for worker in workers:
            await worker.close()
        await redis.delete(keys.daemons)
        await redis.aclose()
    print(f"idle soak: {clients} clients x {minutes:g} min on {url}")
    print(f"  degraded samples: {degraded} of {samples}")
    print(f"  warnings logged:  {len(warnings.lines)}")
    for line in warnings.lines[:10]:
        print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    asyncio.run(soak(args.redis_url, args.minutes, args.clients))


if __name__ == "__main__":
    main()
