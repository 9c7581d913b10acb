"""`routeguard demo`: the whole loop on one machine, in about half a minute.

An embedded Redis, three simulated providers, the daemon probing them, and a
routing worker's view (HealthClient) choosing where `chat` requests go. A
scripted outage takes one provider hard down and brings it back; the terminal
shows every route's state and latency live, and the run ends with what
happened and when. The daemon's status page (`GET /`) is up for the whole run;
with `serve`, it stays up after the script, until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

from routeguard.breaker import Transition
from routeguard.client import HealthClient
from routeguard.config import Catalog, parse_catalog
from routeguard.daemon.app import Daemon, DaemonOptions
from routeguard.embedded_redis import EmbeddedRedis
from routeguard.sim import SimCluster, SimProvider

KEY = "sk-demo-not-a-real-key"
PREFIX = "routeguard-demo"
PRIMARY = "openai-sim"


@dataclass(frozen=True)
class Script:
    """When the outage starts and ends, and when the demo stops (seconds)."""

    down_at: float = 6.0
    up_at: float = 18.0
    end_at: float = 30.0


@dataclass(frozen=True)
class Page:
    """Where the daemon's status page listens, and whether it outlives the script."""

    port: int = 0  # 0: a free one
    serve: bool = False
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(12))


def _providers() -> list[SimProvider]:
    faults = {"latency_s": 0.03, "ttft_s": 0.08, "jitter_s": 0.05}
    return [
        SimProvider(PRIMARY, "openai", ("gpt-4o-mini",), KEY, "openai", faults=faults),
        SimProvider(
            "together-sim",
            "openai",
            ("meta-llama/Llama-3.1-70B-Instruct",),
            KEY,
            "together",
            faults=faults,
        ),
        SimProvider(
            "anthropic-sim", "anthropic", ("claude-haiku-4-5",), KEY, "anthropic", faults=faults
        ),
    ]


def demo_catalog(cluster: SimCluster) -> Catalog:
    lines = ["providers:"]
    for sim in cluster.values():
        lines.append(
            f"  {sim.name}: {{flavour: {sim.flavour}, vendor: {sim.vendor}, "
            f'base_url: "{sim.base_url}", api_key_env: DEMO_KEY}}'
        )
    lines += [
        "models:",
        "  chat:",
        f"    - {PRIMARY}/gpt-4o-mini",
        "    - together-sim/meta-llama/Llama-3.1-70B-Instruct",
        "    - anthropic-sim/claude-haiku-4-5",
        "  claude: [anthropic-sim/claude-haiku-4-5]",
        "probes: {interval_s: 2, suspect_interval_s: 0.5, timeout_s: 2, tiers: [liveness, completion, stream]}",
        # A short cap keeps recovery inside the demo's few seconds; production's is 600 s.
        "breaker: {open_s: 3, open_max_s: 6}",
    ]
    return parse_catalog("\n".join(lines) + "\n", "<demo catalog>")


@contextlib.asynccontextmanager
async def _stack(
    redis_url: str, prefix: str, page: Page
) -> AsyncIterator[tuple[SimCluster, Daemon, HealthClient]]:
    async with SimCluster(_providers(), seed=7) as cluster:
        catalog = demo_catalog(cluster)
        options = DaemonOptions(
            http_port=page.port,
            key_prefix=prefix,
            env={"DEMO_KEY": KEY},
            admin_token=page.admin_token,
        )
        daemon = Daemon(catalog, redis_url, options)
        await daemon.start()
        try:
            async with HealthClient.from_url(
                redis_url, config=catalog, key_prefix=prefix, resync_s=1.0
            ) as health:
                yield cluster, daemon, health
        finally:
            await daemon.stop()


def _row(record: dict[str, Any]) -> str:
    probe = record.get("last_probe") or {}
    latency = probe.get("latency_s")
    ttft = probe.get("ttft_s")
    return (
        f"  {record['route']:<50} {record['state']:<10} {record['reason'] or '':<22} "
        f"{probe.get('outcome', '-'):<14} "
        f"{'-' if latency is None else f'{latency * 1000:.0f} ms':>8} "
        f"{'-' if ttft is None else f'{ttft * 1000:.0f} ms':>8}"
    )


def render(
    records: list[dict[str, Any]], health: HealthClient, elapsed: float, phase: str, page_url: str
) -> str:
    chat = health.candidates("chat")
    serving = chat[0] if chat else "-"
    lines = [
        f"routeguard demo  t={elapsed:5.1f}s  {phase}",
        f"  status page: {page_url}/  (live in a browser)",
        "",
        f"  {'ROUTE':<50} {'STATE':<10} {'REASON':<22} {'LAST PROBE':<14} {'LATENCY':>8} {'TTFT':>8}",
        *(_row(r) for r in records),
        "",
        f"  requests for 'chat' go to: {serving}"
        + ("  (panic: nothing healthy)" if chat.panic else ""),
    ]
    return "\n".join(lines)


