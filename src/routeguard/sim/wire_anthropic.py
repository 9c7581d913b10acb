"""The Anthropic Messages wire flavour.

Endpoints under `/v1`: `GET /models` (`limit`, `after_id`, `before_id`) and
`POST /messages`, both needing `x-api-key` and `anthropic-version`. Errors are
`{"type": "error", "error": {"type", "message"}, "request_id"}`; 529 is
`overloaded_error`; a spend cap is a 429 with `enforced_spend_limit_reached` and no
`retry-after`. Streams run message_start, content_block_start, ping,
content_block_delta…, content_block_stop, message_delta, message_stop; an error
after the 200 is `event: error` and no message_stop. Rate-limit resets are
RFC 3339 timestamps (docs/providers.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routeguard.sim.base import Call, CallContext, Finish, Kind, Limits, Reply, Route, StreamPlan
from routeguard.sim.wire_common import (
    answer,
    as_budget,
    dumps,
    estimate_tokens,
    json_reply,
    retry_after,
    rfc3339,
    sse,
)

VERSION = "2023-06-01"
REQUEST_ID = "req_011CSimulatedRouteguard00"
"""The `request_id` error bodies carry (the `request-id` header has the real one)."""
CREATED_AT = "2025-10-01T00:00:00Z"
_SERVER_TYPES = {
    500: ("api_error", "Internal server error"),
    502: ("api_error", "Bad gateway"),
    503: ("api_error", "Service unavailable"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}
_FAMILIES = ("requests", "tokens", "input-tokens", "output-tokens")


def error_doc(type_: str, message: str, **extra: Any) -> dict[str, Any]:
    """Anthropic's error envelope."""
    return {
        "type": "error",
        "error": {"type": type_, "message": message, **extra},
        "request_id": REQUEST_ID,
    }


def _error(status: int, type_: str, message: str, **extra: Any) -> Reply:
    return json_reply(status, error_doc(type_, message, **extra))


def _server_type(status: int) -> tuple[str, str]:
    return _SERVER_TYPES.get(status, _SERVER_TYPES[500])


