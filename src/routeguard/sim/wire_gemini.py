"""The Google Gemini (Generative Language API v1beta) wire flavour.

Endpoints under `/v1beta`: `GET /models?pageSize=&pageToken=`,
`POST /models/{model}:generateContent` and `:streamGenerateContent` (`?alt=sse`
for SSE, else a streamed JSON array). The key comes in `x-goog-api-key` or `?key=`;
a wrong one is **400** `INVALID_ARGUMENT` / `API_KEY_INVALID`. Errors are
google.rpc.Status; a 429 carries QuotaFailure and RetryInfo.retryDelay in its body
and no rate-limit headers. SSE has no sentinel: the last chunk carries
`finishReason` and the connection closes. On 2.5 models `maxOutputTokens` counts
thinking, so a tiny budget yields empty text with `MAX_TOKENS` unless
`thinkingBudget` is 0 (Pro cannot turn thinking off) (docs/providers.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from routeguard.sim.base import Call, CallContext, Finish, Kind, Limits, Reply, Route, StreamPlan
from routeguard.sim.wire_common import answer, as_budget, dumps, estimate_tokens, json_reply

EVENT_END = b"\r\n\r\n"
"""Google ends SSE events with CRLF pairs (the JS SDK's parser accepts them); a stricter
test of a client's parser than bare newlines."""
DYNAMIC_THINKING = 64
"""Tokens a 2.5 model thinks when the request sets no budget (dynamic thinking)."""
_PATH = re.compile(r"^/v1beta/models/([^/:]+):(generateContent|streamGenerateContent)$")
_TYPE = "type.googleapis.com/google.rpc."
_SERVER = {
    500: ("INTERNAL", "An internal error has occurred. Please retry."),
    502: ("UNAVAILABLE", "Bad gateway."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}
_NOT_THINKING = ("image", "tts", "audio", "live")
API_KEY_INVALID = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": _TYPE + "ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    }
}


def status_doc(
    code: int, status: str, message: str, details: list[Any] | None = None
) -> dict[str, Any]:
    """A google.rpc.Status error envelope."""
    inner: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        inner["details"] = details
    return {"error": inner}


def thinking_tokens(model: str, budget: int | None) -> int:
    """Tokens `model` spends thinking before it answers, given `thinkingBudget`."""
    if not model.startswith("gemini-2.5") or any(tag in model for tag in _NOT_THINKING):
        return 0
    if budget is None or budget < 0:
        return DYNAMIC_THINKING
    return budget


