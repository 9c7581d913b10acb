"""Probe scheduling at scale: providers x models routes on the simulator, N daemons.

The simulator (its own process) serves `--providers` x `--models` routes; each
daemon (`routeguard run`, its own process, all on one key prefix so their probe
leases split the work) probes every route's completion tier and every
provider's liveness tier at `--interval`. Printed: schedule lag p50/p99
(planned, jittered start vs actual start, from the daemons' own
`routeguard_probe_schedule_lag_seconds`), probes/s, and each daemon's probes/s,
CPU % of one core and RSS, and what one whole /metrics scrape costs it (size,
time, CPU). The figures are read with `/metrics?name[]=`, which costs nearly
nothing; `--scrape-every S` adds whole scrapes as Prometheus would make them.
Loopback only; everything stops by itself.

    .venv/bin/python bench/probes.py [--duration 120] [--providers 50] [--models 20]
        [--interval 10] [--replicas 1] [--scrape-every 0] [--warmup 15]
    .venv/bin/python bench/probes.py --providers 100 --models 100 --interval 30   # 10,000 routes
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

KEY = "sk-bench-probes"
WARMUP_S = 15
LAG = ("routeguard_probe_schedule_lag_seconds_bucket",)
PROBES = ("routeguard_probes_total",)
"""What the figures are read from (`/metrics?name[]=`: no Redis read). The probe counts
(a series per route and outcome) are read a few seconds away from the lag's window, so
the time their reading takes never shows as lag."""
SETTLE_S = 3.0


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def write_configs(
    folder: Path, providers: int, models: int, interval_s: float
) -> tuple[Path, Path]:
    ports = free_ports(providers)
    sim = ["providers:"]
    catalog = ["providers:"]
    routes = ["models:"]
    for i, port in enumerate(ports[:providers]):
        names = [f"model-{j}" for j in range(models)]
        sim += [
            f"  - {{name: p{i}, flavour: openai, models: [{', '.join(names)}], api_key: {KEY}, port: {port}}}"
        ]
        catalog += [
            f'  p{i}: {{flavour: openai, base_url: "http://127.0.0.1:{port}/v1", api_key_env: BENCH_KEY}}'
        ]
        routes += [f"  m{i}-{j}: [p{i}/model-{j}]" for j in range(models)]
    catalog += routes
    catalog += [
        f"probes: {{interval_s: {interval_s:g}, timeout_s: 5, tiers: [liveness, completion]}}"
    ]
    (folder / "sim.yaml").write_text("\n".join(sim) + "\n")
    (folder / "catalog.yaml").write_text("\n".join(catalog) + "\n")
    return folder / "sim.yaml", folder / "catalog.yaml"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def lag_buckets(
    metrics: dict[str, list[tuple[dict[str, str], float]]],
) -> list[tuple[float, float]]:
    totals: dict[float, float] = {}
    for labels, value in metrics.get("routeguard_probe_schedule_lag_seconds_bucket", []):
        le = float(labels["le"])
        totals[le] = totals.get(le, 0.0) + value
    return sorted(totals.items())


def quantile(before: list[tuple[float, float]], after: list[tuple[float, float]], q: float) -> str:
    """Quantile of the observations between two scrapes (upper bucket bound)."""
    prior = dict(before)
    counts = [(le, n - prior.get(le, 0.0)) for le, n in after]
    total = counts[-1][1] if counts else 0
    if total <= 0:
        return "n/a"
    for le, n in counts:
        if n >= q * total:
            return f"<= {le * 1000:.0f} ms" if le != float("inf") else "> 5 s"
    return "n/a"


def probes_total(metrics: dict[str, list[tuple[dict[str, str], float]]]) -> float:
    return sum(v for _, v in metrics.get("routeguard_probes_total", []))


def redis_url() -> str:
    url = os.environ.get("ROUTEGUARD_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return url
    except (redis.RedisError, OSError):
        sys.exit(f"error: no Redis answers at {url}; set ROUTEGUARD_TEST_REDIS_URL")


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def wait_ready(url: str, deadline_s: float = 30) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    sys.exit("error: the daemon did not become ready")


class Daemon:
    """One `routeguard run` replica: its process, HTTP address and the figures read off it."""

    def __init__(self, name: str, catalog: Path, env: dict[str, str], log: Path) -> None:
        port = free_ports(1)[0]
        self.name, self.base = name, f"http://127.0.0.1:{port}"
        routeguard = str(Path(sys.executable).parent / "routeguard")
        self.proc = start(
            [routeguard, "run", "--config", str(catalog)],
            {**env, "ROUTEGUARD_HTTP_ADDR": f"127.0.0.1:{port}"},
            log,
        )
        self.rss: list[float] = []

    def scrape_timed(self, names: tuple[str, ...] = ()) -> Scrape:
        """A scrape of /metrics (of the samples `names` only, if any), with what it cost."""
        cpu0, t0 = cpu_seconds(self.proc.pid), time.monotonic()
        answer = httpx.get(self.base + "/metrics", params={"name[]": names}, timeout=120)
        t1, cpu1 = time.monotonic(), cpu_seconds(self.proc.pid)
        if answer.status_code != 200:
            sys.exit(
                f"error: {self.base}/metrics answered {answer.status_code}: {answer.text[:200]}"
            )
        return Scrape(parse(answer.text), (t0 + t1) / 2, t1 - t0, cpu1 - cpu0, len(answer.content))


@dataclass
class Scrape:
    metrics: dict[str, list[tuple[dict[str, str], float]]]
    at: float  # monotonic, the middle of the request
    took_s: float
    cpu_s: float  # the daemon's CPU while it answered
    size: int  # bytes


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def drop_keys(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{{{prefix}}}*", count=1000):
        client.delete(key)


def measure(daemons: list[Daemon], duration_s: float, scrape_every_s: float) -> None:
    """Read every daemon's lag and probe counts, wait `duration_s` sampling RSS (and
    scraping /metrics whole every `scrape_every_s`, as Prometheus would), read them again;
    print the figures, and what one whole scrape costs a daemon."""
    counted = [d.scrape_timed(PROBES) for d in daemons]
    time.sleep(SETTLE_S)
    firsts = [d.scrape_timed(LAG) for d in daemons]
    cpu0, t0 = [cpu_seconds(d.proc.pid) for d in daemons], time.monotonic()
    next_scrape = t0 + scrape_every_s if scrape_every_s else float("inf")
    while time.monotonic() - t0 < duration_s:
        time.sleep(min(5, max(0.0, next_scrape - time.monotonic())))
        if time.monotonic() >= next_scrape:
            next_scrape += scrape_every_s
            for d in daemons:
                d.scrape_timed()
        for d in daemons:
            d.rss.append(rss_mib(d.proc.pid))
    cpu1, elapsed = [cpu_seconds(d.proc.pid) for d in daemons], time.monotonic() - t0
    lasts = [d.scrape_timed(LAG) for d in daemons]
    recounted = [d.scrape_timed(PROBES) for d in daemons]
    time.sleep(SETTLE_S)
    whole = [d.scrape_timed() for d in daemons]
    before = summed([lag_buckets(f.metrics) for f in firsts])
    after = summed([lag_buckets(f.metrics) for f in lasts])
    rates = [
        (probes_total(b.metrics) - probes_total(a.metrics)) / (b.at - a.at)
        for a, b in zip(counted, recounted, strict=True)
    ]
    print(f"  schedule lag p50:   {quantile(before, after, 0.50)}")
    print(f"  schedule lag p99:   {quantile(before, after, 0.99)}")
    print(f"  probes/s:           {sum(rates):.1f}")
    for i, d in enumerate(daemons):
        print(
            f"  {d.name}: {rates[i]:.1f} probes/s, CPU {100 * (cpu1[i] - cpu0[i]) / elapsed:.1f} %"
            f" of one core, RSS {max(d.rss):.0f} MiB max, {d.rss[-1]:.0f} MiB at the end"
        )
        scrape = whole[i]
        states = len(scrape.metrics.get("routeguard_route_up", []))
        print(
            f"    a /metrics scrape: {scrape.size / 1e6:.1f} MB in {scrape.took_s:.2f} s,"
            f" {scrape.cpu_s:.2f} CPU-s of the daemon, the state of {states} routes"
        )


def summed(series: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    totals: dict[float, float] = {}
    for buckets in series:
        for le, n in buckets:
            totals[le] = totals.get(le, 0.0) + n
    return sorted(totals.items())


def print_log_tails(folder: Path, lines: int = 40) -> None:
    """What the daemons and the simulator said last, before their folder goes."""
    for log in sorted(folder.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- the last {len(tail)} lines of {log.name}", *tail, sep="\n", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120)
    parser.add_argument("--providers", type=int, default=50)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--interval", type=float, default=10, help="probe interval, seconds")
    parser.add_argument("--replicas", type=int, default=1, help="daemons sharing the probes")
    parser.add_argument("--warmup", type=float, default=WARMUP_S, help="seconds before measuring")
    parser.add_argument(
        "--scrape-every",
        type=float,
        default=0,
        help="scrape /metrics whole every this many seconds while measuring (0: never)",
    )
    args = parser.parse_args()
    url, prefix = redis_url(), f"rgbench-probes-{uuid.uuid4().hex[:8]}"
    routeguard = str(Path(sys.executable).parent / "routeguard")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sim_cfg, catalog = write_configs(folder, args.providers, args.models, args.interval)
        env = {
            **os.environ,
            "BENCH_KEY": KEY,
            "ROUTEGUARD_REDIS_URL": url,
            "ROUTEGUARD_KEY_PREFIX": prefix,
            "ROUTEGUARD_LOG_LEVEL": "WARNING",
        }
        lasting = args.duration + args.warmup + 120
        sim = start(
            [routeguard, "sim", "--config", str(sim_cfg), "--duration", str(lasting)],
            env,
            folder / "sim.log",
        )
        time.sleep(2)
        daemons = [
            Daemon(f"daemon {i + 1}", catalog, env, folder / f"daemon{i}.log")
            for i in range(args.replicas)
        ]
        try:
            for d in daemons:
                wait_ready(d.base, deadline_s=120)
            routes, jobs = args.providers * args.models, args.providers * (args.models + 1)
            print(
                f"probe benchmark: {routes} routes ({jobs} jobs, {jobs / args.interval:.1f} planned"
                f" probes/s) at {args.interval:g} s, {args.replicas} daemon(s), whole scrapes"
                f" {f'every {args.scrape_every:g} s' if args.scrape_every else 'none'},"
                f" {args.duration:.0f} s measured after {args.warmup:.0f} s warm-up"
            )
            time.sleep(args.warmup)
            measure(daemons, args.duration, args.scrape_every)
        except (Exception, SystemExit):
            print_log_tails(folder)
            raise
        finally:
            stop([d.proc for d in daemons] + [sim])
            drop_keys(url, prefix)


if __name__ == "__main__":
    main()
