"""Chat translation: an OpenAI chat.completions request to each wire flavour, and back.

The proxy (`routeguard proxy`) takes OpenAI's chat.completions from its callers and
sends each one to whichever provider is healthy. One module per flavour, one
registry dict, like `routeguard.providers.CODECS`::

    TRANSLATORS = {Flavour.OPENAI: OPENAI, Flavour.ANTHROPIC: ANTHROPIC, Flavour.GEMINI: GEMINI}

    problems = check_chat_body(body)              # [] or one line per problem: answer 400
    translator = TRANSLATORS[provider.flavour]
    native = translator.request(ep, upstream_model, body)        # a ProbeRequest
    # non-streamed 2xx, judged ok by the codec:
    doc = translator.answer(json, model=public, completion_id=cid, created=now)
    # streamed 2xx: every SSEEvent through chunks.feed(), then chunks.finish(), then [DONE]
    chunks = translator.stream(model=public, completion_id=cid, created=now, include_usage=...)

Pure functions and per-stream state only: no I/O (docs/translate.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from routeguard.providers.base import Flavour
from routeguard.translate.anthropic import ANTHROPIC, DEFAULT_MAX_TOKENS, AnthropicTranslator
from routeguard.translate.base import ChatTranslator, ChunkTranslator, ChunkWriter
from routeguard.translate.check import check_chat_body
from routeguard.translate.gemini import GEMINI, GeminiTranslator
from routeguard.translate.openai import OPENAI, OpenAITranslator

TRANSLATORS: Mapping[Flavour, ChatTranslator] = MappingProxyType(
    {Flavour.OPENAI: OPENAI, Flavour.ANTHROPIC: ANTHROPIC, Flavour.GEMINI: GEMINI}
)
"""Each flavour's chat translator; `providers.<name>.flavour` in the catalog picks one."""

__all__ = [
    "ANTHROPIC",
    "DEFAULT_MAX_TOKENS",
    "GEMINI",
    "OPENAI",
    "TRANSLATORS",
    "AnthropicTranslator",
    "ChatTranslator",
    "ChunkTranslator",
    "ChunkWriter",
    "GeminiTranslator",
    "OpenAITranslator",
    "check_chat_body",
]