def _phase(elapsed: float, script: Script) -> str:
    if elapsed < script.down_at:
        return f"all providers healthy; {PRIMARY} goes down at t={script.down_at:.0f}s"
    if elapsed < script.up_at:
        return (
            f"{PRIMARY} is HARD DOWN (connections refused); it comes back at t={script.up_at:.0f}s"
        )
    return f"{PRIMARY} is back; watch open -> half_open -> closed"


async def _drive(
    cluster: SimCluster, daemon: Daemon, health: HealthClient, script: Script, out: TextIO
) -> float:
    start = time.monotonic()
    tty = out.isatty()
    done = {"down": False, "up": False}
    shown: dict[str, str] = {}  # without a terminal: the states last printed
    async with httpx.AsyncClient() as client:
        while (elapsed := time.monotonic() - start) < script.end_at:
            if elapsed >= script.down_at and not done["down"]:
                await cluster[PRIMARY].down()
                done["down"] = True
            if elapsed >= script.up_at and not done["up"]:
                await cluster[PRIMARY].up()
                done["up"] = True
            records = (await client.get(daemon.http_url + "/v1/routes")).json()["routes"]
            screen = render(records, health, elapsed, _phase(elapsed, script), daemon.http_url)
            out.write(("\x1b[H\x1b[2J" + screen + "\n") if tty else _changes(screen, shown))
            out.flush()
            await asyncio.sleep(0.5)
    return start


def _changes(screen: str, shown: dict[str, str]) -> str:
    """Without a terminal: print the screen only when a state changed since `shown`."""
    body = "\n".join(line for line in screen.splitlines()[3:] if line.strip())
    states = "".join(line.split()[1] if len(line.split()) > 1 else "" for line in body.splitlines())
    if shown.get("states") == states:
        return ""
    shown["states"] = states
    return screen + "\n\n"


def summary(events: list[Transition], started_wall_ms: int, script: Script) -> str:
    lines = ["", "What happened (times from the start of the demo):"]
    for e in events:
        t = (e.at_ms - started_wall_ms) / 1000
        lines.append(
            f"  t={t:5.1f}s  {e.route:<50} {e.from_state.value:>9} -> {e.to_state.value:<9} {e.reason.value}: {e.detail}"
        )
    primary = [e for e in events if e.route.startswith(PRIMARY + "/")]
    opened = next((e for e in primary if e.to_state.value == "open"), None)
    closed = [e for e in primary if e.to_state.value == "closed"]
    if opened:
        lines.append(
            f"\n  detection: {PRIMARY} opened {(opened.at_ms - started_wall_ms) / 1000 - script.down_at:.1f}s after it went down"
        )
    if closed:
        back = (closed[-1].at_ms - started_wall_ms) / 1000 - script.up_at
        lines.append(f"  recovery:  closed again {back:.1f}s after it came back")
        expired = [
            e for e in primary if e.reason.value == "open_expired" and e.at_ms <= closed[-1].at_ms
        ]
        if expired:
            took = (closed[-1].at_ms - expired[-1].at_ms) / 1000
            lines.append(
                "             (first its open time had to end: a failed trial keeps it, a new trip doubles it;"
                f" then trial probes closed it in {took:.1f}s)"
            )
    lines.append("  while it was down, requests for 'chat' went to the next healthy candidate.")
    return "\n".join(lines)


async def run_demo(
    redis_url: str,
    script: Script,
    out: TextIO,
    prefix: str = PREFIX,
    page: Page | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """The scripted outage; with `page.serve`, then the status page until `stop` is set
    (by SIGINT or SIGTERM when run from the command line)."""
    page = page or Page()
    started_wall_ms = int(time.time() * 1000)
    async with _stack(redis_url, prefix, page) as (cluster, daemon, health):
        await _drive(cluster, daemon, health, script, out)
        assert daemon.store is not None
        events = await daemon.store.events(count=1000)
        out.write(summary(events, started_wall_ms, script) + "\n")
        if page.serve:
            await _serve(daemon.http_url, page, out, stop or asyncio.Event())
    return 0


async def _serve(url: str, page: Page, out: TextIO, stop: asyncio.Event) -> None:
    out.write(
        f"\nThe status page stays up at {url}/ (the daemon keeps probing the simulators)."
        f"\nAdmin token for its force and release buttons: {page.admin_token}"
        "\nCtrl-C stops the demo.\n"
    )
    out.flush()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def main(
    redis_url: str | None = None,
    script: Script | None = None,
    out: TextIO = sys.stdout,
    prefix: str = PREFIX,
    page: Page | None = None,
) -> int:
    script = script or Script()
    with contextlib.ExitStack() as stack:
        if redis_url is None:
            redis_url = stack.enter_context(EmbeddedRedis()).url
            out.write(f"started an embedded Redis for the demo ({redis_url})\n")
        return asyncio.run(run_demo(redis_url, script, out, prefix, page))
