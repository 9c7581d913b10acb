"""The headline: a primary provider goes hard down and comes back, under load.

Same simulator, same load, same timeline for every system, in one run:
  - routeguard: the daemon probing the routes + a HealthClient in each worker
    (call_with_failover across the model's candidates);
  - LiteLLM Router, its defaults (num_retries=2, allowed_fails=3, cooldown 5 s);
  - LiteLLM Router, its documented production settings (cooldown_time=30,
    allowed_fails=3, num_retries=2, Redis shared state);
  - LiteLLM Router with routeguard's plug-in (routeguard.integrations.litellm):
    num_retries=2, LiteLLM's cooldowns off, the daemon probing as for routeguard.
One public model served by 3 OpenAI-compatible providers (p1 primary, then p2,
p3); 4 worker processes send 50 requests/s in total (open loop); at t0 p1 goes
hard down, at t1 it comes back. LiteLLM's primary preference is its documented
`fallbacks` between model groups (m-p1 -> m-p2 -> m-p3).

Attempts are counted where they happen, by a counting TCP proxy in front of
each provider (bench/_faultproxy.py), never from a system's own bookkeeping.
While down, the proxy resets every connection before any response.

    .venv/bin/python bench/failover.py [--t0 10] [--t1 30] [--end 50] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))

import redis as sync_redis
from _faultproxy import CountingProxy

from routeguard.config import parse_catalog
from routeguard.daemon.app import Daemon, DaemonOptions
from routeguard.sim import SimProvider

KEY = "sk-bench-failover"
PROVIDERS = ("p1", "p2", "p3")
UPSTREAM_MODEL = "llama"
LITELLM_DB = 11
SYSTEMS = ("routeguard", "litellm-default", "litellm-production", "litellm+routeguard")
WITH_DAEMON = ("routeguard", "litellm+routeguard")


def catalog_text(ports: dict[str, int]) -> str:
    lines = ["providers:"]
    for name in PROVIDERS:
        lines.append(
            f'  {name}: {{flavour: openai, base_url: "http://127.0.0.1:{ports[name]}/v1", api_key_env: BENCH_KEY}}'
        )
    lines += ["models:", "  m: [" + ", ".join(f"{p}/{UPSTREAM_MODEL}" for p in PROVIDERS) + "]"]
    lines += ["probes: {interval_s: 5, suspect_interval_s: 0.5, timeout_s: 2, tiers: [completion]}"]
    return "\n".join(lines) + "\n"


# -- workers (separate processes) ---------------------------------------------------


async def _open_loop(spec: dict[str, Any], one: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    n = int(spec["rate"] * spec["end"])
    start = spec["start_at"]
    tasks = []
    for i in range(n):
        delay = start + i / spec["rate"] - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(records)))
    await asyncio.gather(*tasks)
    return records


async def _routeguard_worker(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    from routeguard.client import AttemptFailed, FailoverExhausted, HealthClient
    from routeguard.outcomes import Outcome

    catalog = parse_catalog(spec["catalog"], "bench")
    async with (
        HealthClient.from_url(
            spec["redis_url"], config=catalog, key_prefix=spec["prefix"]
        ) as health,
        httpx.AsyncClient(
            timeout=httpx.Timeout(10, connect=2), limits=httpx.Limits(max_connections=100)
        ) as http,
    ):

        async def attempt(route: str) -> str:
            provider = catalog.provider_of(route)
            try:
                r = await http.post(
                    provider.base_url + "/chat/completions",
                    headers={"authorization": f"Bearer {KEY}"},
                    json={
                        "model": UPSTREAM_MODEL,
                        "messages": [{"role": "user", "content": "hi"}],
                        "max_tokens": 4,
                    },
                )
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                raise AttemptFailed(Outcome.CONNECT_ERROR, type(exc).__name__) from exc
            except httpx.TimeoutException as exc:
                raise AttemptFailed(Outcome.TIMEOUT) from exc
            if r.status_code != 200:
                raise AttemptFailed(
                    Outcome.SERVER_ERROR if r.status_code >= 500 else Outcome.CLIENT_ERROR
                )
            return provider.name

        async def one(records: list[dict[str, Any]]) -> None:
            t = time.time()
            try:
                served = (await health.call_with_failover("m", attempt)).value
            except FailoverExhausted:
                served = None
            records.append({"t": t, "end": time.time(), "served": served})

        seen_open: list[float] = []
        watcher = asyncio.create_task(_watch_p1(health, seen_open))
        records = await _open_loop(spec, one)
        watcher.cancel()
    return {"records": records, "seen_open": seen_open[0] if seen_open else None}


async def _watch_p1(health: Any, seen_open: list[float]) -> None:
    """When this worker's view first shows p1 not closed (convergence of the fleet view)."""
    while True:
        if health.view[f"p1/{UPSTREAM_MODEL}"].state.value != "closed" and not seen_open:
            seen_open.append(time.time())
        await asyncio.sleep(0.001)


