"""Which routeguard route a LiteLLM deployment calls (docs/integrations.md, "Mapping").

A deployment is the dict LiteLLM keeps per entry of its `model_list`:
`{"model_name": ..., "litellm_params": {"model": "openai/gpt-4o", "api_base": ...},
"model_info": {"id": ...}}`. Its route is found, in this order:

1. `model_info.routeguard_route: provider/model`, said outright;
2. `litellm_params.api_base` equal to a catalog provider's `base_url` (a trailing
   `/v1`, `/v1beta` or `/` aside), with the upstream model after LiteLLM's provider
   prefix (`openai/llama` calls `llama`);
3. LiteLLM's provider (the model's prefix, or `custom_llm_provider`) named like a
   catalog provider, with the same upstream model.

Nothing here imports LiteLLM.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from routeguard.config import Catalog
from routeguard.errors import ConfigError

_VERSION_SUFFIXES = ("/v1beta", "/v1")
ENV_REFERENCE = "os.environ/"
"""LiteLLM's way of reading a config value from the environment."""


@dataclass(frozen=True)
class Deployment:
    """What the mapping reads of one LiteLLM deployment."""

    group: str  # LiteLLM's model_name: the model group callers ask for
    model: str  # litellm_params.model, e.g. "openai/llama"
    api_base: str | None
    provider_hint: str | None  # custom_llm_provider, or the model's prefix
    declared_route: str | None  # model_info.routeguard_route
    deployment_id: str | None  # model_info.id (set by LiteLLM's Router)

    @classmethod
    def of(cls, raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Deployment:
        params = raw.get("litellm_params") or {}
        info = raw.get("model_info") or {}
        model = str(_resolved(params.get("model"), env) or "")
        prefix = model.split("/", 1)[0] if "/" in model else None
        hint = _resolved(params.get("custom_llm_provider"), env) or prefix
        return cls(
            group=str(raw.get("model_name") or ""),
            model=model,
            api_base=_resolved(params.get("api_base"), env),
            provider_hint=str(hint) if hint else None,
            declared_route=_text(info.get("routeguard_route")),
            deployment_id=_text(info.get("id")),
        )

    @property
    def upstream_model(self) -> str:
        """The model as the provider knows it: LiteLLM's provider prefix taken off."""
        if self.provider_hint and self.model.startswith(self.provider_hint + "/"):
            return self.model[len(self.provider_hint) + 1 :]
        return self.model

    def describe(self) -> str:
        return f"model_list entry model_name={self.group!r} (litellm_params.model={self.model!r})"


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _resolved(value: Any, env: Mapping[str, str] | None) -> str | None:
    """A config value, `os.environ/NAME` read from the environment as LiteLLM does."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith(ENV_REFERENCE):
        source = os.environ if env is None else env
        return source.get(value[len(ENV_REFERENCE) :]) or None
    return value


def normalised_base(url: str) -> str:
    """`HTTP://Host:1/v1/` and `http://host:1` compare equal: the version suffix goes."""
    scheme, sep, rest = url.strip().rstrip("/").partition("://")
    host, slash, path = rest.partition("/")
    base = f"{scheme.lower()}{sep}{host.lower()}{slash}{path}".rstrip("/")
    for suffix in _VERSION_SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


class RouteMap:
    """LiteLLM deployments -> routeguard route ids, for one catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._by_base: dict[str, list[str]] = {}
        for provider in catalog.providers.values():
            self._by_base.setdefault(normalised_base(provider.base_url), []).append(provider.name)

    def route_of(self, deployment: Deployment) -> str:
        """The deployment's route id; ConfigError saying what to add when there is none."""
        if deployment.declared_route is not None:
            return self._declared(deployment)
        candidates = self._by_api_base(deployment) or self._by_provider_name(deployment)
        routes = [f"{p}/{deployment.upstream_model}" for p in candidates]
        found = [r for r in routes if r in self._catalog.routes]
        if len(found) == 1:
            return found[0]
        raise ConfigError(self._unmapped(deployment, found))

    def check(self, deployments: Iterable[Deployment]) -> dict[Deployment, str]:
        """Every deployment's route; one ConfigError naming each that has none."""
        mapped: dict[Deployment, str] = {}
        problems: list[str] = []
        for deployment in deployments:
            try:
                mapped[deployment] = self.route_of(deployment)
            except ConfigError as exc:
                problems.extend(exc.messages)
        if problems:
            raise ConfigError(problems)
        return mapped

    def _declared(self, deployment: Deployment) -> str:
        route = deployment.declared_route or ""
        if route in self._catalog.routes:
            return route
        raise ConfigError(
            f"{deployment.describe()}: model_info.routeguard_route {route!r} is not a route of "
            f"the routeguard catalog {self._catalog.source} ({self._known()})"
        )

    def _by_api_base(self, deployment: Deployment) -> list[str]:
        if deployment.api_base is None:
            return []
        return self._by_base.get(normalised_base(deployment.api_base), [])

    def _by_provider_name(self, deployment: Deployment) -> list[str]:
        hint = deployment.provider_hint
        if deployment.api_base is not None or hint is None or hint not in self._catalog.providers:
            return []
        return [hint]

    def _unmapped(self, deployment: Deployment, found: list[str]) -> str:
        if len(found) > 1:
            why = f"its api_base matches several providers ({', '.join(found)})"
        else:
            why = "no catalog provider has its api_base or provider name with that model"
        return (
            f"{deployment.describe()}: no routeguard route ({why}); add "
            f"model_info: {{routeguard_route: <provider>/<model>}} naming one of "
            f"{self._catalog.source}'s routes ({self._known()})"
        )

    def _known(self) -> str:
        ids = list(self._catalog.routes)
        shown = ", ".join(ids[:8])
        return f"{shown} and {len(ids) - 8} more" if len(ids) > 8 else shown or "none"
