"""Reads the `models:` and `routes:` sections of a catalog.

`models` maps each public model name to its failover candidates, in order; the
routes of the catalog are exactly the route ids listed there. `routes` holds
per-route policy overrides, and may only name a route some model lists.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from routeguard.config.builtin import BUILTIN_PROVIDERS
from routeguard.config.merge import POLICIES, Layer, read_layer
from routeguard.config.problems import KeyPath, Problems, format_path, show
from routeguard.errors import RouteError
from routeguard.routes import parse_route_id

_LIST_FIX = "write it as a YAML list of provider/model route ids, in failover order"


def read_models(
    raw: Any, declared: Collection[str] | None, problems: Problems
) -> tuple[dict[str, tuple[str, ...]], set[str]]:
    """The valid routes of each public model, and every well-formed route id listed.

    `declared` is None when the providers section itself is broken: then route ids
    are not checked against it, so one mistake is not reported once per route.
    """
    path: KeyPath = ("models",)
    if raw is None:
        problems.add(path, "missing or empty", "map each public model name to its routes, in order")
        return {}, set()
    if not isinstance(raw, dict) or not raw:
        problems.add(
            path,
            f"must be a non-empty mapping (got {show(raw)})",
            "map each public model name to its routes, e.g. gpt-4o-mini: [openai/gpt-4o-mini]",
        )
        return {}, set()
    models: dict[str, tuple[str, ...]] = {}
    listed: set[str] = set()
    for name, routes in raw.items():
        where = (*path, str(name))
        if not isinstance(name, str) or not name or any(c.isspace() for c in name):
            problems.add(where, "a model name must be text without spaces", "quote it or rename it")
            continue
        models[name] = _read_list(where, routes, declared, listed, problems)
    return models, listed


def _read_list(
    path: KeyPath, raw: Any, declared: Collection[str] | None, listed: set[str], problems: Problems
) -> tuple[str, ...]:
    if raw is None or raw == []:
        problems.add(
            path, "the list of routes is empty", "list at least one route as provider/model"
        )
        return ()
    if not isinstance(raw, list):
        problems.add(path, f"must be a list of route ids (got {show(raw)})", _LIST_FIX)
        return ()
    routes: dict[str, int] = {}
    for index, item in enumerate(raw):
        where = (*path, index)
        if not isinstance(item, str):
            problems.add(where, f"a route id must be text (got {show(item)})", _LIST_FIX)
            continue
        try:
            provider, _ = parse_route_id(item)
        except RouteError as exc:
            problems.add(where, str(exc))
            continue
        listed.add(item)
        if item in routes:
            problems.add(
                where,
                f"route {item!r} is already listed at {format_path((*path, routes[item]))}",
                "remove the duplicate",
            )
        elif declared is not None and provider not in declared:
            problems.add(where, f"provider {provider!r} is not declared", _declare_fix(provider))
        else:
            routes[item] = index
    return tuple(routes)


def _declare_fix(provider: str) -> str:
    if provider in BUILTIN_PROVIDERS:
        return f"add it under providers (it is built in: {provider}: {{}})"
    return "add it under providers with flavour and base_url, or fix the route id"


def read_route_overrides(raw: Any, listed: Collection[str], problems: Problems) -> dict[str, Layer]:
    """The policy overrides of each route under `routes:`, keyed by route id."""
    path: KeyPath = ("routes",)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(path, f"must be a mapping of route ids (got {show(raw)})")
        return {}
    layers: dict[str, Layer] = {}
    for route, entry in raw.items():
        where = (*path, str(route))
        if _override_ok(where, route, entry, listed, problems):
            layers[route] = read_layer(where, entry or {}, problems)
    return layers


def _override_ok(
    path: KeyPath, route: Any, entry: Any, listed: Collection[str], problems: Problems
) -> bool:
    if not isinstance(route, str):
        problems.add(path, "a route id must be text", "write it as provider/model")
        return False
    try:
        parse_route_id(route)
    except RouteError as exc:
        problems.add(path, str(exc))
        return False
    if route not in listed:
        problems.add(
            path, "no model lists this route", "add it to a list under models, or remove it"
        )
        return False
    if entry is not None and not isinstance(entry, dict):
        problems.add(path, f"must be a mapping (got {show(entry)})", "e.g. {breaker: {open_s: 10}}")
        return False
    for key in entry or {}:
        if key not in POLICIES:
            problems.unknown_key((*path, str(key)), POLICIES)
    return True


def route_layers(routes: Mapping[str, Layer], route: str) -> Layer:
    """The overrides of `route`, or an empty layer when it has none."""
    return routes.get(route) or Layer(("routes", route))
