"""The codec registry and the package's public surface."""

from __future__ import annotations

import routeguard.providers as providers
from routeguard.providers import CODECS, Endpoint, Flavour


def test_the_registry_has_a_codec_for_every_flavour_under_its_own_name() -> None:
    assert set(CODECS) == set(Flavour)
    assert all(codec.flavour is flavour for flavour, codec in CODECS.items())


def test_every_flavour_builds_all_three_tiers() -> None:
    ep = Endpoint("p", "https://p.test/v1", {"authorization": "Bearer x"})
    for codec in CODECS.values():
        assert codec.liveness_request(ep).method == "GET"
        assert not codec.completion_request(ep, "m").stream
        assert codec.stream_request(ep, "m").stream
        assert not codec.new_stream_interpreter(ep).done


def test_public_surface_is_stable() -> None:
    # Fails when the public surface changes by accident (httpx's test_exported_members);
    # the order is ruff's RUF022 (constants, classes, functions, each sorted).
    assert providers.__all__ == [
        "ANTHROPIC",
        "CODECS",
        "GEMINI",
        "OPENAI",
        "AnthropicCodec",
        "Classified",
        "Endpoint",
        "Flavour",
        "GeminiCodec",
        "HttpSender",
        "OpenAICodec",
        "ProbeRequest",
        "SSEEvent",
        "SSEKind",
        "SSEParser",
        "SSEProtocolError",
        "StreamInterpreter",
        "StreamResult",
        "WireCodec",
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
    probe = CODECS[Flavour.OPENAI].completion_request(ep, "m")
    assert (
        len({ep, Endpoint("p", "https://p.test/v1", {"authorization": "Bearer x"}, "openai")}) == 1
    )
    assert hash(probe) == hash(CODECS[Flavour.OPENAI].completion_request(ep, "m"))
