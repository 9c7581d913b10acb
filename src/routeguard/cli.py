"""The `routeguard` command line: run, status, force, check-config.

Every failure ends as one line on stderr and a non-zero exit, never a traceback:
2 for bad input (usage, configuration, route, state), 1 when Redis does not answer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from redis.exceptions import RedisError

from routeguard.breaker import BreakerStore, ForceTarget, Keys
from routeguard.config import Catalog, check_config, load_catalog, load_settings
from routeguard.errors import RouteguardError, StoreUnavailable
from routeguard.heartbeat import live_daemons, no_daemon_message
from routeguard.routes import parse_route_id
from routeguard.status_command import (
    Selection,
    run_watch,
    show_providers,
    show_status,
    watch_status,
)

EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 1
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _port(text: str) -> int:
    """A TCP port for argparse: 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535; 0 picks a free one)")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="routeguard",
        description="Provider health monitor and SLA-aware failover controller for LLM gateways.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="a scripted outage on simulated providers, live")
    demo.add_argument("--redis-url", help="use this Redis (default: an embedded one)")
    demo.add_argument(
        "--duration", type=float, default=30.0, help="seconds (default 30, at least 25)"
    )
    demo.add_argument(
        "--serve", action="store_true", help="keep the status page up after the script (Ctrl-C)"
    )
    demo.add_argument(
        "--port", type=_port, default=0, help="the status page's port (default: a free one)"
    )

    run = sub.add_parser("run", help="run the daemon: probes, breaker clock, HTTP API")
    run.add_argument("--config", type=Path, help="catalog file (default: $ROUTEGUARD_CONFIG)")

    proxy = sub.add_parser(
        "proxy", help="an OpenAI-compatible endpoint that fails over (see docs/proxy.md)"
    )
    proxy.add_argument("--config", type=Path, help="catalog file (default: $ROUTEGUARD_CONFIG)")

    sim = sub.add_parser(
        "sim", help="run simulated providers (see docs/simulator.md)", add_help=False
    )
    sim.add_argument("sim_args", nargs="*", help="run 'routeguard sim --help' for its options")

    check = sub.add_parser("check-config", help="validate a catalog file")
    check.add_argument("file", type=Path)

    status = sub.add_parser("status", help="every route's breaker state")
    status.add_argument("--json", action="store_true", help="print JSON (the /v1/routes shape)")
    status.add_argument(
        "--provider", action="append", default=[], help="only these providers (repeat or a,b)"
    )
    status.add_argument(
        "--state", action="append", default=[], help="only routes in these states (open,...)"
    )
    status.add_argument(
        "--watch", action="store_true", help="redraw on every transition until Ctrl-C"
    )
    _add_connection_options(status)

    providers = sub.add_parser("providers", help="each provider's uptime, probes and TTFT")
    providers.add_argument(
        "--json", action="store_true", help="print JSON (the /v1/providers shape)"
    )
    _add_connection_options(providers)

    force = sub.add_parser("force", help="force a route open or closed, or hand it back (auto)")
    force.add_argument("route", help="provider/model, as in the catalog")
    force.add_argument("state", help="open, closed or auto")
    force.add_argument("--reason", default="", help="why (kept in the event stream)")
    _add_connection_options(force)
    return parser


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="catalog file (default: $ROUTEGUARD_CONFIG)")
    parser.add_argument("--redis-url", help="Redis URL (default: $ROUTEGUARD_REDIS_URL)")


def _catalog(args: argparse.Namespace) -> tuple[Catalog, str, Keys]:
    settings = load_settings()
    path = args.config or settings.config
    if path is None:
        raise RouteguardError(
            "no catalog file: pass --config FILE or set ROUTEGUARD_CONFIG to its path"
        )
    url = args.redis_url or settings.redis_url or DEFAULT_REDIS_URL
    return load_catalog(path), url, Keys(settings.key_prefix)


def _store(catalog: Catalog, url: str, keys: Keys) -> BreakerStore:
    routes = {route_id: route.breaker for route_id, route in catalog.routes.items()}
    return BreakerStore.from_url(url, routes, keys=keys)


async def _status(args: argparse.Namespace) -> int:
    catalog, url, keys = _catalog(args)
    selection = Selection.of(catalog, args.provider, args.state)
    store = _store(catalog, url, keys)
    try:
        await _say_if_no_daemon(store, keys)
        if args.watch:
            await watch_status(store, keys, catalog, selection, as_json=args.json, out=sys.stdout)
        else:
            await show_status(store, catalog, selection, as_json=args.json, out=sys.stdout)
    finally:
        await store.aclose()
    return 0


async def _providers(args: argparse.Namespace) -> int:
    catalog, url, keys = _catalog(args)
    store = _store(catalog, url, keys)
    try:
        await _say_if_no_daemon(store, keys)
        await show_providers(store, catalog, as_json=args.json, out=sys.stdout)
    finally:
        await store.aclose()
    return 0


async def _say_if_no_daemon(store: BreakerStore, keys: Keys) -> None:
    """A wrong key prefix reads as every route closed: say when nothing writes under it."""
    try:
        live = await live_daemons(store.redis, keys)
    except (RedisError, OSError):
        return  # states() answered; a failed extra read is not worth failing status for
    if not live:
        print(no_daemon_message(keys, store.where), file=sys.stderr)


async def _force(args: argparse.Namespace) -> int:
    parse_route_id(args.route)
    try:
        target = ForceTarget(args.state)
    except ValueError:
        raise RouteguardError(f"unknown state {args.state!r}: use open, closed or auto") from None
    catalog, url, keys = _catalog(args)
    catalog.route(args.route)
    store = _store(catalog, url, keys)
    try:
        status = await store.force(args.route, target, args.reason or "forced from the CLI")
    finally:
        await store.aclose()
    changed = "->" if status.transitions else "already"
    print(f"{args.route}: {changed} {status.state.value} (version {status.version})")
    return 0


def _check_config(args: argparse.Namespace) -> int:
    catalog, errors, warnings = check_config(args.file)
    for line in errors:
        print(line, file=sys.stderr)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    if catalog is None:
        return 1
    print(f"{args.file}: ok ({len(catalog.providers)} providers, {len(catalog.routes)} routes)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sim"]:  # the simulator parses its own options
        from routeguard.sim.cli import main as sim_main

        return sim_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return _check_config(args)
        if args.command == "demo":
            from routeguard.demo import Page, Script
            from routeguard.demo import main as demo_main

            end = max(args.duration, 25.0)
            page = Page(port=args.port, serve=args.serve)
            return demo_main(args.redis_url, Script(end * 0.2, end * 0.6, end), page=page)
        if args.command == "run":
            from routeguard.daemon.run import run

            return run(load_settings(), args.config)
        if args.command == "proxy":
            from routeguard.proxy.run import run_proxy

            return run_proxy(load_settings(), args.config)
        if args.command == "status":
            return run_watch(_status(args)) if args.watch else asyncio.run(_status(args))
        if args.command == "providers":
            return asyncio.run(_providers(args))
        return asyncio.run(_force(args))
    except BrokenPipeError:  # `routeguard status | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except StoreUnavailable as exc:
        print(f"routeguard: error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except RouteguardError as exc:
        print(f"routeguard: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
