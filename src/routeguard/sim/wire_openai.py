"""The OpenAI Chat Completions wire flavour, and the quirks of the vendors that copy it.

Endpoints under `/v1`: `GET /models`, `POST /chat/completions` (DeepSeek also
answers without the `/v1`). Vendor quirks (docs/providers.md):

- Together lists models as a bare JSON array; OpenRouter's list carries pricing
  strings and needs no key;
- reasoning models (ids starting o1/o3/o4/gpt-5) reject `max_tokens` with OpenAI's
  exact 400 (OpenRouter translates it, so not there);
- streams: a role chunk, one chunk per token, a finish chunk, the usage chunk when
  `stream_options.include_usage` (OpenRouter always sends it, keeping one choice),
  then `data: [DONE]`; keep-alives are `: keep-alive` (DeepSeek) or
  `: OPENROUTER PROCESSING`;
- an in-stream error is a `data:` object with a top-level `error` (OpenRouter: a
  chunk with `finish_reason: "error"`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from routeguard.sim import openai_errors as errors
from routeguard.sim.base import Call, CallContext, Finish, Kind, Limits, Reply, Route, StreamPlan
from routeguard.sim.wire_common import (
    answer,
    as_budget,
    dumps,
    estimate_tokens,
    json_reply,
    sse,
    sse_comment,
)

_REASONING = re.compile(r"^(?:o1|o3|o4|gpt-5)")
MAX_TOKENS_UNSUPPORTED = (
    "Unsupported parameter: 'max_tokens' is not supported with this model. "
    "Use 'max_completion_tokens' instead."
)
CREATED = 1_700_000_000
"""The `created` time every listed model claims."""


def is_reasoning_model(model: str) -> bool:
    """OpenAI's reasoning models: they take `max_completion_tokens` only."""
    return bool(_REASONING.match(model))


def _id(vendor: str, call_id: str) -> str:
    return f"gen-{call_id}" if vendor == "openrouter" else f"chatcmpl-{call_id}"


def _usage(call: Call) -> dict[str, Any]:
    got = answer(call)
    return {
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": got.output_tokens,
        "total_tokens": call.prompt_tokens + got.output_tokens,
        "completion_tokens_details": {"reasoning_tokens": got.reasoning_tokens},
    }


def _finish(finish: Finish) -> str:
    return "stop" if finish is Finish.STOP else "length"


