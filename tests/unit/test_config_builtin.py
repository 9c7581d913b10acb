"""The built-in provider catalog, and what `<name>: {}` resolves to."""

from __future__ import annotations

import pytest

from routeguard.config import BUILTIN_PROVIDERS, Flavour, parse_catalog

EXPECTED = {
    # name: (flavour, base_url, auth header, key env var)
    "openai": (Flavour.OPENAI, "https://api.openai.com/v1", "authorization", "OPENAI_API_KEY"),
    "anthropic": (
        Flavour.ANTHROPIC,
        "https://api.anthropic.com/v1",
        "x-api-key",
        "ANTHROPIC_API_KEY",
    ),
    "gemini": (
        Flavour.GEMINI,
        "https://generativelanguage.googleapis.com/v1beta",
        "x-goog-api-key",
        "GEMINI_API_KEY",
    ),
    "mistral": (Flavour.OPENAI, "https://api.mistral.ai/v1", "authorization", "MISTRAL_API_KEY"),
    "deepseek": (Flavour.OPENAI, "https://api.deepseek.com", "authorization", "DEEPSEEK_API_KEY"),
    "together": (
        Flavour.OPENAI,
        "https://api.together.xyz/v1",
        "authorization",
        "TOGETHER_API_KEY",
    ),
    "fireworks": (
        Flavour.OPENAI,
        "https://api.fireworks.ai/inference/v1",
        "authorization",
        "FIREWORKS_API_KEY",
    ),
    "groq": (Flavour.OPENAI, "https://api.groq.com/openai/v1", "authorization", "GROQ_API_KEY"),
    "openrouter": (
        Flavour.OPENAI,
        "https://openrouter.ai/api/v1",
        "authorization",
        "OPENROUTER_API_KEY",
    ),
}


def test_every_vendor_of_the_design_is_built_in() -> None:
    assert set(BUILTIN_PROVIDERS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_empty_entry_resolves_to_the_built_in_values(name: str) -> None:
    catalog = parse_catalog(f"providers: {{{name}: {{}}}}\nmodels: {{m: [{name}/x]}}\n", "b.yaml")
    provider = catalog.providers[name]
    assert (provider.flavour, provider.base_url, provider.auth_header, provider.api_key_env) == (
        EXPECTED[name]
    )
    assert provider.builtin
    assert provider.status_page is not None and provider.status_page.startswith("https://")


def test_openai_with_an_empty_entry_is_complete() -> None:
    catalog = parse_catalog("providers: {openai: {}}\nmodels: {m: [openai/gpt-4o-mini]}\n", "o")
    openai = catalog.providers["openai"]
    assert openai.name == "openai"
    assert openai.status_page == "https://status.openai.com"
    assert dict(openai.headers) == {}
    env = {"OPENAI_API_KEY": "sk-test"}
    assert openai.request_headers(env) == {"authorization": "Bearer sk-test"}


def test_anthropic_sends_its_key_bare_with_the_required_version_header() -> None:
    catalog = parse_catalog("providers: {anthropic: {}}\nmodels: {m: [anthropic/x]}\n", "a")
    headers = catalog.providers["anthropic"].request_headers({"ANTHROPIC_API_KEY": "sk-ant-1"})
    assert headers == {"x-api-key": "sk-ant-1", "anthropic-version": "2023-06-01"}


def test_gemini_sends_its_key_in_x_goog_api_key() -> None:
    catalog = parse_catalog(
        "providers: {gemini: {}}\nmodels: {m: [gemini/gemini-2.5-flash]}\n", "g"
    )
    headers = catalog.providers["gemini"].request_headers({"GEMINI_API_KEY": "AIza-test"})
    assert headers == {"x-goog-api-key": "AIza-test"}


def test_a_built_in_entry_can_override_single_values() -> None:
    catalog = parse_catalog(
        "providers:\n  openai:\n    base_url: https://gw.example.com/openai/v1\n"
        "    api_key_env: TEAM_OPENAI_KEY\n"
        "    headers: {OpenAI-Project: proj_abc}\n"
        "models: {m: [openai/gpt-4o]}\n",
        "o",
    )
    openai = catalog.providers["openai"]
    assert openai.base_url == "https://gw.example.com/openai/v1"
    assert openai.api_key_env == "TEAM_OPENAI_KEY"
    assert openai.flavour is Flavour.OPENAI  # kept from the built-in
    assert dict(openai.headers) == {"openai-project": "proj_abc"}


def test_the_built_in_catalog_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        BUILTIN_PROVIDERS["evil"] = BUILTIN_PROVIDERS["openai"]  # type: ignore[index]
