"""Error bodies and headers of the OpenAI-compatible vendors, each in its own shape.

Shapes (docs/providers.md):

- OpenAI, Together, DeepSeek, generic: `{"error": {"message", "type", "param", "code"}}`
- Groq: the same without `param`; `code` only when there is one
- Mistral: flat `{"object": "error", "message", "type", "param", "code"}`
- Fireworks: `{"error": {"object": "error", "type", "message"}}`
- OpenRouter: `{"error": {"code": <HTTP status as int>, "message", "metadata"}}`
"""

from __future__ import annotations

from typing import Any

from routeguard.sim.base import Limits, Reply
from routeguard.sim.wire_common import go_duration, json_reply, retry_after

_SERVER_MESSAGES = {
    498: "Flex tier capacity exceeded. This is a known issue; please retry your request.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The engine is currently overloaded, please try again later.",
    504: "Gateway timeout.",
}
_OVERLOADED_503 = {
    "deepseek": "Server Overloaded",
    "together": "Engine Overloaded",
    "fireworks": "Service Overloaded",
    "groq": "Service Unavailable",
}
_OPENROUTER_TYPES = {
    500: "server",
    502: "provider_unavailable",
    503: "provider_overloaded",
    504: "timeout",
}


def error_doc(
    vendor: str,
    status: int,
    message: str,
    type_: str,
    code: str | None = None,
    param: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The vendor's error envelope."""
    if vendor == "openrouter":
        inner: dict[str, Any] = {"code": status, "message": message}
        if metadata:
            inner["metadata"] = metadata
        return {"error": inner}
    if vendor == "mistral":
        return {"object": "error", "message": message, "type": type_, "param": param, "code": code}
    if vendor == "fireworks":
        return {"error": {"object": "error", "type": type_, "message": message}}
    if vendor == "groq":
        body: dict[str, Any] = {"message": message, "type": type_}
        if code:
            body["code"] = code
        return {"error": body}
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_reply(
    vendor: str, status: int, message: str, type_: str, code: str | None = None, **extra: Any
) -> Reply:
    """A JSON error reply in the vendor's shape."""
    return json_reply(status, error_doc(vendor, status, message, type_, code, **extra))


def auth_error(vendor: str) -> Reply:
    """401 for a missing or wrong key."""
    if vendor == "deepseek":
        message = "Authentication Fails (no such user)"
        return error_reply(vendor, 401, message, "authentication_error", "invalid_request_error")
    if vendor == "mistral":
        return error_reply(vendor, 401, "Unauthorized", "authentication_error")
    if vendor == "openrouter":
        return error_reply(vendor, 401, "No auth credentials found", "")
    message = "Incorrect API key provided. Check the key this client sends."
    if vendor == "together":
        message = "Invalid API key provided. Check the key this client sends."
    return error_reply(vendor, 401, message, "invalid_request_error", "invalid_api_key")


def not_found(vendor: str, model: str) -> Reply:
    """404 for a model this provider does not serve."""
    if vendor == "fireworks":  # Fireworks' flat 404 (reference: warpdotdev/warp#15107)
        doc = {
            "message": "Model not found, inaccessible, and/or not deployed",
            "param": "model",
            "code": "NOT_FOUND",
            "type": "error",
        }
        return json_reply(404, doc)
    if vendor == "mistral":
        message = f"Invalid model: {model}"
        return error_reply(
            vendor, 404, message, "invalid_request_error", "unknown_model", param="model"
        )
    message = f"The model `{model}` does not exist or you do not have access to it."
    return error_reply(vendor, 404, message, "invalid_request_error", "model_not_found")


def bad_request(vendor: str, message: str, param: str | None, code: str | None) -> Reply:
    """400 for a request the provider cannot take."""
    return error_reply(vendor, 400, message, "invalid_request_error", code, param=param)


def quota_error(vendor: str, status: int | None) -> Reply:
    """The vendor's "you cannot pay" answer (402, or OpenAI's 429 insufficient_quota)."""
    if vendor == "openrouter":
        message = "Insufficient credits. Add more credits to continue."
        meta = {"limit_source": "openrouter_credits"}
        return error_reply(vendor, status or 402, message, "", metadata=meta)
    if vendor == "deepseek":
        return error_reply(
            vendor, status or 402, "Insufficient Balance", "unknown_error", "invalid_request_error"
        )
    if vendor in ("together", "fireworks", "mistral"):
        message = "Monthly spend limit reached: insufficient balance for this request."
        return error_reply(vendor, status or 402, message, "invalid_request_error")
    message = (
        "You exceeded your current quota, please check your plan and billing details. "
        "For more information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors."
    )
    return error_reply(vendor, status or 429, message, "insufficient_quota", "insufficient_quota")


def rate_limited(vendor: str, retry_after_s: float, now: float) -> Reply:
    """429 with the vendor's retry hints."""
    wait = retry_after(retry_after_s)
    message = f"Rate limit reached for requests. Please try again in {wait}s."
    headers = {"retry-after": wait}
    if vendor in ("", "openai", "groq"):
        headers["retry-after-ms"] = str(round(retry_after_s * 1000))
        headers["x-ratelimit-remaining-requests"] = "0"
        headers["x-ratelimit-reset-requests"] = go_duration(retry_after_s)
    elif vendor == "together":
        headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": wait})
    elif vendor == "openrouter":
        reset_ms = round((now + retry_after_s) * 1000)
        headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset_ms)})
        meta = {"error_type": "rate_limit_exceeded"}
        doc = error_doc(vendor, 429, "Rate limit exceeded", "", metadata=meta)
        return json_reply(429, doc, headers)
    type_ = "rate_limit_error" if vendor in ("mistral", "fireworks") else "requests"
    doc = error_doc(vendor, 429, message, type_, "rate_limit_exceeded")
    return json_reply(429, doc, headers)


