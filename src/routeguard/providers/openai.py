"""The OpenAI-compatible Chat Completions wire flavour.

Spoken by OpenAI, Mistral, DeepSeek, Together, Fireworks, Groq, OpenRouter and
self-hosted servers (vLLM…). Vendor quirks handled here (docs/providers.md):

- reasoning models (o1/o3/o4…, gpt-5*) reject `max_tokens`: they get
  `max_completion_tokens` with a budget they may spend entirely on thinking, so an
  empty answer with `finish_reason: "length"` is still a healthy one;
- Mistral rejects `stream_options` (422 extra_forbidden) and sends usage anyway;
- OpenRouter normalises `max_tokens` for every model, so it always gets that;
- Together lists models as a bare JSON array, not `{"data": [...]}`;
- Fireworks' `/models` answers 500 for many healthy accounts: not a provider outage;
- DeepSeek sends blank lines before a queued JSON answer and `: keep-alive` comments
  in a queued stream; OpenRouter sends `: OPENROUTER PROCESSING`: none is a token;
- errors may arrive inside a 200: a top-level `error` object, `choices[0].error`,
  or `finish_reason: "error"` (OpenRouter), in a body or as a stream chunk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from routeguard.outcomes import Outcome
from routeguard.providers.base import (
    COMPLETION_MAX_TOKENS,
    PING_TEXT,
    STREAM_MAX_TOKENS,
    Classified,
    Endpoint,
    Flavour,
    ProbeRequest,
    StreamResult,
    StreamTally,
    as_int,
    merged_headers,
)
from routeguard.providers.classify import (
    bad_response,
    classify_error_response,
    classify_inband_error,
    has_inband_error,
    success_body,
)
from routeguard.providers.errorbody import parse_json
from routeguard.providers.sse import SSEEvent
from routeguard.tiers import ProbeTier

REASONING_MAX_TOKENS = 16
"""`max_completion_tokens` of a reasoning model's completion probe (reasoning counts)."""
REASONING_STREAM_MAX_TOKENS = 64
"""… of its stream probe: room to finish thinking and emit content, so TTFT is measured."""
BARE_ARRAY_MODEL_LISTS = frozenset({"together", ""})
"""Vendors whose `/models` may be a bare JSON array (Together; custom servers copy it)."""

_REASONING = re.compile(r"(?:o\d+|gpt-5)(?:[-.]|$)")
_GPT5_BASE = re.compile(r"gpt-5(?:-|$)")
_NO_EFFORT = ("-pro", "-chat", "o1-mini", "o1-preview", "search")


def is_reasoning_model(model: str) -> bool:
    """True for OpenAI models that take `max_completion_tokens` instead of `max_tokens`."""
    return bool(_REASONING.match(model.rsplit("/", 1)[-1].lower()))


def reasoning_effort(model: str) -> str | None:
    """The cheapest `reasoning_effort` the model accepts, None where it takes none.

    gpt-5/-mini/-nano accept `minimal`; gpt-5.1 and later reject `minimal` but take
    `low`, as do the o-series and the codex models; o1-mini/o1-preview reject the
    parameter, `-pro` models take only `high`, chat/search variants do not reason.
    """
    name = model.rsplit("/", 1)[-1].lower()
    if not is_reasoning_model(name) or any(tag in name for tag in _NO_EFFORT):
        return None
    if _GPT5_BASE.match(name) and "codex" not in name:
        return "minimal"
    return "low"


def chat_body(ep: Endpoint, model: str, *, stream: bool) -> dict[str, Any]:
    """The JSON body of a chat-completions probe for `model` on `ep`."""
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": PING_TEXT}]}
    if is_reasoning_model(model):
        budget = REASONING_STREAM_MAX_TOKENS if stream else REASONING_MAX_TOKENS
        if ep.vendor == "openrouter":
            body["max_tokens"] = budget
        else:
            body["max_completion_tokens"] = budget
            if effort := reasoning_effort(model):
                body["reasoning_effort"] = effort
    else:
        body["max_tokens"] = STREAM_MAX_TOKENS if stream else COMPLETION_MAX_TOKENS
    if stream:
        body["stream"] = True
        if ep.vendor != "mistral":
            body["stream_options"] = {"include_usage": True}
    return body


