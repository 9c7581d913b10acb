"""Loads and validates a catalog file (docs/configuration.md) into a `Catalog`.

Every problem in the file is collected and raised together as one
`ConfigError`, one message per problem, each naming the file, the key path and
what to fix. Nothing here raises anything else for a bad file: no traceback
reaches the user.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from routeguard.config.catalog import Catalog, Route
from routeguard.config.merge import POLICIES, Layer, merge, read_layer
from routeguard.config.models import read_models, read_route_overrides, route_layers
from routeguard.config.notify import notify_warnings, read_notify
from routeguard.config.problems import KeyPath, Problems, show
from routeguard.config.providers import ProviderEntry, read_providers
from routeguard.errors import ConfigError
from routeguard.routes import parse_route_id

TOP_LEVEL_KEYS = ("providers", "models", "routes", *POLICIES, "notify")
MAX_DEPTH = 32
"""A catalog nests about six levels deep; far deeper is a mistake or an attack."""
_TOO_DEEP = f"the YAML nests deeper than {MAX_DEPTH} levels"
_TOO_DEEP_FIX = "a catalog needs about six (docs/configuration.md); flatten it"
_YAML_FIX = "fix the YAML there (indentation, a missing ':', or a ':' or '#' in an unquoted value)"


class _CatalogYamlLoader(yaml.SafeLoader):
    """yaml.SafeLoader that also rejects a key written twice in one mapping.

    Plain `yaml.safe_load` keeps the last of two equal keys without a word,
    which would silently drop a provider or a model.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = (key_node.tag, key_node.value)
            if key in seen:
                raise _DuplicateKeyError(
                    None, None, f"the key {key_node.value!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


class _DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping with the same key twice."""


def load_catalog(path: Path) -> Catalog:
    """Read and validate the catalog file at `path`; ConfigError lists every problem."""
    return parse_catalog(_read(path), str(path))


def parse_catalog(text: str, source: str) -> Catalog:
    """Validate catalog YAML `text`; `source` names it in messages (usually the file path)."""
    problems = Problems(source)
    data = _parse_yaml(text, problems)
    catalog = None if len(problems) else _build(data, problems)
    if catalog is None or len(problems):
        raise ConfigError(problems.messages)
    return catalog


def check_config(
    path: Path, env: Mapping[str, str] | None = None
) -> tuple[Catalog | None, list[str], list[str]]:
    """Validate `path` for `routeguard check-config`: (catalog or None, errors, warnings).

    Warnings do not make the file invalid: a provider whose key variable is not set
    in `env` (default: the process environment), a provider no model uses.
    """
    try:
        catalog = load_catalog(path)
    except ConfigError as exc:
        return None, exc.messages, []
    return catalog, [], catalog_warnings(catalog, env)


def catalog_warnings(catalog: Catalog, env: Mapping[str, str] | None = None) -> list[str]:
    """What is legal but probably not meant: unset key variables, unused providers."""
    source = os.environ if env is None else env
    used = {route.provider for route in catalog.routes.values()}
    warnings = []
    for name, provider in catalog.providers.items():
        where = f"{catalog.source}: providers.{name}"
        if provider.api_key_env is not None and not source.get(provider.api_key_env):
            warnings.append(
                f"{where}: {provider.api_key_env} is not set in the environment; "
                "calls to this provider will fail with auth_error until it is"
            )
        if name not in used:
            warnings.append(f"{where}: no model lists a route of this provider")
    return warnings + notify_warnings(catalog.notify, catalog.source, env)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "no such file; check the path"
    except IsADirectoryError:
        problem = "is a directory, not a catalog file"
    except PermissionError:
        problem = "cannot read the file (permission denied); check its permissions"
    except UnicodeDecodeError as exc:
        problem = f"is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8"
    except OSError as exc:
        problem = f"cannot read the file ({exc.strerror or exc})"
    raise ConfigError(f"{path}: {problem}")


def _parse_yaml(text: str, problems: Problems) -> Any:
    try:
        data = yaml.load(text, Loader=_CatalogYamlLoader)  # a SafeLoader: no object tags
    except RecursionError:  # PyYAML parses nesting recursively: [[[[… 20,000 deep
        problems.add((), _TOO_DEEP, _TOO_DEEP_FIX)
    except _DuplicateKeyError as exc:
        problems.add((), f"{_where(exc)}{exc.problem}", "remove one, or merge the two entries")
    except yaml.MarkedYAMLError as exc:
        problems.add((), f"{_where(exc)}invalid YAML: {exc.problem or exc.context}", _YAML_FIX)
    except yaml.YAMLError as exc:
        problems.add((), f"invalid YAML: {exc}", _YAML_FIX)
    else:
        if not _deeper_than(data, MAX_DEPTH):
            return data
        problems.add((), _TOO_DEEP, _TOO_DEEP_FIX)
    return None


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether mappings and lists in `data` nest more than `limit` deep (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _where(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


def _build(data: Any, problems: Problems) -> Catalog | None:
    if data is None:
        problems.add(
            (), "the file is empty", "declare providers and models (docs/configuration.md)"
        )
        return None
    if not isinstance(data, dict):
        problems.add(
            (),
            f"the top level must be a mapping (got {show(data)})",
            f"use the keys {', '.join(TOP_LEVEL_KEYS)}",
        )
        return None
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            problems.unknown_key((str(key),), TOP_LEVEL_KEYS)
    top = read_layer((), data, problems)
    entries = read_providers(data.get("providers"), problems)
    models, listed = read_models(data.get("models"), entries, problems)
    notify = read_notify(data.get("notify"), problems)
    if entries is None:
        return None
    overrides = read_route_overrides(data.get("routes"), listed, problems)
    routes = _routes(models, entries, top, overrides, problems)
    providers = {name: e.provider for name, e in entries.items() if e.provider is not None}
    if len(problems) or notify is None:
        return None
    return Catalog(
        providers=MappingProxyType(providers),
        models=MappingProxyType(models),
        routes=MappingProxyType(routes),
        source=problems.source,
        notify=notify,
    )


def _routes(
    models: Mapping[str, tuple[str, ...]],
    entries: Mapping[str, ProviderEntry],
    top: Layer,
    overrides: Mapping[str, Layer],
    problems: Problems,
) -> dict[str, Route]:
    routes: dict[str, Route] = {}
    reported: set[KeyPath] = set()
    for route_ids in models.values():
        for route_id in route_ids:
            if route_id in routes:
                continue
            provider_name, model = parse_route_id(route_id)
            entry = entries[provider_name]
            layers = [top, entry.layer, route_layers(overrides, route_id)]
            policies = merge(layers, problems, reported)
            if entry.provider is None or policies is None:
                continue
            routes[route_id] = Route(
                id=route_id,
                provider=provider_name,
                model=model,
                probes=policies.probes,
                breaker=policies.breaker,
                slo=policies.slo,
            )
    return routes