def _litellm_router(spec: dict[str, Any]) -> Any:
    import logging

    import litellm
    from litellm import Router

    litellm.suppress_debug_info = True
    logging.getLogger("LiteLLM").setLevel(logging.CRITICAL)
    logging.getLogger("LiteLLM Router").setLevel(logging.CRITICAL)
    model_list = [
        {
            "model_name": f"m-{name}",
            "litellm_params": {
                "model": f"openai/{UPSTREAM_MODEL}",
                "api_base": f"http://127.0.0.1:{port}/v1",
                "api_key": KEY,
            },
        }
        for name, port in spec["ports"].items()
    ]
    kwargs: dict[str, Any] = {"model_list": model_list, "fallbacks": [{"m-p1": ["m-p2", "m-p3"]}]}
    if spec["system"] == "litellm-production":
        kwargs |= {"num_retries": 2, "allowed_fails": 3, "cooldown_time": 30}
        kwargs |= {"redis_host": "127.0.0.1", "redis_port": 6379, "redis_db": LITELLM_DB}
    if spec["system"] == "litellm+routeguard":
        kwargs |= {"num_retries": 2}  # cooldowns: the plug-in turns them off
    return Router(**kwargs)


async def _litellm_worker(spec: dict[str, Any]) -> dict[str, Any]:
    router = _litellm_router(spec)
    return {"records": await _open_loop(spec, _litellm_call(spec, router)), "seen_open": None}


async def _litellm_routeguard_worker(spec: dict[str, Any]) -> dict[str, Any]:
    from routeguard.client import HealthClient
    from routeguard.integrations.litellm import RouteguardCallback

    router = _litellm_router(spec)
    catalog = parse_catalog(spec["catalog"], "bench")
    url, prefix = spec["redis_url"], spec["prefix"]
    async with HealthClient.from_url(url, config=catalog, key_prefix=prefix) as health:
        guard = await RouteguardCallback.for_router(router, health)
        seen_open: list[float] = []
        watcher = asyncio.create_task(_watch_p1(health, seen_open))
        records = await _open_loop(spec, _litellm_call(spec, router))
        watcher.cancel()
        await guard.aclose()
    return {"records": records, "seen_open": seen_open[0] if seen_open else None}


def _litellm_call(spec: dict[str, Any], router: Any) -> Any:
    """One request through LiteLLM's Router, recording which provider served it."""
    by_port = {str(port): name for name, port in spec["ports"].items()}

    async def one(records: list[dict[str, Any]]) -> None:
        t = time.time()
        served = None
        try:
            response = await router.acompletion(
                model="m-p1", messages=[{"role": "user", "content": "hi"}], max_tokens=4, timeout=10
            )
            base = str(response._hidden_params.get("api_base", ""))
            served = next((n for p, n in by_port.items() if f":{p}/" in base), "?")
        except Exception:
            served = None
        records.append({"t": t, "end": time.time(), "served": served})

    return one


WORKERS = {
    "routeguard": _routeguard_worker,
    "litellm-default": _litellm_worker,
    "litellm-production": _litellm_worker,
    "litellm+routeguard": _litellm_routeguard_worker,
}


def worker_main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    Path(out_path).write_text(json.dumps(asyncio.run(WORKERS[spec["system"]](spec))))


# -- the scenario (this process: simulators, proxies, daemon, timeline) -------------


@dataclass
class Figures:
    system: str
    requests: int
    rps: float
    detection_s: float | None
    open_s: float | None
    closed_s: float | None
    convergence_ms: float | None
    dead_total: int
    dead_after_detection: int
    failures: int
    resume_s: float | None


