"""Loading a valid catalog: built-in defaults, route derivation and override merging."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeguard.config import (
    BreakerSettings,
    Catalog,
    Flavour,
    ProbeSettings,
    ProbeTier,
    SloSettings,
    load_catalog,
    parse_catalog,
)
from routeguard.errors import ConfigError, RouteError

TESTDATA = Path(__file__).parent.parent / "testdata" / "config"
LLAMA_TOGETHER = "together/meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo"


@pytest.fixture
def minimal() -> Catalog:
    return load_catalog(TESTDATA / "valid-minimal.yaml")


@pytest.fixture
def full() -> Catalog:
    return load_catalog(TESTDATA / "valid-full.yaml")


def test_the_design_example_loads_with_every_provider_resolved(minimal: Catalog) -> None:
    assert list(minimal.providers) == ["openai", "anthropic", "together", "local-vllm"]
    vllm = minimal.providers["local-vllm"]
    assert vllm.flavour is Flavour.OPENAI
    assert vllm.base_url == "http://10.0.0.5:8000/v1"
    assert vllm.api_key_env == "VLLM_KEY"
    assert vllm.auth_header == "authorization"
    assert vllm.status_page is None
    assert not vllm.builtin


def test_models_keep_their_failover_order(minimal: Catalog) -> None:
    assert dict(minimal.models) == {
        "llama-3.1-70b": (LLAMA_TOGETHER, "local-vllm/llama-3.1-70b"),
        "claude-haiku": ("anthropic/claude-haiku-4-5",),
    }


def test_routes_are_the_listed_route_ids_in_the_order_first_met(minimal: Catalog) -> None:
    assert list(minimal.routes) == [
        LLAMA_TOGETHER,
        "local-vllm/llama-3.1-70b",
        "anthropic/claude-haiku-4-5",
    ]
    route = minimal.routes[LLAMA_TOGETHER]
    assert route.id == LLAMA_TOGETHER
    assert route.provider == "together"
    assert route.model == "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo"


def test_a_route_listed_by_two_models_is_one_route() -> None:
    catalog = parse_catalog(
        "providers: {openai: {}}\n"
        "models:\n  fast: [openai/gpt-4o-mini]\n  smart: [openai/gpt-4o, openai/gpt-4o-mini]\n",
        "two.yaml",
    )
    assert list(catalog.routes) == ["openai/gpt-4o-mini", "openai/gpt-4o"]


def test_without_overrides_every_route_gets_the_policy_defaults(minimal: Catalog) -> None:
    for route in minimal.routes.values():
        assert route.probes == ProbeSettings()
        assert route.breaker == BreakerSettings()
        assert route.slo == SloSettings()


def test_top_level_overrides_apply_to_every_route(full: Catalog) -> None:
    route = full.routes["openai/gpt-4o-mini"]
    assert route.probes.interval_s == 20
    assert route.probes.tiers == (ProbeTier.LIVENESS, ProbeTier.COMPLETION, ProbeTier.STREAM)
    assert route.breaker.window_s == 120
    assert route.breaker.open_s == 10
    assert route.slo.availability == 0.99
    assert route.breaker.min_calls == BreakerSettings().min_calls  # untouched: built-in default


def test_a_provider_override_beats_the_top_level_for_that_provider_only(full: Catalog) -> None:
    vllm = full.routes["local-vllm/llama-3.1-70b"]
    assert vllm.probes.interval_s == 5  # provider
    assert vllm.probes.tiers == (ProbeTier.LIVENESS,)  # a list replaces, it does not extend
    assert vllm.breaker.open_max_s == 60  # provider
    assert vllm.breaker.window_s == 120  # top level still applies to other fields
    assert full.routes[LLAMA_TOGETHER].probes.interval_s == 20


def test_a_route_override_beats_provider_and_top_level(full: Catalog) -> None:
    haiku = full.routes["anthropic/claude-haiku-4-5"]
    assert haiku.breaker.open_s == 20  # route
    assert haiku.breaker.consecutive_failures == 2  # provider
    assert haiku.breaker.window_s == 120  # top level
    assert haiku.slo.availability == 0.999  # route beats top level
    assert haiku.slo.ttft_p95_s == 3.0  # provider
    assert full.routes["local-vllm/llama-3.1-70b"].probes.timeout_s == 30  # route
    assert full.routes["claude-proxy/claude-haiku-4-5"].breaker.open_s == 10  # top level


def test_a_lower_level_can_repair_what_it_merges_over() -> None:
    catalog = parse_catalog(
        "providers:\n  openai: {breaker: {open_s: 900, open_max_s: 1800}}\n"
        "models: {gpt: [openai/gpt-4o]}\nbreaker: {open_max_s: 30}\n",
        "repair.yaml",
    )
    assert catalog.routes["openai/gpt-4o"].breaker.open_max_s == 1800


def test_a_merged_conflict_is_reported_at_the_route_level_that_makes_it() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalog(
            "providers: {openai: {breaker: {open_s: 10}}}\n"
            "models: {gpt: [openai/gpt-4o]}\n"
            "routes: {openai/gpt-4o: {breaker: {open_max_s: 5}}}\n",
            "conflict.yaml",
        )
    assert caught.value.messages == [
        "conflict.yaml: routes.openai/gpt-4o.breaker: open_max_s (5.0) must be at least open_s "
        "(10.0) once merged over providers.openai.breaker; change the values so they agree"
    ]


def test_a_provider_level_conflict_is_reported_once_for_all_its_routes() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalog(
            "providers: {openai: {breaker: {open_s: 10, open_max_s: 5}}}\n"
            "models: {a: [openai/gpt-4o, openai/gpt-4o-mini, openai/o3]}\n",
            "once.yaml",
        )
    assert len(caught.value.messages) == 1
    assert caught.value.messages[0].startswith("once.yaml: providers.openai.breaker: ")


def test_built_in_headers_and_custom_headers_are_merged_with_lowercase_names(
    full: Catalog,
) -> None:
    assert dict(full.providers["openrouter"].headers) == {
        "http-referer": "https://gateway.example.com",
        "x-title": "routeguard",
    }
    assert dict(full.providers["together"].headers) == {"x-team": "platform"}
    assert full.providers["together"].base_url == "https://proxy.internal.example.com/together/v1"


def test_a_custom_anthropic_provider_gets_the_flavour_auth_and_version_header(
    full: Catalog,
) -> None:
    proxy = full.providers["claude-proxy"]
    assert proxy.auth_header == "x-api-key"
    assert dict(proxy.headers) == {"anthropic-version": "2023-06-01"}


def test_a_custom_provider_without_api_key_env_needs_no_key() -> None:
    catalog = parse_catalog(
        "providers: {local: {flavour: openai, base_url: 'http://127.0.0.1:8000/v1'}}\n"
        "models: {m: [local/m]}\n",
        "local.yaml",
    )
    provider = catalog.providers["local"]
    assert provider.api_key_env is None
    assert provider.api_key({}) is None
    assert provider.request_headers({}) == {}


def test_catalog_route_finds_a_route_by_id(minimal: Catalog) -> None:
    assert minimal.route("local-vllm/llama-3.1-70b").provider == "local-vllm"
    assert minimal.provider_of("anthropic/claude-haiku-4-5").name == "anthropic"


def test_an_unknown_route_names_the_routes_the_catalog_has(minimal: Catalog) -> None:
    with pytest.raises(RouteError) as caught:
        minimal.route("openai/gpt-4o")
    assert str(caught.value) == (
        "unknown route 'openai/gpt-4o': routes in the catalog are "
        f"{LLAMA_TOGETHER}, local-vllm/llama-3.1-70b, anthropic/claude-haiku-4-5"
    )


def test_the_list_of_known_routes_is_capped() -> None:
    names = ", ".join(f"openai/m{i}" for i in range(25))
    catalog = parse_catalog(f"providers: {{openai: {{}}}}\nmodels: {{m: [{names}]}}\n", "big")
    with pytest.raises(RouteError, match=r"openai/m9 and 15 more$"):
        catalog.route("openai/nope")


def test_a_malformed_route_id_is_a_route_error_not_unknown(minimal: Catalog) -> None:
    with pytest.raises(RouteError, match="has no '/'"):
        minimal.route("gpt-4o")


def test_the_catalog_cannot_be_changed(minimal: Catalog) -> None:
    with pytest.raises(TypeError):
        minimal.routes["x/y"] = minimal.routes[LLAMA_TOGETHER]  # type: ignore[index]
    with pytest.raises(TypeError):
        minimal.providers["openai"].headers["x"] = "y"  # type: ignore[index]


def test_all_problems_in_a_file_come_in_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalog(
            "providers:\n  openai: {api_key: sk-x}\n  mine: {}\n"
            "models:\n  a: [openai/gpt-4o, ghost/x]\n  b: []\n"
            "breaker: {failure_rate: 2}\n",
            "many.yaml",
        )
    paths = [m.split(": ")[1] for m in caught.value.messages]
    assert paths == [
        "breaker.failure_rate",
        "providers.openai.api_key",
        "providers.mine",
        "models.a[1]",
        "models.b",
    ]


def test_a_provider_given_as_null_means_built_in_defaults() -> None:
    catalog = parse_catalog("providers:\n  groq:\nmodels: {m: [groq/llama-3.1-8b-instant]}\n", "x")
    assert catalog.providers["groq"].base_url == "https://api.groq.com/openai/v1"
