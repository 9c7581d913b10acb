"""The flavour registry and the package's public surface."""

from __future__ import annotations

import routeguard.providers as providers
from routeguard.providers import FLAVOURS, Endpoint


def test_the_registry_names_every_flavour_by_its_own_name() -> None:
    assert sorted(FLAVOURS) == ["anthropic", "gemini", "openai"]
    assert all(flavour.name == name for name, flavour in FLAVOURS.items())


def test_every_flavour_builds_all_three_tiers() -> None:
    ep = Endpoint("p", "https://p.test/v1", {"authorization": "Bearer x"})
    for flavour in FLAVOURS.values():
        assert flavour.liveness_request(ep).method == "GET"
        assert not flavour.completion_request(ep, "m").stream
        assert flavour.stream_request(ep, "m").stream
        assert not flavour.new_stream_interpreter().done


def test_public_surface_is_stable() -> None:
    # Fails when the public surface changes by accident (httpx's test_exported_members);
    # the order is ruff's RUF022 (constants, classes, functions, each sorted).
    assert providers.__all__ == [
        "ANTHROPIC",
        "FLAVOURS",
        "GEMINI",
        "OPENAI",
        "AnthropicFlavour",
        "Classified",
        "Endpoint",
        "Flavour",
        "GeminiFlavour",
        "OpenAIFlavour",
        "ProbeRequest",
        "SSEEvent",
        "SSEKind",
        "SSEParser",
        "SSEProtocolError",
        "StreamInterpreter",
        "StreamResult",
        "Tier",
        "classify_error_response",
        "classify_exception",
        "classify_inband_error",
        "classify_status",
        "read_stream",
        "retry_after_seconds",
    ]
    assert all(hasattr(providers, name) for name in providers.__all__)


def test_endpoints_and_requests_are_hashable_values() -> None:
    ep = Endpoint("p", "https://p.test/v1", {"authorization": "Bearer x"}, "openai")
    probe = FLAVOURS["openai"].completion_request(ep, "m")
    assert (
        len({ep, Endpoint("p", "https://p.test/v1", {"authorization": "Bearer x"}, "openai")}) == 1
    )
    assert hash(probe) == hash(FLAVOURS["openai"].completion_request(ep, "m"))