def _exhausted(quota_id: str, delay_s: float) -> Reply:
    delay = f"{math.ceil(delay_s)}s"
    message = (
        "You exceeded your current quota, please check your plan and billing details. "
        f"Please retry in {delay}."
    )
    metric = "generativelanguage.googleapis.com/generate_content_free_tier_requests"
    details = [
        {
            "@type": _TYPE + "QuotaFailure",
            "violations": [{"quotaMetric": metric, "quotaId": quota_id}],
        },
        {
            "@type": _TYPE + "Help",
            "links": [
                {
                    "description": "Learn more about Gemini API quotas",
                    "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                }
            ],
        },
        {"@type": _TYPE + "RetryInfo", "retryDelay": delay},
    ]
    return json_reply(429, status_doc(429, "RESOURCE_EXHAUSTED", message, details))


class GeminiWire:
    """`/v1beta/models` and `/v1beta/models/{model}:(stream)generateContent`."""

    flavour = "gemini"
    prefix = "/v1beta"

    def route(self, method: str, path: str, query: Mapping[str, str], vendor: str) -> Route | None:
        if (method, path) == ("GET", "/v1beta/models"):
            return Route(Kind.MODELS)
        found = _PATH.match(path)
        if method != "POST" or not found:
            return None
        if found.group(2) == "generateContent":
            return Route(Kind.COMPLETION, found.group(1))
        return Route(Kind.STREAM, found.group(1), sse=query.get("alt") == "sse")

    def authorised(
        self,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        api_key: str,
        route: Route,
        vendor: str,
    ) -> bool:
        return api_key in (headers.get("x-goog-api-key"), query.get("key"))

    def parse(self, route: Route, body: object, ctx: CallContext) -> Call | Reply:
        if not isinstance(body, dict):
            return self.bad_json(ctx.vendor)
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return _invalid("* GenerateContentRequest.contents: contents is not specified")
        config = body.get("generationConfig") or {}
        thinking = (config.get("thinkingConfig") or {}) if isinstance(config, dict) else None
        if not isinstance(config, dict) or not isinstance(thinking, dict):
            return _invalid("Invalid value at 'generation_config'")
        budget = as_budget(config.get("maxOutputTokens"))
        think = thinking.get("thinkingBudget")
        if budget == "bad" or not (think is None or isinstance(think, int)):
            return _invalid("Invalid value at 'generation_config': expected an integer")
        if think == 0 and route.model.startswith("gemini-2.5-pro"):
            return _invalid("Budget 0 is invalid. This model only works in thinking mode.")
        return Call(
            kind=route.kind,
            model=route.model,
            call_id=ctx.call_id,
            created=int(ctx.now),
            max_tokens=budget if isinstance(budget, int) else None,
            prompt_tokens=estimate_tokens(contents),
            thinking_budget=think,
            sse=route.sse,
        )

    def models_reply(self, models: tuple[str, ...], query: Mapping[str, str], vendor: str) -> Reply:
        size, token = query.get("pageSize", "50"), query.get("pageToken", "sim-0")
        if not size.isdigit() or not token.startswith("sim-") or not token[4:].isdigit():
            return _invalid("Invalid pageSize or pageToken")
        start, count = int(token[4:]), min(int(size) or 50, 1000)
        page = models[start : start + count]
        doc: dict[str, Any] = {"models": [_model_doc(m) for m in page]}
        if start + count < len(models):
            doc["nextPageToken"] = f"sim-{start + count}"
        return json_reply(200, doc)

    def headers(self, vendor: str, request_id: str, limits: Limits) -> dict[str, str]:
        return {}  # Gemini sends no rate-limit headers

    def auth_error(self, vendor: str) -> Reply:
        return json_reply(400, API_KEY_INVALID)

    def not_found(self, vendor: str, model: str) -> Reply:
        message = (
            f"models/{model} is not found for API version v1beta, or is not supported for "
            "generateContent. Call ListModels to see the list of available models and their "
            "supported methods."
        )
        return json_reply(404, status_doc(404, "NOT_FOUND", message))

    def bad_json(self, vendor: str) -> Reply:
        return _invalid("Invalid JSON payload received.")

    def quota_error(self, vendor: str, status: int | None) -> Reply:
        return _exhausted("GenerateRequestsPerDayPerProjectPerModel-FreeTier", 44.0)

    def rate_limited(self, vendor: str, retry_after_s: float, now: float) -> Reply:
        return _exhausted("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", retry_after_s)

    def server_error(self, vendor: str, status: int) -> Reply:
        return json_reply(status, _server_doc(status))

    def completion(self, call: Call, vendor: str) -> bytes:
        got = answer(call, thinking_tokens(call.model, call.thinking_budget))
        return dumps(_chunk(call, got.text, got.finish, got.reasoning_tokens, got.output_tokens))

    def inband_error(self, call: Call, vendor: str, status: int) -> bytes | None:
        return None

    def stream(self, call: Call, vendor: str) -> StreamPlan:
        got = answer(call, thinking_tokens(call.model, call.thinking_budget))
        pieces, thoughts = got.pieces or ("",), got.reasoning_tokens
        frames = [
            _chunk(call, p, None, thoughts, thoughts + i + 1) for i, p in enumerate(pieces[:-1])
        ]
        frames.append(_chunk(call, pieces[-1], got.finish, thoughts, got.output_tokens))
        if call.sse:
            out = [b"data: " + dumps(f) + EVENT_END for f in frames]
            return StreamPlan((), tuple(out[:-1]), (out[-1],))
        body = [dumps(f) + b",\r\n" for f in frames[:-1]]
        return StreamPlan((b"[",), tuple(body), (dumps(frames[-1]) + b"]",), "application/json")

    def error_frame(self, call: Call, vendor: str, status: int) -> bytes:
        if call.sse:
            return b"data: " + dumps(_server_doc(status)) + EVENT_END
        return dumps(_server_doc(status)) + b"]"

    def keepalive(self, vendor: str) -> bytes:
        return b": keep-alive" + EVENT_END


def _invalid(message: str) -> Reply:
    return json_reply(400, status_doc(400, "INVALID_ARGUMENT", message))


def _server_doc(status: int) -> dict[str, Any]:
    name, message = _SERVER.get(status, _SERVER[500])
    return status_doc(status, name, message)


def _chunk(
    call: Call, text: str, finish: Finish | None, thoughts: int, output: int
) -> dict[str, Any]:
    content: dict[str, Any] = (
        {"parts": [{"text": text}], "role": "model"} if text else {"role": "model"}
    )
    candidate: dict[str, Any] = {"content": content}
    if finish is not None:
        candidate["finishReason"] = "STOP" if finish is Finish.STOP else "MAX_TOKENS"
    candidate["index"] = 0
    usage: dict[str, Any] = {
        "promptTokenCount": call.prompt_tokens,
        "candidatesTokenCount": max(output - thoughts, 0),
        "totalTokenCount": call.prompt_tokens + output,
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": call.model,
        "responseId": call.call_id,
    }


def _model_doc(model: str) -> dict[str, Any]:
    methods = ["generateContent", "countTokens", "streamGenerateContent"]
    return {
        "name": f"models/{model}",
        "version": "001",
        "displayName": model,
        "description": "A simulated model.",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": methods,
        "thinking": thinking_tokens(model, None) > 0,
    }


GEMINI = GeminiWire()
