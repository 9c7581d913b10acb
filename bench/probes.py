"""Probe scheduling at scale: 1,000 routes on the simulator, one daemon.

The simulator (its own process) serves 50 providers x 20 models; the daemon
(`routeguard run`, its own process) probes every route's completion tier and
every provider's liveness tier at a 10 s interval for the run. Printed:
schedule lag p50/p99 (planned, jittered start vs actual start, from the
daemon's own `routeguard_probe_schedule_lag_seconds`), probes/s, the daemon's
CPU % and RSS. Loopback only; everything stops by itself.

    .venv/bin/python bench/probes.py [--duration 120] [--providers 50] [--models 20]
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
from pathlib import Path

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

KEY = "sk-bench-probes"
INTERVAL_S = 10
WARMUP_S = 15


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def write_configs(folder: Path, providers: int, models: int) -> tuple[Path, Path, int]:
    ports = free_ports(providers + 1)
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
        f"probes: {{interval_s: {INTERVAL_S}, timeout_s: 5, tiers: [liveness, completion]}}"
    ]
    (folder / "sim.yaml").write_text("\n".join(sim) + "\n")
    (folder / "catalog.yaml").write_text("\n".join(catalog) + "\n")
    return folder / "sim.yaml", folder / "catalog.yaml", ports[-1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(url + "/metrics", timeout=10).text
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120)
    parser.add_argument("--providers", type=int, default=50)
    parser.add_argument("--models", type=int, default=20)
    args = parser.parse_args()
    url, prefix = redis_url(), f"rgbench-probes-{uuid.uuid4().hex[:8]}"
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sim_cfg, catalog, http_port = write_configs(folder, args.providers, args.models)
        env = {
            **os.environ,
            "BENCH_KEY": KEY,
            "ROUTEGUARD_REDIS_URL": url,
            "ROUTEGUARD_KEY_PREFIX": prefix,
        }
        env["ROUTEGUARD_HTTP_ADDR"] = f"127.0.0.1:{http_port}"
        env["ROUTEGUARD_LOG_LEVEL"] = "WARNING"
        sim = start(
            [
                str(bin_dir / "routeguard"),
                "sim",
                "--config",
                str(sim_cfg),
                "--duration",
                str(args.duration + WARMUP_S + 60),
            ],
            env,
            folder / "sim.log",
        )
        time.sleep(2)
        daemon = start(
            [str(bin_dir / "routeguard"), "run", "--config", str(catalog)],
            env,
            folder / "daemon.log",
        )
        base = f"http://127.0.0.1:{http_port}"
        try:
            wait_ready(base)
            routes, jobs = args.providers * args.models, args.providers * (args.models + 1)
            print(
                f"probe benchmark: {routes} routes ({jobs} jobs) at {INTERVAL_S} s, {args.duration:.0f} s measured after {WARMUP_S} s warm-up"
            )
            time.sleep(WARMUP_S)
            first, cpu0, t0 = scrape(base), cpu_seconds(daemon.pid), time.monotonic()
            rss = [rss_mib(daemon.pid)]
            while time.monotonic() - t0 < args.duration:
                time.sleep(5)
                rss.append(rss_mib(daemon.pid))
            last, cpu1, elapsed = scrape(base), cpu_seconds(daemon.pid), time.monotonic() - t0
        finally:
            for proc in (daemon, sim):
                proc.send_signal(signal.SIGTERM)
            for proc in (daemon, sim):
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            client = redis.Redis.from_url(url)
            for key in client.scan_iter(match=f"{{{prefix}}}*", count=1000):
                client.delete(key)
        before, after = lag_buckets(first), lag_buckets(last)
        rate = (probes_total(last) - probes_total(first)) / elapsed
        print(f"  schedule lag p50:   {quantile(before, after, 0.50)}")
        print(f"  schedule lag p99:   {quantile(before, after, 0.99)}")
        print(f"  probes/s:           {rate:.1f} (planned {jobs / INTERVAL_S:.1f})")
        print(f"  daemon CPU:         {100 * (cpu1 - cpu0) / elapsed:.1f} % of one core")
        print(f"  daemon RSS:         {max(rss):.0f} MiB max, {rss[-1]:.0f} MiB at the end")


if __name__ == "__main__":
    main()
