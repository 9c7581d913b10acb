"""Reads the `providers:` section of a catalog into resolved `Provider`s.

A provider named like a built-in one starts from the built-in values; any other
name must give `flavour` and `base_url`. Credentials never belong in the file:
a key-like entry or value is reported with a pointer to `api_key_env`, and is
never echoed back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from routeguard.config.builtin import BUILTIN_PROVIDERS, FLAVOUR_DEFAULTS, BuiltinProvider
from routeguard.config.catalog import Provider
from routeguard.config.credentials import (
    ENV_FIX,
    is_credential_header,
    is_secret_entry,
    looks_like_key,
    url_has_credentials,
)
from routeguard.config.merge import POLICIES, Layer, read_layer
from routeguard.config.problems import (
    KeyPath,
    Problems,
    did_you_mean,
    show,
    unknown_key_fix,
)
from routeguard.providers.base import Flavour
from routeguard.routes import PROVIDER_NAME, PROVIDER_NAME_RULE

PROVIDER_KEYS = (
    "flavour",
    "vendor",
    "base_url",
    "api_key_env",
    "auth_header",
    "headers",
    *POLICIES,
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_FLAVOURS = ", ".join(f.value for f in Flavour)


@dataclass(frozen=True)
class ProviderEntry:
    """One `providers.<name>` entry: the resolved provider (None if invalid) and its overrides."""

    provider: Provider | None
    layer: Layer


def read_providers(raw: Any, problems: Problems) -> dict[str, ProviderEntry] | None:
    """Every entry of the `providers:` mapping, keyed by name, invalid ones included.

    None if the section itself is missing or not a mapping.
    """
    path: KeyPath = ("providers",)
    if raw is None or raw == {}:
        problems.add(
            path, "missing or empty", "declare each provider you route to, e.g. openai: {}"
        )
        return None
    if not isinstance(raw, dict):
        problems.add(path, f"must be a mapping of provider names (got {show(raw)})")
        return None
    entries: dict[str, ProviderEntry] = {}
    for name, entry in raw.items():
        key = str(name)
        if _name_ok(name, (*path, key), problems):
            entries[key] = _read_entry(key, entry, problems)
    return entries


def _name_ok(name: Any, path: KeyPath, problems: Problems) -> bool:
    if not isinstance(name, str):
        problems.add(path, "a provider name must be text", "quote it")
        return False
    if not PROVIDER_NAME.fullmatch(name):
        problems.add(path, "invalid provider name", f"use {PROVIDER_NAME_RULE}")
        return False
    return True


def _read_entry(name: str, entry: Any, problems: Problems) -> ProviderEntry:
    path: KeyPath = ("providers", name)
    if entry is None:
        entry = {}
    if not isinstance(entry, dict):
        problems.add(path, f"must be a mapping (got {show(entry)})", "use {} for built-in defaults")
        return ProviderEntry(None, Layer(path))
    before = len(problems)
    builtin = BUILTIN_PROVIDERS.get(name)
    _check_keys(name, entry, builtin, problems)
    layer = read_layer(path, entry, problems)
    provider = _resolve(name, entry, builtin, problems)
    return ProviderEntry(provider if len(problems) == before else None, layer)


def _check_keys(
    name: str, entry: dict[Any, Any], builtin: BuiltinProvider | None, problems: Problems
) -> None:
    for key in entry:
        path: KeyPath = ("providers", name, str(key))
        if key in PROVIDER_KEYS:
            continue
        if isinstance(key, str) and is_secret_entry(key):
            env = builtin.api_key_env if builtin else re.sub(r"\W", "_", name.upper()) + "_API_KEY"
            problems.add(
                path,
                "API keys must not be written in the catalog file",
                f"put the key in an environment variable and name it here instead "
                f"(api_key_env: {env})",
            )
        else:
            problems.add(path, "unknown key", unknown_key_fix(str(key), PROVIDER_KEYS))


def _resolve(
    name: str, entry: dict[Any, Any], builtin: BuiltinProvider | None, problems: Problems
) -> Provider | None:
    path: KeyPath = ("providers", name)
    if builtin is None and not entry:
        problems.add(path, f"{name!r} is not a built-in provider", _not_builtin_fix(name))
        return None
    if builtin is None:
        for required in ("flavour", "base_url"):
            if required not in entry:
                problems.add(
                    (*path, required),
                    f"missing: {name!r} is not a built-in provider, so it needs flavour and base_url",
                    f"add {required}: {'openai' if required == 'flavour' else 'https://host/v1'}",
                )
    flavour = _flavour(entry.get("flavour"), path, builtin, problems)
    base_url = _base_url(entry.get("base_url"), path, builtin, problems)
    api_key_env = _api_key_env(entry, path, builtin, problems)
    auth_header = _auth_header(entry.get("auth_header"), path, flavour, builtin, problems)
    headers = _headers(entry.get("headers"), path, flavour, builtin, auth_header, problems)
    vendor = _vendor(entry.get("vendor"), name, path, builtin, problems)
    if flavour is None or base_url is None or auth_header is None or headers is None:
        return None
    return Provider(
        name=name,
        flavour=flavour,
        base_url=base_url,
        auth_header=auth_header,
        api_key_env=api_key_env,
        headers=MappingProxyType(headers),
        status_page=builtin.status_page if builtin else None,
        builtin=builtin is not None,
        vendor=vendor or "",
    )


def _vendor(
    raw: Any, name: str, path: KeyPath, builtin: BuiltinProvider | None, problems: Problems
) -> str | None:
    """Whose wire quirks the provider has: its own name if built-in, else `vendor:`."""
    if raw is None:
        return name if builtin else ""
    if isinstance(raw, str) and raw in BUILTIN_PROVIDERS:
        return raw
    names = sorted(BUILTIN_PROVIDERS)
    problems.add(
        (*path, "vendor"),
        f"unknown vendor {show(raw)}",
        f"use one of {', '.join(names)}{did_you_mean(str(raw), names)}",
    )
    return None


def _not_builtin_fix(name: str) -> str:
    names = sorted(BUILTIN_PROVIDERS)
    fix = f"give flavour and base_url, or use a built-in one: {', '.join(names)}"
    return fix + did_you_mean(name, names)


def _flavour(
    raw: Any, path: KeyPath, builtin: BuiltinProvider | None, problems: Problems
) -> Flavour | None:
    if raw is None:
        return builtin.flavour if builtin else None
    if raw in tuple(Flavour):
        return Flavour(raw)
    problems.add((*path, "flavour"), f"unknown flavour {show(raw)}", f"use one of {_FLAVOURS}")
    return None


def _base_url(
    raw: Any, path: KeyPath, builtin: BuiltinProvider | None, problems: Problems
) -> str | None:
    where = (*path, "base_url")
    if raw is None:
        return builtin.base_url if builtin else None
    if isinstance(raw, str) and url_has_credentials(raw):
        problems.add(where, "credentials must not be written in the catalog file", ENV_FIX)
        return None
    try:
        parts = urlsplit(raw) if isinstance(raw, str) else None
        host = parts.hostname if parts else None
    except ValueError:
        parts = host = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        problems.add(
            where, f"must be an http:// or https:// URL (got {show(raw)})", "e.g. https://host/v1"
        )
        return None
    return str(raw).rstrip("/")


def _api_key_env(
    entry: Mapping[Any, Any], path: KeyPath, builtin: BuiltinProvider | None, problems: Problems
) -> str | None:
    where = (*path, "api_key_env")
    if "api_key_env" not in entry:
        return builtin.api_key_env if builtin else None
    raw = entry["api_key_env"]
    if raw is None:  # explicitly none: the endpoint needs no key
        return None
    if isinstance(raw, str) and looks_like_key(raw):
        problems.add(
            where,
            "this looks like an API key, not the name of an environment variable",
            "put the key in an environment variable and write that variable's name here",
        )
        return None
    if not isinstance(raw, str) or not _ENV_NAME.fullmatch(raw):
        problems.add(
            where,
            f"must be the name of an environment variable (got {show(raw)})",
            "use letters, digits and '_', not starting with a digit, e.g. VLLM_API_KEY",
        )
        return None
    return raw


def _auth_header(
    raw: Any,
    path: KeyPath,
    flavour: Flavour | None,
    builtin: BuiltinProvider | None,
    problems: Problems,
) -> str | None:
    if raw is None:
        if builtin is not None:
            return builtin.auth_header
        return FLAVOUR_DEFAULTS[flavour].auth_header if flavour else None
    if not isinstance(raw, str) or not _HEADER_NAME.fullmatch(raw):
        problems.add(
            (*path, "auth_header"),
            f"must be an HTTP header name (got {show(raw)})",
            "e.g. authorization, x-api-key or api-key",
        )
        return None
    return raw.lower()


def _headers(
    raw: Any,
    path: KeyPath,
    flavour: Flavour | None,
    builtin: BuiltinProvider | None,
    auth_header: str | None,
    problems: Problems,
) -> dict[str, str] | None:
    where = (*path, "headers")
    headers: dict[str, str] = {}
    if builtin is not None:
        headers.update(builtin.headers)
    elif flavour is not None:
        headers.update(FLAVOUR_DEFAULTS[flavour].headers)
    if raw is None:
        return headers
    if not isinstance(raw, dict):
        problems.add(where, f"must be a mapping of header names to values (got {show(raw)})")
        return None
    before = len(problems)
    for name, value in raw.items():
        checked = _header(str(name), value, where, auth_header, problems)
        if checked is not None:
            headers[str(name).lower()] = checked
    return headers if len(problems) == before else None


def _header(
    name: str, value: Any, where: KeyPath, auth_header: str | None, problems: Problems
) -> str | None:
    path = (*where, name)
    if not _HEADER_NAME.fullmatch(name):
        problems.add(path, "not a valid HTTP header name", "use letters, digits and '-'")
    elif is_credential_header(name, value, auth_header):
        problems.add(path, "credentials must not be written in the catalog file", ENV_FIX)
    elif not isinstance(value, str):
        problems.add(path, f"a header value must be text (got {show(value)})", "quote it")
    elif "\r" in value or "\n" in value:
        problems.add(path, "a header value must be one line", "remove the line break")
    else:
        return value
    return None
