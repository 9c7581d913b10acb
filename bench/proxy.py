"""Added latency of `routeguard proxy` over a direct call, beside the LiteLLM proxy.

One simulated OpenAI provider (no faults, latency_s = ttft_s = 0, so what is
measured is the proxies' own cost) serves the same upstream model three ways,
in the same run:
  - direct: the load generator calls the simulator itself;
  - litellm: the LiteLLM proxy server (`litellm --config`), one worker, no
    database, no logging callbacks, spend and error logs off, a master key;
  - routeguard: `routeguard proxy` with the catalog and a caller key (no daemon:
    with no breaker state in Redis every route counts as closed).
Each runs as its own process on 127.0.0.1; the load generator is this process
(httpx, the same code for all three: one client of one connection per stream in
flight, see Clients). Streamed chat completions:
  - closed loop at fixed concurrencies (50, 200): a bounded count after a warm-up;
  - open loop at a fixed rate (200 req/s) for N seconds, latency taken from
    each request's scheduled start (no coordinated omission);
  - a ramp of open-loop steps until p99 passes 10x the direct p99, errors
    appear, or a backlog builds: the most req/s each target sustained here.
Per request: time to the first content byte (TTFT) and to the end of the stream.
Added latency = a target's percentile minus the direct one's in the same cell.
CPU ms per request = the proxy process's CPU time over the cell / requests.

It prints figures and asserts nothing. The load generator, the simulator and
the proxy share the machine's cores; nothing is pinned.

    .venv/bin/python bench/proxy.py [--requests 1000] [--concurrency 50,200]
        [--rate 200] [--seconds 10] [--only direct,litellm,routeguard]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata as md
import importlib.util
import json
import math
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
import redis as sync_redis

from routeguard.config import parse_catalog

SIM_KEY = "sk-bench-sim"
CALLER_KEY = "sk-bench-caller"
UPSTREAM_MODEL = "llama"
PUBLIC_MODEL = "bench-chat"
MAX_TOKENS = 8  # the simulator's answer, cut to 8 words: 8 content chunks per stream
TARGETS = ("direct", "litellm", "routeguard")
BIN = Path(sys.executable).parent
CONTENT = re.compile(rb'"content":\s*"[^"]')  # a chunk with non-empty text
READY_DEADLINE_S = 120.0
OPEN_WARMUP = 50  # requests (10 at a time) before an open-loop phase: connections
RAMP_FACTOR = 10.0  # a ramp step fails once its p99 passes 10x the direct p99


# -- processes ---------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(name: str, argv: list[str], folder: Path, env: dict[str, str]) -> Server:
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=folder,
            env={**os.environ, **env},
        )  # fmt: skip
    return Server(name, proc, log)


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)


async def wait_ready(server: Server, url: str, headers: dict[str, str]) -> float:
    """Poll `url` until it answers 200; seconds taken. Raises with the log's tail."""
    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=2) as client:
        while time.perf_counter() - start < READY_DEADLINE_S:
            if server.proc.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url, headers=headers)).status_code == 200:
                    return time.perf_counter() - start
            await asyncio.sleep(0.25)
    tail = server.log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{server.name} not ready at {url} (exit {server.proc.poll()}):\n{tail}")


def start_sim(folder: Path, port: int) -> Server:
    doc = {
        "providers": [
            {
                "name": "sim",
                "flavour": "openai",
                "vendor": "openai",
                "models": [UPSTREAM_MODEL],
                "api_key": SIM_KEY,
                "port": port,
                "faults": {"latency_s": 0, "ttft_s": 0},
            }
        ]
    }
    path = folder / "sim.yaml"
    path.write_text(json.dumps(doc))  # JSON is YAML
    return spawn("sim", [str(BIN / "routeguard"), "sim", "--config", str(path)], folder, {})


def litellm_config(sim_port: int) -> dict[str, object]:
    return {
        "model_list": [
            {
                "model_name": PUBLIC_MODEL,
                "litellm_params": {
                    "model": f"openai/{UPSTREAM_MODEL}",
                    "api_base": f"http://127.0.0.1:{sim_port}/v1",
                    "api_key": SIM_KEY,
                },
            }
        ],
        "litellm_settings": {
            "set_verbose": False,
            "json_logs": False,
            "callbacks": [],
            "success_callback": [],
            "failure_callback": [],
        },
        "general_settings": {
            "master_key": CALLER_KEY,
            "disable_spend_logs": True,
            "disable_error_logs": True,
        },
    }


