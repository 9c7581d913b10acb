"""`routeguard status` and `routeguard providers`: what the daemon's API answers, in a
terminal. Both read Redis directly, as the daemon does, and build the same records
(`routeguard.uptime`), so `--json` prints the `GET /v1/routes` and `/v1/providers` shapes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from routeguard.breaker import BreakerState, BreakerStore, Keys
from routeguard.config import Catalog
from routeguard.errors import RouteguardError
from routeguard.status_view import providers_table, status_table
from routeguard.tasks import raise_if_cancelled
from routeguard.uptime import provider_records, route_records
from routeguard.uptime.reader import read_snapshot
from routeguard.uptime.records import routes_body

REFRESH_S = 2.0
"""`--watch` redraws on every transition, and this often to move the clocks on."""
CLEAR = "\x1b[H\x1b[2J"


@dataclass(frozen=True)
class Selection:
    """The routes `routeguard status` shows: all, or those of some providers and states."""

    providers: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()

    @classmethod
    def of(cls, catalog: Catalog, providers: Sequence[str], states: Sequence[str]) -> Selection:
        """From `--provider` / `--state` values (each repeatable or comma-separated)."""
        wanted_providers = _split(providers)
        unknown = sorted(wanted_providers - set(catalog.providers))
        if unknown:
            known = ", ".join(catalog.providers)
            raise RouteguardError(f"--provider {unknown[0]!r} is not in the catalog: use {known}")
        wanted_states = _split(states)
        valid = [s.value for s in BreakerState]
        bad = sorted(wanted_states - set(valid))
        if bad:
            raise RouteguardError(f"--state {bad[0]!r} is not a state: use {', '.join(valid)}")
        return cls(frozenset(wanted_providers), frozenset(wanted_states))

    def keeps(self, record: dict[str, Any]) -> bool:
        return (not self.providers or record["provider"] in self.providers) and (
            not self.states or record["state"] in self.states
        )


def _split(values: Sequence[str]) -> set[str]:
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


async def status_records(
    store: BreakerStore, catalog: Catalog, selection: Selection, *, figures: bool
) -> list[dict[str, Any]]:
    """The selected routes' records; without `figures`, no probe figures are read
    (they are the costly part, and the table does not show them)."""
    if figures:
        records = await route_records(store, catalog)
    else:
        records = routes_body(catalog, await read_snapshot(store, buckets=False))
    return [r for r in records if selection.keeps(r)]


async def show_status(
    store: BreakerStore, catalog: Catalog, selection: Selection, *, as_json: bool, out: TextIO
) -> None:
    records = await status_records(store, catalog, selection, figures=as_json)
    out.write(_status_text(records, as_json=as_json, indent=2) + "\n")


async def show_providers(
    store: BreakerStore, catalog: Catalog, *, as_json: bool, out: TextIO
) -> None:
    records = await provider_records(store, catalog)
    text = json.dumps({"providers": records}, indent=2) if as_json else providers_table(records)
    out.write(text + "\n")


def _status_text(records: list[dict[str, Any]], *, as_json: bool, indent: int | None) -> str:
    if as_json:
        return json.dumps({"routes": records}, indent=indent)
    return status_table(records, time.time())


async def watch_status(
    store: BreakerStore,
    keys: Keys,
    catalog: Catalog,
    selection: Selection,
    *,
    as_json: bool,
    out: TextIO,
) -> None:
    """Redraw on every transition (and every REFRESH_S) until cancelled. On a terminal
    the screen is redrawn; elsewhere a table (or a JSON line) is printed when a route's
    state changed."""
    pubsub = store.redis.pubsub()
    await pubsub.subscribe(keys.transitions_channel)
    changed = _change_detector()
    try:
        while True:
            raise_if_cancelled()  # Ctrl-C: a Redis read may have swallowed the cancel (tasks.py)
            records = await status_records(store, catalog, selection, figures=as_json)
            _draw(records, out, as_json=as_json, changed=changed)
            await pubsub.get_message(ignore_subscribe_messages=True, timeout=REFRESH_S)
            while await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.01):
                pass  # a burst of transitions: one redraw
    finally:
        await pubsub.aclose()


def _change_detector() -> Callable[[list[dict[str, Any]]], bool]:
    shown: list[object] = []

    def changed(records: list[dict[str, Any]]) -> bool:
        key = [(r["route"], r["state"], r["version"]) for r in records]
        if shown and shown[0] == key:
            return False
        shown[:] = [key]
        return True

    return changed


def _draw(
    records: list[dict[str, Any]],
    out: TextIO,
    *,
    as_json: bool,
    changed: Callable[[list[dict[str, Any]]], bool],
) -> None:
    is_new = changed(records)
    if out.isatty() and not as_json:
        out.write(CLEAR + _status_text(records, as_json=False, indent=None) + "\n")
    elif is_new:
        out.write(_status_text(records, as_json=as_json, indent=None) + "\n")
    out.flush()


def run_watch(coroutine: Any) -> int:
    """Run a `--watch` until Ctrl-C, which is how it ends: exit 0."""
    try:
        asyncio.run(coroutine)
    except KeyboardInterrupt:
        return 0
    return 0