def _detection(attempts: list[float], t0: float, t1: float) -> float | None:
    """t0 -> the last attempt before the first quiet second (the system stopped sending)."""
    during = sorted(a for a in attempts if t0 <= a < t1)
    if not during:
        return 0.0
    for here, nxt in zip(during, [*during[1:], t1], strict=True):
        if nxt - here >= 1.0:
            return here - t0
    return None


async def run_system(
    system: str, args: argparse.Namespace, redis_url: str, folder: Path
) -> Figures:
    sims = [SimProvider(p, "openai", (UPSTREAM_MODEL,), KEY) for p in PROVIDERS]
    for sim in sims:
        await sim.start()
    proxies = {sim.name: CountingProxy(sim.port) for sim in sims}
    for proxy in proxies.values():
        await proxy.start()
    ports = {name: proxy.port for name, proxy in proxies.items()}
    prefix = f"rgbench-failover-{uuid.uuid4().hex[:8]}"
    text = catalog_text(ports)
    daemon = None
    if system in WITH_DAEMON:
        options = DaemonOptions(http_port=0, key_prefix=prefix, env={"BENCH_KEY": KEY})
        daemon = Daemon(parse_catalog(text, "bench"), redis_url, options)
        await daemon.start()
    start_at = time.time() + 15  # every worker has imported its system (LiteLLM: ~10 s)
    spec = {
        "system": system,
        "rate": args.rate / args.workers,
        "end": args.end,
        "start_at": start_at,
    }
    spec |= {"catalog": text, "ports": ports, "redis_url": redis_url, "prefix": prefix}
    procs, outs = [], []
    for i in range(args.workers):
        spec_path, out_path = folder / f"{system}-{i}.json", folder / f"{system}-{i}.out"
        spec_path.write_text(json.dumps(spec))
        outs.append(out_path)
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--worker", str(spec_path), str(out_path)
            )
        )
    t0, t1 = start_at + args.t0, start_at + args.t1
    await asyncio.sleep(t0 - time.time())
    proxies["p1"].set_down(True)
    await asyncio.sleep(t1 - time.time())
    proxies["p1"].set_down(False)
    for proc in procs:
        await asyncio.wait_for(proc.wait(), timeout=args.end + 60)
    results = [json.loads(o.read_text()) for o in outs]
    opened = closed = None
    if daemon is not None:
        assert daemon.store is not None
        events = await daemon.store.events(count=10_000)
        if args.events:
            for e in (e for e in events if e.route.startswith("p1/")):
                at = e.at_ms / 1000 - start_at
                print(
                    f"  {system} t={at:6.2f}s {e.from_state.value:>9} -> {e.to_state.value:<9} {e.reason.value}"
                )
        opened = next(
            (
                e.at_ms / 1000
                for e in events
                if e.route.startswith("p1/") and e.to_state.value == "open" and e.at_ms / 1000 >= t0
            ),
            None,
        )
        closed = next(
            (
                e.at_ms / 1000
                for e in events
                if e.route.startswith("p1/")
                and e.to_state.value == "closed"
                and e.at_ms / 1000 >= t1
            ),
            None,
        )
        await daemon.stop()
        _delete(redis_url, f"{{{prefix}}}*", 0)
    for proxy in proxies.values():
        await proxy.stop()
    for sim in sims:
        await sim.stop()
    return _figures(system, results, proxies["p1"].attempts, (t0, t1), (opened, closed), args)


def _figures(
    system: str,
    results: list[dict[str, Any]],
    attempts: list[float],
    outage: tuple[float, float],
    breaker: tuple[float | None, float | None],
    args: argparse.Namespace,
) -> Figures:
    (t0, t1), (opened, closed) = outage, breaker
    records = [r for res in results for r in res["records"]]
    detection = _detection(attempts, t0, t1)
    seen = [res["seen_open"] for res in results if res["seen_open"]]
    convergence = (max(seen) - opened) * 1000 if opened and len(seen) == len(results) else None
    cutoff = t0 + (detection if detection is not None else t1 - t0)
    resumed = sorted(r["end"] for r in records if r["served"] == "p1" and r["t"] >= t1)
    return Figures(
        system=system,
        requests=len(records),
        rps=len(records) / args.end,
        detection_s=detection,
        open_s=None if opened is None else opened - t0,
        closed_s=None if closed is None else closed - t1,
        convergence_ms=convergence,
        dead_total=sum(1 for a in attempts if t0 <= a < t1),
        dead_after_detection=sum(1 for a in attempts if cutoff < a < t1),
        failures=sum(1 for r in records if r["served"] is None),
        resume_s=resumed[0] - t1 if resumed else None,
    )