class AnthropicWire:
    """`/v1/models` and `/v1/messages`."""

    flavour = "anthropic"
    prefix = "/v1"

    def route(self, method: str, path: str, query: Mapping[str, str], vendor: str) -> Route | None:
        if (method, path) == ("GET", "/v1/models"):
            return Route(Kind.MODELS)
        if (method, path) == ("POST", "/v1/messages"):
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
        return headers.get("x-api-key", "") == api_key

    def parse(self, route: Route, body: object, ctx: CallContext) -> Call | Reply:
        if not ctx.headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        if not isinstance(body, dict):
            return self.bad_json(ctx.vendor)
        model, messages = body.get("model"), body.get("messages")
        budget = as_budget(body.get("max_tokens"))
        for name, missing in (
            ("model", not isinstance(model, str) or not model),
            ("max_tokens", budget is None),
            ("messages", not isinstance(messages, list) or not messages),
        ):
            if missing:
                return _error(400, "invalid_request_error", f"{name}: Field required")
        if not isinstance(budget, int):
            return _error(
                400, "invalid_request_error", "max_tokens: Input should be a positive integer"
            )
        return Call(
            kind=Kind.STREAM if body.get("stream") is True else Kind.COMPLETION,
            model=str(model),
            call_id=ctx.call_id,
            created=int(ctx.now),
            max_tokens=budget,
            prompt_tokens=estimate_tokens(messages),
        )

    def models_reply(self, models: tuple[str, ...], query: Mapping[str, str], vendor: str) -> Reply:
        limit = query.get("limit", "20")
        if not limit.isdigit() or not 1 <= int(limit) <= 1000:
            return _error(400, "invalid_request_error", "limit: Input should be between 1 and 1000")
        ids = list(models)
        if (after := query.get("after_id")) in ids:
            ids = ids[ids.index(after) + 1 :]
        if (before := query.get("before_id")) in ids:
            ids = ids[: ids.index(before)]
        page = ids[: int(limit)]
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": CREATED_AT} for m in page
        ]
        return json_reply(
            200,
            {
                "data": data,
                "has_more": len(ids) > len(page),
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            },
        )

    def headers(self, vendor: str, request_id: str, limits: Limits) -> dict[str, str]:
        out = {"request-id": request_id, "anthropic-organization-id": "routeguard-sim"}
        reset = rfc3339(limits.now + limits.reset_s)
        for family in _FAMILIES:
            is_requests = family == "requests"
            limit = limits.requests_limit if is_requests else limits.tokens_limit
            left = limits.requests_remaining if is_requests else limits.tokens_remaining
            out[f"anthropic-ratelimit-{family}-limit"] = str(limit)
            out[f"anthropic-ratelimit-{family}-remaining"] = str(left)
            out[f"anthropic-ratelimit-{family}-reset"] = reset
        return out

    def auth_error(self, vendor: str) -> Reply:
        return _error(401, "authentication_error", "invalid x-api-key")

    def not_found(self, vendor: str, model: str) -> Reply:
        return _error(404, "not_found_error", f"model: {model}")

    def bad_json(self, vendor: str) -> Reply:
        return _error(400, "invalid_request_error", "The request body is not valid JSON.")

    def quota_error(self, vendor: str, status: int | None) -> Reply:
        if status == 429:  # a spend cap you set: 429 with no retry-after, never retry it
            message = "You have reached your specified API usage limits."
            details = {"error_code": "enforced_spend_limit_reached"}
            return _error(429, "rate_limit_error", message, details=details)
        message = "Your credit balance is too low to access the Anthropic API."
        return _error(status or 402, "billing_error", message)

    def rate_limited(self, vendor: str, retry_after_s: float, now: float) -> Reply:
        message = "This request would exceed the rate limit for your organization."
        headers = {
            "retry-after": retry_after(retry_after_s),
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": rfc3339(now + retry_after_s),
        }
        return json_reply(429, error_doc("rate_limit_error", message), headers)

    def server_error(self, vendor: str, status: int) -> Reply:
        return _error(status, *_server_type(status))

    def completion(self, call: Call, vendor: str) -> bytes:
        got = answer(call)
        doc = _message(call, [{"type": "text", "text": got.text}] if got.pieces else [])
        doc["stop_reason"] = _stop_reason(got.finish)
        doc["usage"]["output_tokens"] = got.output_tokens
        return dumps(doc)

    def inband_error(self, call: Call, vendor: str, status: int) -> bytes | None:
        return None

    def stream(self, call: Call, vendor: str) -> StreamPlan:
        got = answer(call)
        start = {"type": "message_start", "message": _message(call, [])}
        block = {"type": "text", "text": ""}
        head = (
            _event(start),
            _event({"type": "content_block_start", "index": 0, "content_block": block}),
            self.keepalive(vendor),
        )
        tokens = tuple(
            _event(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": p},
                }
            )
            for p in got.pieces
        )
        delta = {"stop_reason": _stop_reason(got.finish), "stop_sequence": None}
        tail = (
            _event({"type": "content_block_stop", "index": 0}),
            _event(
                {
                    "type": "message_delta",
                    "delta": delta,
                    "usage": {"output_tokens": got.output_tokens},
                }
            ),
            _event({"type": "message_stop"}),
        )
        return StreamPlan(head, tokens, tail)

    def error_frame(self, call: Call, vendor: str, status: int) -> bytes:
        type_, message = _server_type(status)
        return sse({"type": "error", "error": {"type": type_, "message": message}}, event="error")

    def keepalive(self, vendor: str) -> bytes:
        return _event({"type": "ping"})


def _event(doc: dict[str, Any]) -> bytes:
    return sse(doc, event=str(doc["type"]))


def _stop_reason(finish: Finish) -> str:
    return "end_turn" if finish is Finish.STOP else "max_tokens"


def _message(call: Call, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": f"msg_{call.call_id}",
        "type": "message",
        "role": "assistant",
        "model": call.model,
        "content": content,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": call.prompt_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        },
    }


ANTHROPIC = AnthropicWire()
