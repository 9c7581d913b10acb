"""Provider wire flavours: probe requests, stream reading and outcome classification.

One module per wire format, one registry dict (blackbox_exporter's `Probers`)::

    FLAVOURS = {"openai": OPENAI, "anthropic": ANTHROPIC, "gemini": GEMINI}

Most vendors speak `openai`; `Endpoint.vendor` switches on their quirks. Every
decision is a pure function of status, headers and bytes (docs/providers.md).
"""

from __future__ import annotations

from routeguard.providers.anthropic import ANTHROPIC, AnthropicFlavour
from routeguard.providers.base import (
    Classified,
    Endpoint,
    Flavour,
    ProbeRequest,
    StreamInterpreter,
    StreamResult,
    Tier,
)
from routeguard.providers.classify import (
    classify_error_response,
    classify_exception,
    classify_inband_error,
    classify_status,
)
from routeguard.providers.gemini import GEMINI, GeminiFlavour
from routeguard.providers.openai import OPENAI, OpenAIFlavour
from routeguard.providers.retry_after import retry_after_seconds
from routeguard.providers.sse import SSEEvent, SSEKind, SSEParser, SSEProtocolError, read_stream

FLAVOURS: dict[str, Flavour] = {"openai": OPENAI, "anthropic": ANTHROPIC, "gemini": GEMINI}
"""Wire flavour by name, as `providers.<name>.flavour` names it in the catalog."""

__all__ = [
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