def server_error(vendor: str, status: int) -> Reply:
    """A 5xx (or Groq's 498) in the vendor's shape."""
    return json_reply(status, server_error_doc(vendor, status))


def server_error_doc(vendor: str, status: int) -> dict[str, Any]:
    """The body of a 5xx, also sent as an in-stream error object."""
    if vendor == "openrouter":
        meta = {"error_type": _OPENROUTER_TYPES.get(status, "server")}
        message = "Provider returned error" if status != 500 else "Internal Server Error"
        return error_doc(vendor, status, message, "", metadata=meta)
    message = _SERVER_MESSAGES.get(status, _SERVER_MESSAGES[500])
    type_, code = "server_error", None
    if status == 503:
        message = _OVERLOADED_503.get(vendor, message)
        type_, code = "service_unavailable_error", "server_is_overloaded"
    elif status == 498:
        code = "capacity_exceeded"
    return error_doc(vendor, status, message, type_, code)


def headers(vendor: str, request_id: str, limits: Limits) -> dict[str, str]:
    """Headers every answer carries, rate-limit figures in the vendor's format."""
    if vendor in ("", "openai", "groq"):
        out = {
            "x-ratelimit-limit-requests": str(limits.requests_limit),
            "x-ratelimit-limit-tokens": str(limits.tokens_limit),
            "x-ratelimit-remaining-requests": str(limits.requests_remaining),
            "x-ratelimit-remaining-tokens": str(limits.tokens_remaining),
            "x-ratelimit-reset-requests": go_duration(limits.reset_s),
            "x-ratelimit-reset-tokens": go_duration(limits.reset_s),
        }
        if vendor != "groq":
            out.update({"x-request-id": request_id, "openai-version": "2020-10-01"})
            out.update({"openai-organization": "routeguard-sim", "openai-processing-ms": "1"})
        return out
    if vendor == "together":
        return {
            "x-request-id": request_id,
            "x-ratelimit-limit": str(limits.requests_limit),
            "x-ratelimit-remaining": str(limits.requests_remaining),
            "x-ratelimit-reset": retry_after(limits.reset_s),
            "x-tokenlimit-limit": str(limits.tokens_limit),
            "x-tokenlimit-remaining": str(limits.tokens_remaining),
        }
    if vendor == "openrouter":
        return {"x-generation-id": request_id}
    return {}