def _delete(url: str, pattern: str, db: int) -> None:
    client = sync_redis.Redis.from_url(url, db=db)
    for key in client.scan_iter(match=pattern, count=1000):
        client.delete(key)
    client.close()


def _fmt(value: float | int | None, unit: str = "", digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def report(figures: list[Figures], args: argparse.Namespace) -> None:
    import importlib.metadata as md

    print(f"\nversions: routeguard {md.version('routeguard')}, litellm {md.version('litellm')}")
    print(
        f"load {args.rate} req/s from {args.workers} worker processes; p1 down at t={args.t0}s, back at t={args.t1}s, end t={args.end}s\n"
    )
    rows = [
        ("requests sent (achieved req/s)", lambda f: f"{f.requests} ({f.rps:.1f}/s)"),
        ("detection: t0 -> stops sending to p1", lambda f: _fmt(f.detection_s, " s")),
        ("t0 -> breaker open (fleet state)", lambda f: _fmt(f.open_s, " s")),
        ("open -> last worker's view", lambda f: _fmt(f.convergence_ms, " ms", 1)),
        ("t1 -> breaker closed (fleet state)", lambda f: _fmt(f.closed_s, " s")),
        ("user-visible failures", lambda f: _fmt(f.failures)),
        ("attempts into dead p1 (whole outage)", lambda f: _fmt(f.dead_total)),
        ("attempts into dead p1 after detection", lambda f: _fmt(f.dead_after_detection)),
        ("t1 -> first request served by p1", lambda f: _fmt(f.resume_s, " s")),
        ("breaker closed -> first served by p1", lambda f: _fmt(_follow_ms(f), " ms", 0)),
    ]
    print(f"{'':40}" + "".join(f"{f.system:>22}" for f in figures))
    for label, cell in rows:
        print(f"{label:40}" + "".join(f"{cell(f):>22}" for f in figures))
    ours = [f for f in figures if f.system in WITH_DAEMON]
    for rg in ours:
        for peer in (f for f in figures if f.system not in WITH_DAEMON):
            print(f"\n{rg.system} vs {peer.system}:")
            print(
                f"  attempts into dead p1   {_fmt(rg.dead_total):>8} vs {_fmt(peer.dead_total):>8}   {_ratio(rg.dead_total, peer.dead_total, 'fewer', 'more')}"
            )
            print(f"  user-visible failures   {_fmt(rg.failures):>8} vs {_fmt(peer.failures):>8}")
            print(
                f"  time to resume p1       {_fmt(rg.resume_s, ' s'):>8} vs {_fmt(peer.resume_s, ' s'):>8}   {_ratio(rg.resume_s, peer.resume_s, 'sooner', 'later')}"
            )


def _follow_ms(f: Figures) -> float | None:
    """How soon traffic followed the fleet breaker's close (the breaker's own timing aside)."""
    if f.resume_s is None or f.closed_s is None:
        return None
    return (f.resume_s - f.closed_s) * 1000


def _ratio(ours: float | None, theirs: float | None, better: str, worse: str) -> str:
    if not ours or not theirs:
        return ""
    return (
        f"({theirs / ours:.1f}x {better})" if ours <= theirs else f"({ours / theirs:.1f}x {worse})"
    )


async def main_async(args: argparse.Namespace) -> None:
    import logging

    # The simulator complains when the proxy resets a connection it is answering.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    url = os.environ.get("ROUTEGUARD_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    before = set(sync_redis.Redis.from_url(url, db=LITELLM_DB).keys("*"))
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        for system in args.systems.split(","):
            print(f"running {system} ...", flush=True)
            figures.append(await run_system(system, args, url, Path(tmp)))
    client = sync_redis.Redis.from_url(url, db=LITELLM_DB)
    for key in set(client.keys("*")) - before:
        client.delete(key)  # only what this run's LiteLLM wrote
    report(figures, args)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--t0", type=float, default=10)
    parser.add_argument("--t1", type=float, default=30)
    parser.add_argument("--end", type=float, default=50)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--events", action="store_true", help="print p1's transitions")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