def parse_usage(doc: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """(prompt, completion) tokens from `usage`, or from Groq's `x_groq.usage`."""
    usage = doc.get("usage")
    if not isinstance(usage, dict):
        x_groq = doc.get("x_groq")
        usage = x_groq.get("usage") if isinstance(x_groq, dict) else None
    if not isinstance(usage, dict):
        return None, None
    return as_int(usage.get("prompt_tokens")), as_int(usage.get("completion_tokens"))


class OpenAICodec:
    """Chat Completions over `/models` and `/chat/completions`."""

    flavour = Flavour.OPENAI

    def liveness_request(self, ep: Endpoint) -> ProbeRequest:
        return ProbeRequest("GET", ep.url("models"), dict(ep.headers))

    def completion_request(self, ep: Endpoint, model: str) -> ProbeRequest:
        body = chat_body(ep, model, stream=False)
        return ProbeRequest("POST", ep.url("chat/completions"), dict(ep.headers), body)

    def stream_request(self, ep: Endpoint, model: str) -> ProbeRequest:
        headers = merged_headers(ep.headers, {"accept": "text/event-stream"})
        body = chat_body(ep, model, stream=True)
        return ProbeRequest("POST", ep.url("chat/completions"), headers, body, stream=True)

    def classify_response(
        self, ep: Endpoint, status: int, headers: Mapping[str, str], body: bytes, *, tier: ProbeTier
    ) -> Classified:
        vendor = ep.vendor
        if not 200 <= status < 300:
            if vendor == "fireworks" and tier == ProbeTier.LIVENESS and status == 500:
                return Classified(
                    Outcome.CLIENT_ERROR,
                    status,
                    error_type="models_endpoint_unreliable",
                    detail="Fireworks /models answers 500 for many healthy accounts; ignored",
                )
            return classify_error_response(status, headers, body, vendor)
        doc = success_body(status, body)
        if isinstance(doc, Classified):
            return doc
        if has_inband_error(doc):
            return classify_inband_error(doc, headers, vendor, status=status)
        if tier == ProbeTier.LIVENESS:
            return _model_list(status, doc, vendor)
        return _chat_completion(status, headers, doc, vendor)

    def new_stream_interpreter(self, ep: Endpoint, *, started_s: float = 0.0) -> OpenAIStream:
        return OpenAIStream(vendor=ep.vendor, started_s=started_s)


def _model_list(status: int, doc: object, vendor: str) -> Classified:
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return Classified(Outcome.OK, status)
    if isinstance(doc, list) and vendor in BARE_ARRAY_MODEL_LISTS:
        return Classified(Outcome.OK, status)
    return bad_response(
        status, "unexpected_shape", "model list is neither {data: [...]} nor allowed bare array"
    )


def _chat_completion(
    status: int, headers: Mapping[str, str], doc: object, vendor: str
) -> Classified:
    choices = doc.get("choices") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or not isinstance(choices, list) or not choices:
        return bad_response(status, "unexpected_shape", "chat completion without choices")
    choice = choices[0]
    if not isinstance(choice, dict):
        return bad_response(status, "unexpected_shape", "choices[0] is not an object")
    if isinstance(choice.get("error"), dict):  # OpenRouter: the upstream failed behind a 200
        return classify_inband_error({"error": choice["error"]}, headers, vendor, status=status)
    if choice.get("finish_reason") == "error":
        return bad_response(status, "finish_reason_error", "choices[0] finished with 'error'")
    message = choice.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("content"), str | None):
        return bad_response(status, "unexpected_shape", "choices[0].message is malformed")
    # Empty content is fine: a reasoning model may spend its whole budget thinking.
    input_tokens, output_tokens = parse_usage(doc)
    return Classified(Outcome.OK, status, input_tokens=input_tokens, output_tokens=output_tokens)


class OpenAIStream:
    """Reads `data: {chat.completion.chunk}` events up to `data: [DONE]`."""

    def __init__(self, *, vendor: str = "", started_s: float = 0.0) -> None:
        self._vendor = vendor
        self._tally = StreamTally(started_s)
        self._chunks = 0

    @property
    def ttft_s(self) -> float | None:
        return self._tally.ttft_s

    @property
    def done(self) -> bool:
        return self._tally.done

    def feed(self, event: SSEEvent, now_s: float) -> None:
        if event.is_comment or self._tally.done:
            return  # keep-alives and OpenRouter's PROCESSING comments are not tokens
        data = event.data.strip()
        if data == "[DONE]":
            if self._chunks == 0:
                self._tally.fail(bad_response(200, "empty_stream", "[DONE] before any chunk"))
            self._tally.terminated = True
            return
        doc = parse_json(data)
        if event.event == "error" or has_inband_error(doc):
            self._tally.fail(classify_inband_error(doc, {}, self._vendor))
        elif not isinstance(doc, dict) or not isinstance(doc.get("choices"), list):
            self._tally.fail(bad_response(200, "malformed_chunk", f"unreadable chunk: {data[:80]}"))
        else:
            self._chunk(doc, now_s)

    def _chunk(self, doc: dict[str, Any], now_s: float) -> None:
        self._chunks += 1
        choices = [c for c in doc["choices"] if isinstance(c, dict)]
        if any(c.get("finish_reason") == "error" for c in choices):
            self._tally.fail(
                bad_response(200, "finish_reason_error", "a choice finished with 'error'")
            )
            return
        deltas = [c.get("delta") for c in choices]
        if any(
            isinstance(d, dict) and isinstance(d.get("content"), str) and d["content"]
            for d in deltas
        ):
            self._tally.token(now_s)
        self._tally.usage(*parse_usage(doc))

    def finish(self, now_s: float, *, connection_closed_cleanly: bool) -> StreamResult:
        why = "stream ended without data: [DONE]"
        if not connection_closed_cleanly:
            why += "; connection cut"
        return self._tally.result(now_s, complete=self._tally.terminated, why_incomplete=why)


OPENAI = OpenAICodec()
"""The stateless OpenAI-compatible flavour."""
