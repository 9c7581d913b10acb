"""Configuration: `ROUTEGUARD_*` settings, the catalog file, and the built-in providers.

`load_settings()` reads the environment; `load_catalog()` reads and validates a
catalog file into a `Catalog` of providers, public models and routes with their
merged policies; `check_config()` does the same for `routeguard check-config`.
docs/configuration.md describes every key.
"""

from __future__ import annotations

from routeguard.config.builtin import BUILTIN_PROVIDERS, BuiltinProvider
from routeguard.config.catalog import Catalog, Provider, Route
from routeguard.config.loader import catalog_warnings, check_config, load_catalog, parse_catalog
from routeguard.config.policies import BreakerSettings, ProbeSettings, SloSettings
from routeguard.config.settings import Settings, load_settings
from routeguard.providers.base import Flavour
from routeguard.tiers import ProbeTier

__all__ = [
    "BUILTIN_PROVIDERS",
    "BreakerSettings",
    "BuiltinProvider",
    "Catalog",
    "Flavour",
    "ProbeSettings",
    "ProbeTier",
    "Provider",
    "Route",
    "Settings",
    "SloSettings",
    "catalog_warnings",
    "check_config",
    "load_catalog",
    "load_settings",
    "parse_catalog",
]
