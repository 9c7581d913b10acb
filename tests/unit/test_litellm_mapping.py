"""LiteLLM deployment -> routeguard route: the three rules, and one clear error."""

from __future__ import annotations

import pytest

from routeguard.config import parse_catalog
from routeguard.errors import ConfigError
from routeguard.integrations.litellm.deployments import Deployment, RouteMap, normalised_base

CATALOG = parse_catalog(
    """
providers:
  p1: {flavour: openai, base_url: "http://127.0.0.1:9001/v1", api_key_env: K}
  claude: {flavour: anthropic, base_url: "http://127.0.0.1:9002/v1", api_key_env: K}
  twin-a: {flavour: openai, base_url: "http://127.0.0.1:9003/v1", api_key_env: K}
  twin-b: {flavour: openai, base_url: "http://127.0.0.1:9003/v1/", api_key_env: K}
models:
  m: [p1/llama, claude/claude-haiku-4-5, twin-a/llama, twin-b/llama]
""",
    "catalog.yaml",
)
ROUTES = RouteMap(CATALOG)


def deployment(model: str, api_base: str | None = None, **info: str) -> Deployment:
    params = {"model": model} | ({"api_base": api_base} if api_base else {})
    return Deployment.of({"model_name": "group", "litellm_params": params, "model_info": info})


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://127.0.0.1:9001/v1", "http://127.0.0.1:9001"),
        ("HTTP://LocalHost:9001/v1/", "http://localhost:9001"),
        (
            "https://generativelanguage.googleapis.com/v1beta",
            "https://generativelanguage.googleapis.com",
        ),
        ("https://api.example.com/openai/v1", "https://api.example.com/openai"),
        ("https://api.example.com/V1", "https://api.example.com/V1"),  # paths keep their case
    ],
)
def test_base_urls_compare_without_their_version_suffix(url: str, base: str) -> None:
    assert normalised_base(url) == base


def test_api_base_and_upstream_model_find_the_route() -> None:
    assert ROUTES.route_of(deployment("openai/llama", "http://127.0.0.1:9001/v1")) == "p1/llama"
    # LiteLLM's Anthropic api_base has no /v1; the prefix is LiteLLM's provider, not ours
    found = ROUTES.route_of(deployment("anthropic/claude-haiku-4-5", "http://127.0.0.1:9002"))
    assert found == "claude/claude-haiku-4-5"


def test_provider_name_finds_the_route_when_there_is_no_api_base() -> None:
    assert ROUTES.route_of(deployment("p1/llama")) == "p1/llama"
    params = {"model": "llama", "custom_llm_provider": "p1"}
    assert (
        ROUTES.route_of(Deployment.of({"model_name": "g", "litellm_params": params})) == "p1/llama"
    )


def test_a_declared_route_wins_over_the_api_base() -> None:
    found = ROUTES.route_of(
        deployment("openai/llama", "http://127.0.0.1:9003/v1", routeguard_route="twin-b/llama")
    )
    assert found == "twin-b/llama"


def test_environment_references_are_read_as_litellm_reads_them() -> None:
    raw = {
        "model_name": "g",
        "litellm_params": {"model": "openai/llama", "api_base": "os.environ/BASE"},
    }
    env = {"BASE": "http://127.0.0.1:9001/v1"}
    assert ROUTES.route_of(Deployment.of(raw, env)) == "p1/llama"


@pytest.mark.parametrize(
    ("d", "says"),
    [
        (deployment("openai/gpt-4o", "http://127.0.0.1:9001/v1"), "no catalog provider has"),
        (deployment("openai/llama", "http://10.0.0.1/v1"), "no catalog provider has"),
        (deployment("openai/llama", "http://127.0.0.1:9003/v1"), "matches several providers"),
        (deployment("openai/llama", routeguard_route="p1/nope"), "'p1/nope' is not a route"),
    ],
)
def test_a_deployment_without_a_route_gets_one_error_saying_what_to_add(
    d: Deployment, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        ROUTES.route_of(d)
    message = str(caught.value)
    assert says in message
    assert "model_name='group'" in message and "catalog.yaml" in message
    assert "routeguard_route" in message


def test_check_names_every_unmapped_deployment_at_once() -> None:
    good = deployment("openai/llama", "http://127.0.0.1:9001/v1")
    bad = [
        deployment("openai/a", "http://127.0.0.1:9001/v1"),
        deployment("openai/b", "http://x/v1"),
    ]
    with pytest.raises(ConfigError) as caught:
        ROUTES.check([good, *bad])
    assert len(caught.value.messages) == 2
    assert "'openai/a'" in caught.value.messages[0] and "'openai/b'" in caught.value.messages[1]
    assert ROUTES.check([good]) == {good: "p1/llama"}
