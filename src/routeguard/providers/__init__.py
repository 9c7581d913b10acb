"""Provider wire flavours: probe requests, stream reading and outcome classification.

One module per wire format, one registry dict (blackbox_exporter's `Probers`)::

    CODECS = {Flavour.OPENAI: OPENAI, Flavour.ANTHROPIC: ANTHROPIC, Flavour.GEMINI: GEMINI}

Most vendors speak `openai`; `Endpoint.vendor` switches on their quirks. Every
decision is a pure function of the endpoint, status, headers and bytes
(docs/providers.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from routeguard.providers.anthropic import ANTHROPIC, AnthropicCodec
from routeguard.providers.base import (
    Classified,
    Endpoint,
    Flavour,
    HttpSender,
    ProbeRequest,
    StreamInterpreter,
    StreamResult,
    WireCodec,
)
from routeguard.providers.classify import (
    classify_error_response,
    classify_exception,
    classify_inband_error,
    classify_status,
)
from routeguard.providers.gemini import GEMINI, GeminiCodec
from routeguard.providers.openai import OPENAI, OpenAICodec
from routeguard.providers.retry_after import retry_after_seconds
from routeguard.providers.sse import SSEEvent, SSEKind, SSEParser, SSEProtocolError, read_stream

CODECS: Mapping[Flavour, WireCodec] = MappingProxyType(
    {Flavour.OPENAI: OPENAI, Flavour.ANTHROPIC: ANTHROPIC, Flavour.GEMINI: GEMINI}
)
"""Each flavour's codec; `providers.<name>.flavour` in the catalog picks one."""

__all__ = [
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
