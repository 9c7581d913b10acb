"""Route ids: `provider/model`, where the model may itself contain '/'."""

from __future__ import annotations

import pytest

from routeguard.errors import RouteError
from routeguard.routes import MAX_ROUTE_ID_LENGTH, parse_route_id, route_id


def test_the_provider_is_the_first_segment_and_the_model_the_rest() -> None:
    assert parse_route_id("openai/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert parse_route_id("together/meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo") == (
        "together",
        "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo",
    )
    assert parse_route_id("fireworks/accounts/fireworks/models/llama-v3p1-8b-instruct") == (
        "fireworks",
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
    )


def test_model_ids_keep_their_own_punctuation() -> None:
    assert parse_route_id("openrouter/meta-llama/llama-3.1-8b-instruct:free") == (
        "openrouter",
        "meta-llama/llama-3.1-8b-instruct:free",
    )
    assert parse_route_id("local-vllm.eu_1/Qwen2.5@v1") == ("local-vllm.eu_1", "Qwen2.5@v1")


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ("", "the route id is empty"),
        ("gpt-4o-mini", "has no '/'; write it as provider/model"),
        ("/gpt-4o", "has an empty provider"),
        ("openai/", "has an empty model"),
        ("openai/gpt 4o", "contains whitespace or a control character"),
        ("openai/gpt-4o\n", "contains whitespace or a control character"),
        ("openai/gpt\x00", "contains whitespace or a control character"),
        ("OpenAI/gpt-4o", "provider 'OpenAI' must be lowercase letters"),
        ("openai//gpt-4o", "has an empty '/' segment"),
        ("together/meta-llama/", "has an empty '/' segment"),
        ("openai/" + "x" * MAX_ROUTE_ID_LENGTH, "the limit is 256"),
    ],
)
def test_a_malformed_route_id_is_refused_with_the_reason(bad: str, said: str) -> None:
    with pytest.raises(RouteError) as caught:
        parse_route_id(bad)
    assert said in str(caught.value)


def test_a_route_id_of_exactly_the_limit_is_accepted() -> None:
    longest = "openai/" + "x" * (MAX_ROUTE_ID_LENGTH - len("openai/"))
    assert parse_route_id(longest)[1] == "x" * (MAX_ROUTE_ID_LENGTH - 7)


def test_a_very_long_route_id_is_cut_short_in_the_message() -> None:
    with pytest.raises(RouteError) as caught:
        parse_route_id("openai/" + "x" * 1000)
    assert len(str(caught.value)) < 200


def test_route_id_joins_and_round_trips() -> None:
    joined = route_id("together", "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo")
    assert joined == "together/meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo"
    assert parse_route_id(joined) == ("together", "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo")


@pytest.mark.parametrize(("provider", "model"), [("open/ai", "gpt"), ("", "gpt"), ("openai", "")])
def test_route_id_refuses_parts_that_do_not_make_one(provider: str, model: str) -> None:
    with pytest.raises(RouteError):
        route_id(provider, model)
