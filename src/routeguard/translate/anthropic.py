"""OpenAI chat.completions to Anthropic Messages, and Messages answers back.

Request (`POST {base}/messages`, with `anthropic-version` like the codec's):

- system/developer messages become the top-level `system`, joined by a blank line;
  user and assistant turns alternate (consecutive same-role messages are merged),
  each as a list of text blocks; empty texts are dropped (Anthropic refuses them);
- `max_tokens` is required: the caller's `max_completion_tokens`, else `max_tokens`,
  else `DEFAULT_MAX_TOKENS`;
- `temperature` is clamped to Anthropic's 0..1; `top_p` is sent only when no
  temperature is, since the 4.5 models refuse both together; `stop` becomes
  `stop_sequences`.

Answer: the text blocks joined (thinking blocks are not content); `stop_reason`
mapped to OpenAI's `finish_reason`; usage from `input_tokens` (cache reads and writes
included, as the codec counts them) and `output_tokens`. Stream: `message_start`
carries input usage, `text_delta`s become content chunks, `message_delta` carries the
stop reason (sent as the finish chunk at once) and the cumulative output tokens;
pings, thinking deltas, `message_stop` and `event: error` give nothing here (an error
is the codec's to classify, and the proxy ends the stream itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routeguard.providers.anthropic import ANTHROPIC_VERSION, parse_usage
from routeguard.providers.base import Endpoint, Flavour, ProbeRequest, merged_headers
from routeguard.providers.errorbody import parse_json
from routeguard.providers.sse import SSEEvent
from routeguard.translate.base import (
    ChunkWriter,
    completion_doc,
    conversation,
    number,
    output_budget,
    stop_sequences,
    usage_doc,
    wants_stream,
)

DEFAULT_MAX_TOKENS = 4096
"""`max_tokens` when the caller set none: Anthropic requires one, OpenAI does not.
Every Claude model accepts at least 4096 output tokens (Claude 3 Haiku's maximum), and
it is room for a long chat answer; a caller who wants more says so."""
MAX_TEMPERATURE = 1.0
"""Anthropic's temperature range is 0..1 (OpenAI's is 0..2): higher values are clamped."""
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}
"""Anthropic `stop_reason` → OpenAI `finish_reason`; anything else is `stop`."""


def finish_reason(stop_reason: object) -> str:
    """OpenAI's `finish_reason` for an Anthropic `stop_reason`."""
    return STOP_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def messages_body(model: str, chat: Mapping[str, Any]) -> dict[str, Any]:
    """The Messages body for the caller's `chat`, sent to upstream `model`."""
    talk = conversation(chat["messages"])
    budget = output_budget(chat)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": DEFAULT_MAX_TOKENS if budget is None else budget,
    }
    if talk.system:
        body["system"] = talk.system
    body["messages"] = [
        {"role": role, "content": [{"type": "text", "text": t} for t in texts]}
        for role, texts in talk.turns
    ]
    temperature, top_p = number(chat, "temperature"), number(chat, "top_p")
    if temperature is not None:
        body["temperature"] = min(temperature, MAX_TEMPERATURE)
    elif top_p is not None:
        body["top_p"] = top_p
    if stops := stop_sequences(chat):
        body["stop_sequences"] = stops
    if wants_stream(chat):
        body["stream"] = True
    return body


class AnthropicTranslator:
    """Chat Completions to `{base}/messages`."""

    flavour = Flavour.ANTHROPIC

    def request(self, ep: Endpoint, model: str, chat: Mapping[str, Any]) -> ProbeRequest:
        stream = wants_stream(chat)
        fixed = {"anthropic-version": ANTHROPIC_VERSION}
        if stream:
            fixed["accept"] = "text/event-stream"
        headers = merged_headers(ep.headers, fixed)
        body = messages_body(model, chat)
        return ProbeRequest("POST", ep.url("messages"), headers, body, stream=stream)

    def answer(
        self, native: Any, *, model: str, completion_id: str, created: int
    ) -> dict[str, Any]:
        doc: Mapping[str, Any] = native if isinstance(native, dict) else {}
        blocks = doc.get("content")
        texts = [
            b["text"]
            for b in (blocks if isinstance(blocks, list) else [])
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
        return completion_doc(
            completion_id=completion_id,
            created=created,
            model=model,
            content="".join(texts),
            finish_reason=finish_reason(doc.get("stop_reason")),
            usage=usage_doc(*parse_usage(doc.get("usage"))),
        )

    def stream(
        self, *, model: str, completion_id: str, created: int, include_usage: bool
    ) -> AnthropicChunks:
        return AnthropicChunks(
            ChunkWriter(
                model=model,
                completion_id=completion_id,
                created=created,
                include_usage=include_usage,
            )
        )


class AnthropicChunks:
    """One Messages event stream as OpenAI chunks."""

    def __init__(self, out: ChunkWriter) -> None:
        self._out = out
        self._input_tokens: int | None = None
        self._output_tokens: int | None = None

    def feed(self, event: SSEEvent) -> list[dict[str, Any]]:
        if event.is_comment:
            return []
        doc = parse_json(event.data)
        if not isinstance(doc, dict):
            return []
        # OpenRouter's /messages sends events without a name: its data.type names them.
        name = event.event if event.event != "message" else str(doc.get("type", ""))
        if name == "message_start":
            message = doc.get("message")
            self._usage(message.get("usage") if isinstance(message, dict) else None)
        elif name == "content_block_start":
            block = doc.get("content_block")
            if isinstance(block, dict) and block.get("type") == "text":
                return self._out.content(_text(block.get("text")))
        elif name == "content_block_delta":
            delta = doc.get("delta")
            if isinstance(delta, dict) and delta.get("type") == "text_delta":
                return self._out.content(_text(delta.get("text")))
        elif name == "message_delta":
            self._usage(doc.get("usage"))
            delta = doc.get("delta")
            reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            if reason is not None:
                return self._out.finish_chunk(finish_reason(reason))
        # ping, thinking/signature deltas, content_block_stop, message_stop, error: nothing.
        return []

    def _usage(self, usage: object) -> None:
        """Usage so far; Anthropic's counts are cumulative, so later ones replace earlier."""
        input_tokens, output_tokens = parse_usage(usage)
        if input_tokens is not None:
            self._input_tokens = input_tokens
        if output_tokens is not None:
            self._output_tokens = output_tokens
        self._out.usage = usage_doc(self._input_tokens, self._output_tokens)

    def finish(self) -> list[dict[str, Any]]:
        return self._out.finish()


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


ANTHROPIC = AnthropicTranslator()
"""The stateless Anthropic Messages translator."""
