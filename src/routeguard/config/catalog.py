"""The loaded catalog: resolved providers, models and routes, ready to use.

These are the values the rest of routeguard reads; `loader.py` builds them from
a YAML file and nothing else creates them. Every policy on a `Route` is already
merged (built-in defaults -> top level -> provider -> route). API keys are never
stored: `Provider.api_key()` reads the named env var each time it is called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from routeguard.config.builtin import AUTHORIZATION
from routeguard.config.notify import NotifyConfig
from routeguard.config.policies import BreakerSettings, ProbeSettings, SloSettings
from routeguard.errors import RouteError
from routeguard.providers.base import Endpoint, Flavour
from routeguard.routes import parse_route_id

_ROUTES_SHOWN = 10


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Provider:
    """One upstream API account/endpoint (docs/configuration.md, `providers`), fully resolved."""

    name: str
    flavour: Flavour
    base_url: str  # no trailing '/'
    auth_header: str  # lowercase; `authorization` values get the `Bearer ` scheme
    api_key_env: str | None  # None: the endpoint needs no key
    headers: Mapping[str, str] = field(default_factory=_empty, hash=False)  # lowercase names
    status_page: str | None = None
    builtin: bool = False  # declared with the built-in catalog's defaults underneath
    vendor: str = ""  # whose wire quirks it has (built-in name); '' for a plain server

    def api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        """The API key from the `api_key_env` variable (read now), or None if unset or empty."""
        if self.api_key_env is None:
            return None
        source = os.environ if env is None else env
        return source.get(self.api_key_env) or None

    def request_headers(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Headers for a request: the fixed ones plus the auth header when a key is set."""
        headers = dict(self.headers)
        key = self.api_key(env)
        if key is not None:
            scheme = "Bearer " if self.auth_header == AUTHORIZATION else ""
            headers[self.auth_header] = scheme + key
        return headers

    def endpoint(self, env: Mapping[str, str] | None = None) -> Endpoint:
        """The provider as its wire codec sees it: URL, headers with the key, vendor quirks."""
        key = self.api_key(env)
        return Endpoint(
            self.name,
            self.base_url,
            self.request_headers(env),
            self.vendor,
            secrets=(key,) if key else (),
        )


@dataclass(frozen=True)
class Route:
    """One (provider, upstream model): the unit of health, breaker and SLA."""

    id: str
    provider: str
    model: str
    probes: ProbeSettings
    breaker: BreakerSettings
    slo: SloSettings


@dataclass(frozen=True, eq=False)
class Catalog:
    """Providers, public models and routes of one catalog file."""

    providers: Mapping[str, Provider]
    models: Mapping[str, tuple[str, ...]]  # public name -> route ids, failover order
    routes: Mapping[str, Route]  # in the order first met in `models`
    source: str = "<catalog>"  # the file it came from, for messages
    notify: NotifyConfig = field(default_factory=NotifyConfig)  # who is told of incidents

    def route(self, route_id: str) -> Route:
        """The route with id `route_id`; RouteError if malformed or not in the catalog."""
        found = self.routes.get(route_id)
        if found is not None:
            return found
        parse_route_id(route_id)
        raise RouteError(f"unknown route {route_id!r}: routes in the catalog are {self._known()}")

    def provider_of(self, route_id: str) -> Provider:
        """The provider that serves route `route_id`."""
        return self.providers[self.route(route_id).provider]

    def _known(self) -> str:
        ids = list(self.routes)
        if not ids:
            return "none"
        shown = ", ".join(ids[:_ROUTES_SHOWN])
        more = len(ids) - _ROUTES_SHOWN
        return f"{shown} and {more} more" if more > 0 else shown
