"""`routeguard sim`: run the simulated providers of a config file until told to stop.

    routeguard sim --config sim.yaml [--timeline game-day.yaml] [--admin-port N]
                   [--duration S] [--seed N]

Prints each provider's base URL and the admin URL, then serves until SIGINT or
SIGTERM (or `--duration` seconds) and exits 0. A bad config or timeline is one line
on stderr and exit 2; a port that cannot be bound is one line and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from routeguard.sim.cluster import SimCluster
from routeguard.sim.config import SimConfig, SimConfigError, load_sim_config
from routeguard.sim.timeline import Timeline, TimelinePlayer, load_timeline

EXIT_OK = 0
EXIT_UNAVAILABLE = 1
EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="routeguard sim",
        description="Run fault-injecting fake LLM providers (docs/simulator.md).",
    )
    parser.add_argument("--config", type=Path, required=True, help="sim config file (YAML)")
    parser.add_argument("--timeline", type=Path, help="fault timeline to play (YAML)")
    parser.add_argument(
        "--admin-port", type=int, help="admin API port (default: the file's, else free)"
    )
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument(
        "--seed", type=int, help="seed for random fault draws (default: the file's)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator; the exit status (argparse's own for usage errors and --help)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    logger = logging.getLogger("routeguard.sim")
    handler, level = logging.StreamHandler(sys.stderr), logger.level
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)  # timeline steps are worth seeing on a game day
    logger.setLevel(logging.INFO)
    try:
        return _run(args)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _run(args: argparse.Namespace) -> int:
    if args.duration is not None and args.duration < 0:
        return _fail("--duration must be at least 0", EXIT_BAD_INPUT)
    if args.admin_port is not None and not 0 <= args.admin_port <= 65535:
        return _fail("--admin-port must be 0 to 65535", EXIT_BAD_INPUT)
    try:
        config, keys = load_sim_config(args.config)
        specs = {spec.name: spec for spec in config.providers}
        timeline = load_timeline(args.timeline, specs) if args.timeline else None
    except SimConfigError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    return asyncio.run(_serve(config, keys, timeline, args))


def _fail(message: str, code: int) -> int:
    print(f"routeguard sim: {message}", file=sys.stderr)
    return code


async def _serve(
    config: SimConfig, keys: dict[str, str], timeline: Timeline | None, args: argparse.Namespace
) -> int:
    cluster = SimCluster.from_config(config, keys, admin_port=args.admin_port, seed=args.seed)
    try:
        await cluster.start()
    except OSError as exc:
        return _fail(f"cannot listen: {exc.strerror or exc}", EXIT_UNAVAILABLE)
    try:
        _announce(cluster)
        await _until_stopped(cluster, timeline, args.duration)
    finally:
        await cluster.stop()
    return EXIT_OK


def _announce(cluster: SimCluster) -> None:
    width = max(len(name) for name in cluster)
    for name, provider in cluster.items():
        kind = provider.flavour + (f"/{provider.vendor}" if provider.vendor else "")
        print(
            f"{name:<{width}}  {kind:<18}  {provider.base_url}  models: {', '.join(provider.models)}"
        )
    print(f"{'admin':<{width}}  {'':<18}  {cluster.admin_url}", flush=True)


async def _until_stopped(
    cluster: SimCluster, timeline: Timeline | None, duration: float | None
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    player = TimelinePlayer(cluster, timeline).start() if timeline else None
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if player is not None:
            player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await player