class OpenAIWire:
    """`/v1/models` and `/v1/chat/completions`."""

    flavour = "openai"
    prefix = "/v1"

    def route(self, method: str, path: str, query: Mapping[str, str], vendor: str) -> Route | None:
        if vendor == "deepseek" and not path.startswith("/v1/"):
            path = "/v1" + path
        if (method, path) == ("GET", "/v1/models"):
            return Route(Kind.MODELS)
        if (method, path) == ("POST", "/v1/chat/completions"):
            return Route(Kind.COMPLETION)
        return None

    def authorised(
        self,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        api_key: str,
        route: Route,
        vendor: str,
    ) -> bool:
        if route.kind is Kind.MODELS and vendor == "openrouter":
            return True  # OpenRouter's model list needs no key
        return headers.get("authorization", "") == f"Bearer {api_key}"

    def parse(self, route: Route, body: object, ctx: CallContext) -> Call | Reply:
        if not isinstance(body, dict):
            return self.bad_json(ctx.vendor)
        model, messages = body.get("model"), body.get("messages")
        if not isinstance(model, str) or not model:
            return errors.bad_request(ctx.vendor, "you must provide a model parameter", None, None)
        if not isinstance(messages, list) or not messages:
            message = "Missing required parameter: 'messages'."
            return errors.bad_request(ctx.vendor, message, "messages", "missing_required_parameter")
        budget = _budget(body, model, ctx.vendor)
        if isinstance(budget, Reply):
            return budget
        stream = body.get("stream") is True
        options = body.get("stream_options")
        include = isinstance(options, dict) and options.get("include_usage") is True
        return Call(
            kind=Kind.STREAM if stream else Kind.COMPLETION,
            model=model,
            call_id=ctx.call_id,
            created=int(ctx.now),
            max_tokens=budget,
            prompt_tokens=estimate_tokens(messages),
            include_usage=include or ctx.vendor == "openrouter",
        )

    def models_reply(self, models: tuple[str, ...], query: Mapping[str, str], vendor: str) -> Reply:
        if vendor == "together":
            return json_reply(200, [_together_model(m) for m in models])
        if vendor == "openrouter":
            return json_reply(200, {"data": [_openrouter_model(m) for m in models]})
        owner = vendor or "system"
        data = [{"id": m, "object": "model", "created": CREATED, "owned_by": owner} for m in models]
        return json_reply(200, {"object": "list", "data": data})

    def headers(self, vendor: str, request_id: str, limits: Limits) -> dict[str, str]:
        return errors.headers(vendor, request_id, limits)

    def auth_error(self, vendor: str) -> Reply:
        return errors.auth_error(vendor)

    def not_found(self, vendor: str, model: str) -> Reply:
        return errors.not_found(vendor, model)

    def bad_json(self, vendor: str) -> Reply:
        message = "We could not parse the JSON body of your request."
        return errors.bad_request(vendor, message, None, None)

    def quota_error(self, vendor: str, status: int | None) -> Reply:
        return errors.quota_error(vendor, status)

    def rate_limited(self, vendor: str, retry_after_s: float, now: float) -> Reply:
        return errors.rate_limited(vendor, retry_after_s, now)

    def server_error(self, vendor: str, status: int) -> Reply:
        return errors.server_error(vendor, status)

    def completion(self, call: Call, vendor: str) -> bytes:
        got = answer(call)
        message = {"role": "assistant", "content": got.text, "refusal": None}
        choice = {"index": 0, "message": message, "logprobs": None}
        choice["finish_reason"] = _finish(got.finish)
        doc = _envelope(call, vendor, "chat.completion", [choice])
        doc["usage"] = _usage(call)
        return dumps(doc)

    def inband_error(self, call: Call, vendor: str, status: int) -> bytes | None:
        if vendor != "openrouter":
            return None
        error = errors.server_error_doc(vendor, status)["error"]
        message = {"role": "assistant", "content": ""}
        choice = {"index": 0, "message": message, "finish_reason": "error", "error": error}
        return dumps(_envelope(call, vendor, "chat.completion", [choice]))

    def stream(self, call: Call, vendor: str) -> StreamPlan:
        got = answer(call)
        head = (self._chunk(call, vendor, {"role": "assistant", "content": ""}),)
        tokens = tuple(self._chunk(call, vendor, {"content": p}) for p in got.pieces)
        finish = _finish(got.finish)
        tail = [self._chunk(call, vendor, {}, finish)]
        if call.include_usage:
            choices = [_choice({}, finish)] if vendor == "openrouter" else []
            last = _envelope(call, vendor, "chat.completion.chunk", choices)
            last["usage"] = _usage(call)
            tail.append(sse(last))
        tail.append(b"data: [DONE]\n\n")
        return StreamPlan(head, tokens, tuple(tail))

    def error_frame(self, call: Call, vendor: str, status: int) -> bytes:
        doc = errors.server_error_doc(vendor, status)
        if vendor == "openrouter":
            chunk = _envelope(
                call, vendor, "chat.completion.chunk", [_choice({"content": ""}, "error")]
            )
            chunk["error"] = doc["error"]
            return sse(chunk)
        return sse(doc)

    def keepalive(self, vendor: str) -> bytes:
        return sse_comment("OPENROUTER PROCESSING" if vendor == "openrouter" else "keep-alive")

    def _chunk(
        self, call: Call, vendor: str, delta: dict[str, Any], finish: str | None = None
    ) -> bytes:
        doc = _envelope(call, vendor, "chat.completion.chunk", [_choice(delta, finish)])
        if call.include_usage:
            doc["usage"] = None
        return sse(doc)


def _choice(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}


def _envelope(call: Call, vendor: str, obj: str, choices: list[Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": _id(vendor, call.call_id),
        "object": obj,
        "created": call.created,
        "model": call.model,
    }
    if vendor == "openrouter":
        doc["provider"] = "SimUpstream"
    doc["system_fingerprint"] = "fp_routeguard_sim"
    doc["choices"] = choices
    return doc


def _budget(body: dict[str, Any], model: str, vendor: str) -> int | Reply | None:
    if "max_tokens" in body and is_reasoning_model(model) and vendor != "openrouter":
        return errors.bad_request(
            vendor, MAX_TOKENS_UNSUPPORTED, "max_tokens", "unsupported_parameter"
        )
    for name in ("max_completion_tokens", "max_tokens"):
        value = as_budget(body.get(name))
        if value == "bad":
            message = f"Invalid '{name}': expected an integer of at least 1."
            return errors.bad_request(vendor, message, name, "invalid_value")
        if isinstance(value, int):
            return value
    return None


def _together_model(model: str) -> dict[str, Any]:
    return {
        "id": model,
        "object": "model",
        "created": CREATED,
        "type": "chat",
        "display_name": model.rsplit("/", 1)[-1],
        "organization": model.split("/", 1)[0] if "/" in model else "sim",
        "context_length": 131072,
    }


def _openrouter_model(model: str) -> dict[str, Any]:
    return {
        "id": model,
        "canonical_slug": model,
        "name": model,
        "created": CREATED,
        "description": "A simulated model.",
        "context_length": 131072,
        "architecture": {
            "modality": "text->text",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {"prompt": "0.0000001", "completion": "0.0000004", "request": "0", "image": "0"},
        "top_provider": {
            "context_length": 131072,
            "max_completion_tokens": 16384,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "stream", "temperature"],
    }


OPENAI = OpenAIWire()
