"""OpenAI chat.completions to an OpenAI-compatible upstream: a passthrough that adapts.

The caller already speaks this flavour, so the body goes through as given, with
`model` set to the upstream model, the proxy's own fields removed and what the target
would refuse adapted (the same vendor facts the probes use, docs/providers.md):

- reasoning models (o1/o3/o4…, gpt-5*) take `max_completion_tokens`, never
  `max_tokens`, and refuse `temperature`/`top_p` other than the default: the
  caller's budget moves to `max_completion_tokens` and the sampling fields go
  (OpenRouter normalises `max_tokens` for every model, so it keeps that name);
- every other model gets `max_tokens`, the name every compatible server knows
  (Mistral refuses `max_completion_tokens`);
- a stream asks for usage (`stream_options.include_usage`) so the caller's usage is
  right even when the caller did not ask; Mistral refuses `stream_options` (422) and
  sends usage anyway; Mistral calls `seed` `random_seed`.

Answers and chunks go back as they came, named after the caller's public model and
keeping the upstream id. Streams are put in OpenAI's order whatever the vendor sent:
one role chunk first, one finish_reason chunk, and the usage chunk (`choices: []`)
last and only when the caller asked for it: Mistral puts usage on its finish chunk,
OpenRouter repeats the finish_reason in its usage chunk, Groq sends `x_groq.usage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routeguard.providers.base import Endpoint, Flavour, ProbeRequest, merged_headers
from routeguard.providers.classify import has_inband_error
from routeguard.providers.errorbody import parse_json
from routeguard.providers.openai import is_reasoning_model
from routeguard.providers.sse import SSEEvent
from routeguard.translate.base import ChunkWriter, output_budget, wants_stream

PROXY_FIELDS = frozenset({"model", "models", "provider", "route", "user", "metadata"})
"""Fields of the caller's body the proxy reads itself: never sent upstream."""
REASONING_REFUSES = ("temperature", "top_p")
"""Sampling fields reasoning models refuse unless they hold the default."""


class OpenAITranslator:
    """Chat Completions to `{base}/chat/completions`."""

    flavour = Flavour.OPENAI

    def request(self, ep: Endpoint, model: str, chat: Mapping[str, Any]) -> ProbeRequest:
        stream = wants_stream(chat)
        headers = dict(ep.headers)
        if stream:
            headers = merged_headers(ep.headers, {"accept": "text/event-stream"})
        body = upstream_body(ep, model, chat)
        return ProbeRequest("POST", ep.url("chat/completions"), headers, body, stream=stream)

    def answer(
        self, native: Any, *, model: str, completion_id: str, created: int
    ) -> dict[str, Any]:
        doc: dict[str, Any] = dict(native) if isinstance(native, dict) else {}
        doc["id"] = _text_or(doc.get("id"), completion_id)
        doc["object"] = "chat.completion"
        doc["created"] = _int_or(doc.get("created"), created)
        doc["model"] = model
        if (usage := _usage(doc)) is not None:
            doc["usage"] = usage
        return doc

    def stream(
        self, *, model: str, completion_id: str, created: int, include_usage: bool
    ) -> OpenAIChunks:
        return OpenAIChunks(
            ChunkWriter(
                model=model,
                completion_id=completion_id,
                created=created,
                include_usage=include_usage,
            )
        )


def upstream_body(ep: Endpoint, model: str, chat: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's body for upstream `model` at `ep`, adapted to what the target takes."""
    body: dict[str, Any] = {"model": model}
    body.update((k, v) for k, v in chat.items() if k not in PROXY_FIELDS and v is not None)
    budget = output_budget(chat)
    body.pop("max_tokens", None)
    body.pop("max_completion_tokens", None)
    reasoning = is_reasoning_model(model)
    if budget is not None:
        uses_completion_name = reasoning and ep.vendor != "openrouter"
        body["max_completion_tokens" if uses_completion_name else "max_tokens"] = budget
    if reasoning:
        for name in REASONING_REFUSES:
            body.pop(name, None)
    body.pop("stream_options", None)
    if wants_stream(chat) and ep.vendor != "mistral":
        options = chat.get("stream_options")
        body["stream_options"] = {**(options or {}), "include_usage": True}
    if ep.vendor == "mistral" and "seed" in body:
        body["random_seed"] = body.pop("seed")
    return body


class OpenAIChunks:
    """One upstream `chat.completion.chunk` stream, renamed and put in OpenAI's order."""

    def __init__(self, out: ChunkWriter) -> None:
        self._out = out

    def feed(self, event: SSEEvent) -> list[dict[str, Any]]:
        if event.is_comment or event.event == "error":
            return []  # keep-alives; errors are the codec's to classify
        doc = parse_json(event.data.strip())  # `[DONE]` is not JSON: nothing owed for it
        if not isinstance(doc, dict) or has_inband_error(doc):
            return []
        choices = doc.get("choices")
        if not isinstance(choices, list):
            return []
        self._remember(doc)
        kept = [c for c in choices if isinstance(c, dict)]
        if self._out.finish_sent or not kept:
            # Only usage may follow the finish_reason (OpenRouter repeats it there), and a
            # chunk without choices is the usage chunk, owed by finish(), or Azure's filter
            # results, which OpenAI never sends.
            return []
        if any(c.get("finish_reason") == "error" for c in kept):
            return []  # OpenRouter's in-stream error: the codec's to classify
        return self._forward(doc, kept)

    def _remember(self, doc: Mapping[str, Any]) -> None:
        self._out.completion_id = _text_or(doc.get("id"), self._out.completion_id)
        self._out.created = _int_or(doc.get("created"), self._out.created)
        if (usage := _usage(doc)) is not None:
            self._out.usage = usage

    def _forward(
        self, doc: Mapping[str, Any], choices: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        out = [] if self._out.role_sent else self._role(choices)
        if any(c.get("finish_reason") for c in choices):
            self._out.finish_sent = True
        if not choices:
            return out
        chunk = {k: v for k, v in doc.items() if k not in ("usage", "x_groq")}
        chunk.update(self._out.chunk(choices))
        out.append(chunk)
        return out

    def _role(self, choices: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Our role chunk, unless upstream's first chunk is one (then it passes as it is).

        Some servers (Mistral) put the role on the first content chunk: the role goes in
        a chunk of its own, as OpenAI sends it, and the content follows. `choices` is
        changed in place: the role is taken off, and a chunk left empty is dropped.
        """
        first = choices[0]
        delta = first.get("delta")
        delta = dict(delta) if isinstance(delta, dict) else {}
        rest = {k: v for k, v in delta.items() if k != "role" and v not in ("", None)}
        if "role" in delta and not rest and not first.get("finish_reason"):
            self._out.role_sent = True
            return []
        out = self._out.role()
        delta.pop("role", None)
        choices[0] = {**first, "delta": delta}
        if not rest and not first.get("finish_reason") and len(choices) == 1:
            choices.clear()
        return out

    def finish(self) -> list[dict[str, Any]]:
        return self._out.finish()


def _usage(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """`usage`, or Groq's `x_groq.usage`; None when neither is an object."""
    usage = doc.get("usage")
    if not isinstance(usage, dict):
        x_groq = doc.get("x_groq")
        usage = x_groq.get("usage") if isinstance(x_groq, dict) else None
    return dict(usage) if isinstance(usage, dict) else None


def _text_or(value: object, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _int_or(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


OPENAI = OpenAITranslator()
"""The stateless OpenAI-compatible translator."""
