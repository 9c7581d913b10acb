"""Simulated providers, a routeguard catalog and a LiteLLM model_list for the same routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import litellm

from routeguard.config import Catalog, parse_catalog
from routeguard.sim import SimProvider

from .proxy_helpers import SIM_KEY, SIM_KEY_ENV

MESSAGES = [{"role": "user", "content": "hi"}]


@dataclass
class Sims:
    """p1 (openai), p2 (anthropic), p3 (openai): each serves its one model."""

    by_name: dict[str, SimProvider]

    def __getitem__(self, name: str) -> SimProvider:
        return self.by_name[name]

    def catalog_text(self, breaker: str = "{consecutive_failures: 3}") -> str:
        lines = ["providers:"] + [
            f"  {n}: {{flavour: {s.flavour}, base_url: {s.base_url}, api_key_env: {SIM_KEY_ENV}}}"
            for n, s in self.by_name.items()
        ]
        routes = ", ".join(f"{n}/{s.models[0]}" for n, s in self.by_name.items())
        return "\n".join([*lines, "models:", f"  m: [{routes}]", f"breaker: {breaker}", ""])

    def catalog(self, breaker: str = "{consecutive_failures: 3}") -> Catalog:
        return parse_catalog(self.catalog_text(breaker), "catalog.yaml")

    def deployment(self, name: str, group: str | None = None) -> dict[str, Any]:
        """LiteLLM's entry for provider `name`, as a user would write it."""
        sim = self.by_name[name]
        prefix = "anthropic" if sim.flavour == "anthropic" else "openai"
        base = sim.root_url if sim.flavour == "anthropic" else sim.base_url
        params = {"model": f"{prefix}/{sim.models[0]}", "api_base": base, "api_key": SIM_KEY}
        return {"model_name": group or f"m-{name}", "litellm_params": params}

    def served_by(self, response: Any) -> str:
        """Which simulator answered a LiteLLM response."""
        base = str(response._hidden_params.get("api_base", ""))
        found = [n for n, s in self.by_name.items() if f":{s.port}/" in base + "/"]
        assert len(found) == 1, base
        return found[0]


@asynccontextmanager
async def sims() -> AsyncIterator[Sims]:
    started = {
        "p1": SimProvider("p1", "openai", ("llama",), SIM_KEY),
        "p2": SimProvider("p2", "anthropic", ("claude-haiku-4-5",), SIM_KEY, "anthropic"),
        "p3": SimProvider("p3", "openai", ("llama",), SIM_KEY),
    }
    for sim in started.values():
        await sim.start()
    try:
        yield Sims(started)
    finally:
        for sim in started.values():
            await sim.stop()


def quiet_litellm() -> None:
    """LiteLLM logs every failed call at ERROR with a long help text: the tests cause them."""
    litellm.suppress_debug_info = True
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