def start_litellm(folder: Path, sim_port: int, port: int) -> Server:
    path = folder / "litellm.yaml"
    path.write_text(json.dumps(litellm_config(sim_port)))
    argv = [str(BIN / "litellm"), "--config", str(path), "--host", "127.0.0.1", "--port", str(port)]
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    return spawn("litellm", argv, folder, env)


def catalog_text(sim_port: int) -> str:
    return (
        "providers:\n"
        f'  sim: {{flavour: openai, base_url: "http://127.0.0.1:{sim_port}/v1", api_key_env: SIM_KEY}}\n'
        f"models:\n  {PUBLIC_MODEL}: [sim/{UPSTREAM_MODEL}]\n"
    )


def start_routeguard(folder: Path, sim_port: int, port: int, redis_url: str, prefix: str) -> Server:
    path = folder / "catalog.yaml"
    path.write_text(catalog_text(sim_port))
    parse_catalog(path.read_text(), str(path))  # a bad catalog fails here, not in the proxy
    env = {
        "ROUTEGUARD_CONFIG": str(path),
        "ROUTEGUARD_REDIS_URL": redis_url,
        "ROUTEGUARD_KEY_PREFIX": prefix,
        "ROUTEGUARD_PROXY_ADDR": f"127.0.0.1:{port}",
        "ROUTEGUARD_PROXY_API_KEYS": CALLER_KEY,
        "SIM_KEY": SIM_KEY,
    }
    return spawn("routeguard", [str(BIN / "routeguard"), "proxy"], folder, env)


# -- Redis (routeguard only) -------------------------------------------------------------


