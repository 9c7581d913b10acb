"""The built-in provider catalog: what routeguard knows about well-known vendors.

A catalog file can declare `openai: {}` and get the base URL, wire flavour, auth
header, key env var and status page from here. Facts come from
docs/providers.md; each entry notes the quirks that matter to probes.
Everything here is read-only: the mappings are proxies over module constants.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from routeguard.providers.base import Flavour

AUTHORIZATION = "authorization"
"""The one auth header whose value carries a scheme: `Authorization: Bearer <key>`."""


@dataclass(frozen=True)
class FlavourDefaults:
    """What a provider of a flavour gets when the file does not say otherwise."""

    auth_header: str
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)


@dataclass(frozen=True)
class BuiltinProvider:
    """A vendor routeguard knows: `providers.<name>: {}` resolves to these values."""

    name: str
    flavour: Flavour
    base_url: str
    api_key_env: str
    auth_header: str
    status_page: str | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    notes: str = ""  # probe quirks worth knowing (docs/configuration.md shows them)


_ANTHROPIC_HEADERS: Mapping[str, str] = MappingProxyType({"anthropic-version": "2023-06-01"})

FLAVOUR_DEFAULTS: Mapping[Flavour, FlavourDefaults] = MappingProxyType(
    {
        Flavour.OPENAI: FlavourDefaults(auth_header=AUTHORIZATION),
        Flavour.ANTHROPIC: FlavourDefaults(auth_header="x-api-key", headers=_ANTHROPIC_HEADERS),
        Flavour.GEMINI: FlavourDefaults(auth_header="x-goog-api-key"),
    }
)


def _openai_compatible(
    name: str, base_url: str, api_key_env: str, status_page: str | None, notes: str = ""
) -> BuiltinProvider:
    return BuiltinProvider(
        name=name,
        flavour=Flavour.OPENAI,
        base_url=base_url,
        api_key_env=api_key_env,
        auth_header=AUTHORIZATION,
        status_page=status_page,
        notes=notes,
    )


BUILTIN_PROVIDERS: Mapping[str, BuiltinProvider] = MappingProxyType(
    {
        "openai": _openai_compatible(
            "openai",
            "https://api.openai.com/v1",
            "OPENAI_API_KEY",
            "https://status.openai.com",
            "429 insufficient_quota is quota, not rate",
        ),
        "anthropic": BuiltinProvider(
            name="anthropic",
            flavour=Flavour.ANTHROPIC,
            base_url="https://api.anthropic.com/v1",
            api_key_env="ANTHROPIC_API_KEY",
            auth_header="x-api-key",
            status_page="https://status.claude.com",
            headers=_ANTHROPIC_HEADERS,
            notes="529 overloaded_error; errors can arrive inside a 200 stream",
        ),
        "gemini": BuiltinProvider(
            name="gemini",
            flavour=Flavour.GEMINI,
            base_url="https://generativelanguage.googleapis.com/v1beta",
            api_key_env="GEMINI_API_KEY",
            auth_header="x-goog-api-key",
            status_page="https://aistudio.google.com/status",
            notes="a bad key is 400 API_KEY_INVALID; 2.5 models need thinkingBudget 0",
        ),
        "mistral": _openai_compatible(
            "mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "https://status.mistral.ai"
        ),
        "deepseek": _openai_compatible(
            "deepseek",
            "https://api.deepseek.com",
            "DEEPSEEK_API_KEY",
            "https://status.deepseek.com",
            "queues under load with keep-alive comments; 402 means no balance",
        ),
        "together": _openai_compatible(
            "together",
            "https://api.together.xyz/v1",
            "TOGETHER_API_KEY",
            "https://status.together.ai",
            "GET /models returns a bare array; 503 also for bursts",
        ),
        "fireworks": _openai_compatible(
            "fireworks",
            "https://api.fireworks.ai/inference/v1",
            "FIREWORKS_API_KEY",
            "https://status.fireworks.ai",
            "GET /models returns 500 for some accounts",
        ),
        "groq": _openai_compatible(
            "groq",
            "https://api.groq.com/openai/v1",
            "GROQ_API_KEY",
            "https://groqstatus.com",
            "498 capacity_exceeded on the flex tier",
        ),
        "openrouter": _openai_compatible(
            "openrouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            "https://status.openrouter.ai",
            "GET /models needs no key; errors can arrive inside a 200",
        ),
    }
)