def _answers(url: str) -> bool:
    try:
        client = sync_redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        ok = bool(client.ping())
        client.close()
        return ok
    except (sync_redis.RedisError, OSError):
        return False


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    """The machine's Redis if one answers, else an embedded one for this run."""
    url = os.environ.get("ROUTEGUARD_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    if url != "embedded" and _answers(url):
        yield url
        return
    from routeguard.embedded_redis import EmbeddedRedis

    with EmbeddedRedis() as server:
        yield server.url


def delete_prefix(url: str, prefix: str) -> int:
    """UNLINK this run's keys (`{prefix}...`) and nothing else; how many."""
    client = sync_redis.Redis.from_url(url)
    batch: list[bytes] = []
    count = 0
    for key in client.scan_iter(match=f"{{{prefix}}}*", count=1000):
        batch.append(key)
        if len(batch) == 500:
            count += int(client.unlink(*batch))
            batch.clear()
    if batch:
        count += int(client.unlink(*batch))
    client.close()
    return count


# -- CPU time of a process tree ------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its children (psutil), else of `pid` (/proc)."""
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


# -- load --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    headers: dict[str, str]
    body: bytes
    pid: int | None  # the proxy whose CPU is read; None: direct


def target(name: str, base: str, model: str, key: str, pid: int | None) -> Target:
    doc = {
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": MAX_TOKENS,
        "stream": True,
    }
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    return Target(name, f"{base}/chat/completions", headers, json.dumps(doc).encode(), pid)


@dataclass
class Cell:
    target: str
    label: str
    ttft: list[float] = field(default_factory=list)  # ms
    total: list[float] = field(default_factory=list)  # ms
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_ms: float | None = None  # per request
    backlog: bool = False  # open loop: stopped launching, too many in flight

    def add(self, outcome: tuple[float, float] | str) -> None:
        if isinstance(outcome, str):
            self.errors[outcome] += 1
        else:
            self.ttft.append(outcome[0])
            self.total.append(outcome[1])

    @property
    def rps(self) -> float:
        return len(self.total) / self.seconds if self.seconds else 0.0

    def p(self, which: str, q: float) -> float | None:
        values = sorted(self.ttft if which == "ttft" else self.total)
        return values[min(len(values) - 1, int(q * len(values)))] if values else None


class Clients:
    """httpx clients of one connection each, one lent to each request in flight.

    One shared client's pool costs more the more connections it holds (here: 0.9 ms
    of client CPU per streamed request at 1 connection, 5 ms at 200), which made the
    load generator the bottleneck; a client per stream stays near 0.75 ms. They share
    one TLS context (unused: plain HTTP), which a new client would otherwise build
    anew from the CA bundle, stalling the loop for milliseconds each.
    """

    def __init__(self) -> None:
        self.tls = ssl.create_default_context()
        self.free: list[httpx.AsyncClient] = []
        self.every: list[httpx.AsyncClient] = []

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for client in self.every:
            await client.aclose()

    @contextlib.asynccontextmanager
    async def lend(self) -> AsyncIterator[httpx.AsyncClient]:
        if not self.free:
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            timeout = httpx.Timeout(30, connect=5)
            client = httpx.AsyncClient(limits=limits, timeout=timeout, verify=self.tls)
            self.every.append(client)
            self.free.append(client)
        client = self.free.pop()
        try:
            yield client
        finally:
            self.free.append(client)


async def one(clients: Clients, t: Target, start: float) -> tuple[float, float] | str:
    """One streamed completion: (TTFT ms, total ms) from `start`, or what went wrong."""
    head, tail, ttft = b"", b"", None
    try:
        async with (
            clients.lend() as client,
            client.stream("POST", t.url, content=t.body, headers=t.headers) as r,
        ):
            if r.status_code != 200:
                await r.aread()
                return f"HTTP {r.status_code}"
            async for chunk in r.aiter_raw():
                if ttft is None:
                    head += chunk
                    if CONTENT.search(head):
                        ttft = time.perf_counter() - start
                tail = (tail + chunk)[-64:]
    except httpx.HTTPError as exc:
        return type(exc).__name__
    total = time.perf_counter() - start
    if ttft is None:
        return "no content"
    if b"data: [DONE]" not in tail:
        return "no [DONE]"
    return ttft * 1000, total * 1000


async def drive(clients: Clients, t: Target, concurrency: int, count: int) -> Cell:
    """Closed loop: `concurrency` streams at a time until `count` requests are done."""
    cell = Cell(t.name, f"c={concurrency}")
    left = count

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            cell.add(await one(clients, t, time.perf_counter()))

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cell.seconds = time.perf_counter() - start
    return cell


async def pace(clients: Clients, t: Target, rate: float, seconds: float) -> Cell:
    """Open loop: request i starts at i/rate s; stops launching past 1 s of backlog."""
    cell = Cell(t.name, f"{rate:g}/s")
    inflight: set[asyncio.Task[None]] = set()

    async def record(at: float) -> None:
        cell.add(await one(clients, t, at))

    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        at = start + i / rate
        if (delay := at - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        if len(inflight) > max(rate, 50):
            cell.backlog = True
            break
        task = asyncio.create_task(record(at))
        inflight.add(task)
        task.add_done_callback(inflight.discard)
    await asyncio.gather(*inflight)
    cell.seconds = time.perf_counter() - start
    return cell


def with_cpu(t: Target, before: float | None, cell: Cell) -> Cell:
    if t.pid is not None and before is not None and cell.total:
        cell.cpu_ms = (cpu_seconds(t.pid) - before) * 1000 / (len(cell.total) + cell.errors.total())
    return cell


async def closed_cell(t: Target, concurrency: int, count: int, warmup: int) -> Cell:
    async with Clients() as clients:
        await drive(clients, t, concurrency, warmup)
        before = cpu_seconds(t.pid) if t.pid else None
        return with_cpu(t, before, await drive(clients, t, concurrency, count))


async def open_cell(t: Target, rate: float, seconds: float) -> Cell:
    async with Clients() as clients:
        await drive(clients, t, 10, OPEN_WARMUP)
        before = cpu_seconds(t.pid) if t.pid else None
        return with_cpu(t, before, await pace(clients, t, rate, seconds))


def step_failure(cell: Cell, ceiling_ms: float) -> str | None:
    """Why a ramp step did not hold its rate, or None."""
    p99 = cell.p("total", 0.99)
    if cell.errors:
        return f"{cell.errors.total()} errors ({cell.errors.most_common(1)[0][0]})"
    if cell.backlog:
        return "over 1 s of requests in flight"
    if p99 is None or p99 > ceiling_ms:
        return f"p99 {_ms(p99)} ms > {ceiling_ms:.1f} ms"
    return None


@dataclass
class Ramp:
    target: str
    held: float | None = None  # the highest rate that held
    failed: float | None = None  # the lowest rate that did not
    why: str = ""
    steps: list[str] = field(default_factory=list)


async def ramp(t: Target, args: argparse.Namespace, ceiling_ms: float) -> Ramp:
    """Double the rate until a step fails, then bisect (geometric) between held and failed."""
    result = Ramp(t.name)
    async with Clients() as clients:
        await drive(clients, t, 10, OPEN_WARMUP)

        async def holds(rate: float) -> bool:
            why = None
            for _ in range(2):  # a failed step runs once more: one stall is noise, two are not
                why = step_failure(await pace(clients, t, rate, args.ramp_seconds), ceiling_ms)
                if why is None:
                    break
            result.steps.append(f"{rate:.0f}{'' if why is None else '!'}")
            if why is None:
                result.held = max(result.held or 0, rate)
            elif result.failed is None or rate < result.failed:
                result.failed, result.why = rate, why
            return why is None

        rate = args.ramp_start
        while rate <= args.ramp_max and await holds(rate):
            rate *= 2
        for _ in range(args.ramp_refine):
            if result.failed is None:
                break
            low = result.held or result.failed / 4
            await holds(round(math.sqrt(low * result.failed)))
    return result


# -- the run -------------------------------------------------------------------------------


@dataclass
class Results:
    closed: list[Cell] = field(default_factory=list)
    open: list[Cell] = field(default_factory=list)
    ramps: list[Ramp] = field(default_factory=list)
    ceiling_ms: float | None = None


async def measure(targets: list[Target], args: argparse.Namespace) -> Results:
    res = Results()
    for concurrency in args.concurrency:
        for t in targets:
            print(f"  closed loop c={concurrency}: {t.name} ...", flush=True)
            res.closed.append(await closed_cell(t, concurrency, args.requests, args.warmup))
    for t in targets:
        print(f"  open loop {args.rate:g}/s for {args.seconds:g} s: {t.name} ...", flush=True)
        res.open.append(await open_cell(t, args.rate, args.seconds))
    direct = next((c for c in res.open if c.target == "direct"), None)
    reference = direct.p("total", 0.99) if direct else None
    res.ceiling_ms = RAMP_FACTOR * reference if reference else args.ramp_ceiling_ms
    for t in targets if args.ramp_seconds > 0 else []:
        print(f"  ramp: {t.name} ...", flush=True)
        res.ramps.append(await ramp(t, args, res.ceiling_ms))
    return res


async def start_all(
    args: argparse.Namespace, folder: Path, url: str, prefix: str, servers: list[Server]
) -> list[Target]:
    """Start the simulator and the proxies asked for; the targets, direct first."""
    sim_port = free_port()
    sim = start_sim(folder, sim_port)
    servers.append(sim)
    sim_base = f"http://127.0.0.1:{sim_port}/v1"
    await wait_ready(sim, f"{sim_base}/models", {"authorization": f"Bearer {SIM_KEY}"})
    targets, waits = [], []
    if "direct" in args.only:
        targets.append(target("direct", sim_base, UPSTREAM_MODEL, SIM_KEY, None))
    for name in ("litellm", "routeguard"):
        if name not in args.only:
            continue
        port = free_port()
        if name == "litellm":
            server, ready = start_litellm(folder, sim_port, port), "/health/readiness"
        else:
            server, ready = start_routeguard(folder, sim_port, port, url, prefix), "/readyz"
        servers.append(server)
        base = f"http://127.0.0.1:{port}"
        targets.append(target(name, f"{base}/v1", PUBLIC_MODEL, CALLER_KEY, server.proc.pid))
        waits.append(wait_ready(server, base + ready, {"authorization": f"Bearer {CALLER_KEY}"}))
    await asyncio.gather(*waits)
    for t in targets:
        await smoke(t)
    return targets


async def smoke(t: Target) -> None:
    """One streamed call before any figure: it must succeed (and say which route served it)."""
    async with Clients() as clients, clients.lend() as client:
        r = await client.post(t.url, content=t.body, headers=t.headers)
    if r.status_code != 200 or b"data: [DONE]" not in r.content:
        raise RuntimeError(f"{t.name}: {r.status_code} {r.content[:500]!r}")
    route = r.headers.get("x-routeguard-route")
    print(f"  {t.name}: {t.url} answers" + (f" (x-routeguard-route: {route})" if route else ""))


async def main_async(args: argparse.Namespace) -> None:
    if "routeguard" in args.only and importlib.util.find_spec("routeguard.proxy") is None:
        print("routeguard proxy: not in this install (routeguard.proxy is missing); skipped")
        args.only = [name for name in args.only if name != "routeguard"]
    header(args)
    prefix = f"bench-proxy-{uuid.uuid4().hex[:10]}"
    servers: list[Server] = []
    with TemporaryDirectory(prefix="rg-bench-proxy-") as tmp, redis_url() as url:
        try:
            targets = await start_all(args, Path(tmp), url, prefix, servers)
            results = await measure(targets, args)
        finally:
            for server in reversed(servers):
                stop(server)
            if "routeguard" in args.only:
                delete_prefix(url, prefix)
    report(results, args)


# -- the figures ---------------------------------------------------------------------------


def header(args: argparse.Namespace) -> None:
    versions = f"routeguard {md.version('routeguard')} {_commit()}"
    with contextlib.suppress(md.PackageNotFoundError):
        versions += f", litellm {md.version('litellm')}"
    print(f"proxy overhead bench ({versions}, Python {sys.version.split()[0]})")
    print(
        f"  {os.cpu_count()} cores SHARED by the load generator (this process, httpx), the simulator\n"
        "  and each proxy (one process each, one worker); nothing pinned: absolute figures\n"
        "  include that contention, the three targets meet it alike."
    )
    print(
        f"  load average before the run: {_load()} (other work on the machine skews every figure)"
    )
    print(
        f"  simulator: openai flavour, no faults, latency_s = ttft_s = 0; streams of {MAX_TOKENS} content chunks\n"
        f"  closed loop: {args.requests} requests per cell after {args.warmup} warm-up, concurrency {args.concurrency}\n"
        f"  open loop: {args.rate:g} req/s for {args.seconds:g} s; ramp: {args.ramp_seconds:g} s steps from {args.ramp_start:g}/s, doubled, then bisected\n"
        "  LiteLLM proxy: master key, no DB, no callbacks, spend/error logs off, LITELLM_LOG=ERROR, local cost map\n"
        "  routeguard proxy: caller key, its own Redis key prefix, no daemon (every route reads closed)\n",
        flush=True,
    )


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"at {out.stdout.strip()}"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def _added(cell: Cell, direct: Cell | None, which: str, q: float) -> float | None:
    ours, base = cell.p(which, q), direct.p(which, q) if direct else None
    return None if ours is None or base is None or cell.target == "direct" else ours - base


COLUMNS = (
    f"{'target':<11}{'cell':>8}{'n':>6}{'req/s':>8}{'err':>5}"
    f"{'TTFT p50':>10}{'p99':>8}{'total p50':>11}{'p99':>8}"
    f"{'+TTFT p50':>11}{'p99':>8}{'+total p50':>12}{'p99':>8}{'CPU ms/req':>12}"
)


def row(cell: Cell, direct: Cell | None) -> str:
    added = [_added(cell, direct, w, q) for w in ("ttft", "total") for q in (0.5, 0.99)]
    cpu = "-" if cell.cpu_ms is None else f"{cell.cpu_ms:.2f}"
    return (
        f"{cell.target:<11}{cell.label:>8}{len(cell.total):>6}{cell.rps:>8.0f}{cell.errors.total():>5}"
        f"{_ms(cell.p('ttft', 0.5)):>10}{_ms(cell.p('ttft', 0.99)):>8}"
        f"{_ms(cell.p('total', 0.5)):>11}{_ms(cell.p('total', 0.99)):>8}"
        f"{_ms(added[0]):>11}{_ms(added[1]):>8}{_ms(added[2]):>12}{_ms(added[3]):>8}{cpu:>12}"
    )


def table(title: str, cells: list[Cell]) -> None:
    print(f"\n{title}  (ms; + = added over direct in the same cell)")
    print(COLUMNS)
    for label in dict.fromkeys(c.label for c in cells):
        group = [c for c in cells if c.label == label]
        direct = next((c for c in group if c.target == "direct"), None)
        for cell in group:
            print(row(cell, direct))
            for reason, n in cell.errors.most_common(3):
                print(f"{'':19}error: {n} x {reason}")
            if cell.backlog:
                print(
                    f"{'':19}did not hold the rate: stopped sending at over 1 s of requests in flight"
                )


def ratios(cells: list[Cell]) -> None:
    print("\nrouteguard added p50 / LiteLLM added p50 (target < 0.25):")
    for label in dict.fromkeys(c.label for c in cells):
        group = {c.target: c for c in cells if c.label == label}
        if not {"direct", "litellm", "routeguard"} <= group.keys():
            continue
        parts = []
        for which in ("ttft", "total"):
            rg = _added(group["routeguard"], group["direct"], which, 0.5)
            ll = _added(group["litellm"], group["direct"], which, 0.5)
            ratio = "n/a" if rg is None or not ll or ll <= 0 else f"{rg / ll:.3f}"
            parts.append(f"{which} {ratio} ({_ms(rg)} / {_ms(ll)} ms)")
        print(f"  {label:>8}: " + ", ".join(parts))


def report(res: Results, args: argparse.Namespace) -> None:
    print(f"\nload average after the run: {_load()}")
    table("closed loop", res.closed)
    table(f"open loop at {args.rate:g} req/s for {args.seconds:g} s", res.open)
    rg = next((c for c in res.open if c.target == "routeguard"), None)
    direct = next((c for c in res.open if c.target == "direct"), None)
    if rg is not None and direct is not None:
        added = _added(rg, direct, "total", 0.99)
        print(
            f"  routeguard added p99 (total) at {args.rate:g} req/s: {_ms(added)} ms (target <= 5 ms)"
        )
    ratios(res.closed + res.open)
    if res.ramps:
        print(
            f"\nramp: most req/s held for {args.ramp_seconds:g} s (no errors, under 1 s in flight,"
            f" p99 <= {_ms(res.ceiling_ms)} ms = {RAMP_FACTOR:g}x direct p99 at {args.rate:g}/s)"
        )
        for r in res.ramps:
            held = "none" if r.held is None else f"{r.held:.0f}/s"
            failed = "" if r.failed is None else f"; at {r.failed:.0f}/s: {r.why}"
            print(
                f"  {r.target:<11}{held:>8}{failed}   (steps: {' '.join(r.steps)}; ! = failed twice)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per closed-loop cell")
    parser.add_argument("--warmup", type=int, default=200, help="requests before each cell")
    parser.add_argument("--concurrency", type=_ints, default=[50, 200], help="e.g. 50,200")
    parser.add_argument("--rate", type=float, default=200, help="open-loop req/s")
    parser.add_argument("--seconds", type=float, default=10, help="open-loop duration")
    parser.add_argument("--ramp-start", type=float, default=25, help="req/s, doubled per step")
    parser.add_argument("--ramp-max", type=float, default=3200)
    parser.add_argument("--ramp-refine", type=int, default=3, help="bisection steps")
    parser.add_argument("--ramp-seconds", type=float, default=3, help="per step; 0: no ramp")
    parser.add_argument(
        "--ramp-ceiling-ms", type=float, default=100, help="ramp p99 limit without direct"
    )
    parser.add_argument(
        "--only", type=_names, default=list(TARGETS), help="direct,litellm,routeguard"
    )
    try:
        asyncio.run(main_async(parser.parse_args()))
    except KeyboardInterrupt:  # the servers were stopped on the way out
        sys.exit(130)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = set(names) - set(TARGETS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown target(s): {', '.join(sorted(unknown))}")
    return names


if __name__ == "__main__":
    main()
