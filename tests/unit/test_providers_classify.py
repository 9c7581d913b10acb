"""Status codes, error bodies and exceptions to outcome classes: one row per vendor quirk."""

from __future__ import annotations

import asyncio
import json
import ssl
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from routeguard.outcomes import Outcome
from routeguard.providers.classify import (
    classify_error_response,
    classify_exception,
    classify_inband_error,
    classify_status,
)
from routeguard.providers.errorbody import error_info, parse_json, scrub
from routeguard.providers.sse import SSEProtocolError

NOW = datetime(2025, 8, 21, 12, 40, 0, tzinfo=UTC)


def openai_error(
    message: str, type: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def anthropic_error(type: str, message: str, **details: str) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type, "message": message}
    if details:
        error["details"] = details
    return {"type": "error", "error": error, "request_id": "req_011CV5J4YZo4J3KLTDZgDN7S"}


def google_error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": list(details)}}


def openrouter_error(code: int, message: str, **metadata: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "metadata": metadata}}


API_KEY_INVALID = google_error(
    400,
    "INVALID_ARGUMENT",
    "API key not valid. Please pass a valid API key.",
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    },
)


def gemini_429(quota_id: str) -> dict[str, Any]:
    return google_error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota. Please retry in 35.2s.",
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": quota_id,
                }
            ],
        },
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "35s"},
    )


CASES: list[Any] = [
    # -- OpenAI
    pytest.param(
        "openai",
        429,
        {},
        openai_error("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
        Outcome.RATE_LIMITED,
        "rate_limit_exceeded",
        id="OpenAI 429 rate_limit_exceeded is rate_limited",
    ),
    pytest.param(
        "openai",
        429,
        {},
        openai_error(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        ),
        Outcome.QUOTA_EXHAUSTED,
        "insufficient_quota",
        id="OpenAI 429 insufficient_quota is quota_exhausted not rate_limited",
    ),
    pytest.param(
        "openai",
        401,
        {},
        openai_error(
            "Incorrect API key provided: sk-proj-****abcd.",
            "invalid_request_error",
            "invalid_api_key",
        ),
        Outcome.AUTH_ERROR,
        "invalid_api_key",
        id="OpenAI 401 invalid_api_key is auth_error",
    ),
    pytest.param(
        "openai",
        403,
        {},
        openai_error(
            "Country, region, or territory not supported",
            "request_forbidden",
            "unsupported_country_region_territory",
        ),
        Outcome.AUTH_ERROR,
        "unsupported_country_region_territory",
        id="OpenAI 403 unsupported region is auth_error",
    ),
    pytest.param(
        "openai",
        400,
        {},
        openai_error(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            "invalid_request_error",
            "unsupported_parameter",
            "max_tokens",
        ),
        Outcome.CLIENT_ERROR,
        "unsupported_parameter",
        id="OpenAI 400 unsupported max_tokens is client_error",
    ),
    pytest.param(
        "openai",
        404,
        {},
        openai_error(
            "The model `gpt-9` does not exist", "invalid_request_error", "model_not_found"
        ),
        Outcome.CLIENT_ERROR,
        "model_not_found",
        id="OpenAI 404 model_not_found is client_error",
    ),
    pytest.param(
        "openai",
        500,
        {},
        openai_error("The server had an error while processing your request.", "server_error"),
        Outcome.SERVER_ERROR,
        "server_error",
        id="OpenAI 500 is server_error",
    ),
    pytest.param(
        "openai",
        503,
        {},
        openai_error(
            "The engine is currently overloaded, please try again later",
            "service_unavailable_error",
            "server_is_overloaded",
        ),
        Outcome.SERVER_ERROR,
        "server_is_overloaded",
        id="OpenAI 503 overloaded is server_error",
    ),
    pytest.param(
        "openai",
        503,
        {},
        openai_error(
            "Slow Down: please reduce your request rate gradually",
            "service_unavailable_error",
            "slow_down",
        ),
        Outcome.RATE_LIMITED,
        "slow_down",
        id="OpenAI 503 slow_down means rate so is rate_limited",
    ),
    # -- Anthropic
    pytest.param(
        "anthropic",
        529,
        {},
        anthropic_error("overloaded_error", "Overloaded"),
        Outcome.SERVER_ERROR,
        "overloaded_error",
        id="a 529 from Anthropic is a server_error",
    ),
    pytest.param(
        "anthropic",
        529,
        {},
        None,
        Outcome.SERVER_ERROR,
        "http_529",
        id="a bare 529 is a server_error",
    ),
    pytest.param(
        "anthropic",
        429,
        {"retry-after": "12"},
        anthropic_error(
            "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
        ),
        Outcome.RATE_LIMITED,
        "rate_limit_error",
        id="Anthropic 429 rate_limit_error is rate_limited",
    ),
    pytest.param(
        "anthropic",
        429,
        {},
        anthropic_error(
            "rate_limit_error",
            "You have reached your spend cap",
            error_code="enforced_spend_limit_reached",
        ),
        Outcome.QUOTA_EXHAUSTED,
        "enforced_spend_limit_reached",
        id="Anthropic 429 enforced_spend_limit_reached is quota_exhausted",
    ),
    pytest.param(
        "anthropic",
        400,
        {},
        anthropic_error(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
        ),
        Outcome.QUOTA_EXHAUSTED,
        "spend_limit",
        id="Anthropic 400 credit balance too low is quota_exhausted",
    ),
    pytest.param(
        "anthropic",
        400,
        {},
        anthropic_error(
            "invalid_request_error",
            "You have reached your specified API usage limits. You will regain access on 2025-09-01 at 00:00 UTC.",
        ),
        Outcome.QUOTA_EXHAUSTED,
        "spend_limit",
        id="Anthropic 400 self-set spend limit is quota_exhausted",
    ),
    pytest.param(
        "anthropic",
        400,
        {},
        anthropic_error(
            "invalid_request_error", "prompt is too long: 205351 tokens > 200000 maximum"
        ),
        Outcome.CLIENT_ERROR,
        "invalid_request_error",
        id="Anthropic 400 prompt too long is client_error",
    ),
    pytest.param(
        "anthropic",
        401,
        {},
        anthropic_error("authentication_error", "invalid x-api-key"),
        Outcome.AUTH_ERROR,
        "authentication_error",
        id="Anthropic 401 is auth_error",
    ),
    pytest.param(
        "anthropic",
        402,
        {},
        anthropic_error("billing_error", "Billing problem"),
        Outcome.QUOTA_EXHAUSTED,
        "billing_error",
        id="Anthropic 402 billing_error is quota_exhausted",
    ),
    pytest.param(
        "anthropic",
        403,
        {},
        anthropic_error("permission_error", "no access to model"),
        Outcome.AUTH_ERROR,
        "permission_error",
        id="Anthropic 403 permission_error is auth_error",
    ),
    pytest.param(
        "anthropic",
        409,
        {},
        anthropic_error("conflict_error", "conflict"),
        Outcome.CLIENT_ERROR,
        "conflict_error",
        id="Anthropic 409 is client_error",
    ),
    pytest.param(
        "anthropic",
        413,
        {},
        None,
        Outcome.CLIENT_ERROR,
        "http_413",
        id="Anthropic 413 from Cloudflare is client_error",
    ),
    pytest.param(
        "anthropic",
        504,
        {},
        anthropic_error("timeout_error", "Request timed out"),
        Outcome.SERVER_ERROR,
        "timeout_error",
        id="Anthropic 504 timeout_error is server_error",
    ),
    pytest.param(
        "anthropic",
        500,
        {},
        anthropic_error("api_error", "Internal server error"),
        Outcome.SERVER_ERROR,
        "api_error",
        id="Anthropic 500 api_error is server_error",
    ),
    # -- Gemini
    pytest.param(
        "gemini",
        400,
        {},
        API_KEY_INVALID,
        Outcome.AUTH_ERROR,
        "api_key_invalid",
        id="Gemini 400 API_KEY_INVALID is auth_error",
    ),
    pytest.param(
        "gemini",
        400,
        {},
        google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
        Outcome.AUTH_ERROR,
        "invalid_api_key",
        id="Gemini 400 bad key without details is auth_error by message",
    ),
    pytest.param(
        "gemini",
        400,
        {},
        google_error(
            400,
            "FAILED_PRECONDITION",
            "User location is not supported for the API use without a billing account linked.",
        ),
        Outcome.AUTH_ERROR,
        "failed_precondition",
        id="Gemini 400 FAILED_PRECONDITION region or billing is auth_error",
    ),
    pytest.param(
        "gemini",
        400,
        {},
        google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."),
        Outcome.CLIENT_ERROR,
        "invalid_argument",
        id="Gemini 400 malformed request is client_error",
    ),
    pytest.param(
        "gemini",
        403,
        {},
        google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers"),
        Outcome.AUTH_ERROR,
        "permission_denied",
        id="Gemini 403 PERMISSION_DENIED is auth_error",
    ),
    pytest.param(
        "gemini",
        404,
        {},
        google_error(404, "NOT_FOUND", "models/gemini-1.0-pro is no longer available to new users"),
        Outcome.CLIENT_ERROR,
        "not_found",
        id="Gemini 404 retired model is client_error",
    ),
    pytest.param(
        "gemini",
        429,
        {},
        gemini_429("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
        Outcome.RATE_LIMITED,
        "resource_exhausted",
        id="Gemini 429 per-minute quota is rate_limited",
    ),
    pytest.param(
        "gemini",
        429,
        {},
        gemini_429("GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
        Outcome.QUOTA_EXHAUSTED,
        "per_day_quota",
        id="Gemini 429 with a per-day quotaId is quota_exhausted",
    ),
    pytest.param(
        "gemini",
        503,
        {},
        google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        Outcome.SERVER_ERROR,
        "unavailable",
        id="Gemini 503 UNAVAILABLE is server_error",
    ),
    pytest.param(
        "gemini",
        504,
        {},
        google_error(504, "DEADLINE_EXCEEDED", "Deadline exceeded"),
        Outcome.SERVER_ERROR,
        "deadline_exceeded",
        id="Gemini 504 DEADLINE_EXCEEDED is server_error",
    ),
    pytest.param(
        "gemini",
        500,
        {},
        google_error(500, "INTERNAL", "An internal error has occurred."),
        Outcome.SERVER_ERROR,
        "internal",
        id="Gemini 500 INTERNAL is server_error",
    ),
    # -- Mistral
    pytest.param(
        "mistral",
        422,
        {},
        {
            "object": "error",
            "message": {
                "detail": [
                    {
                        "type": "extra_forbidden",
                        "loc": ["body", "stream_options"],
                        "msg": "Extra inputs are not permitted",
                    }
                ]
            },
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        },
        Outcome.CLIENT_ERROR,
        "invalid_request_error",
        id="Mistral 422 extra_forbidden is client_error",
    ),
    pytest.param(
        "mistral",
        401,
        {},
        {
            "object": "error",
            "message": "Unauthorized",
            "type": "authentication_error",
            "param": None,
            "code": None,
        },
        Outcome.AUTH_ERROR,
        "authentication_error",
        id="Mistral top-level error 401 is auth_error",
    ),
    pytest.param(
        "mistral",
        422,
        {},
        {"detail": [{"loc": ["body", "model"], "msg": "field required", "type": "missing"}]},
        Outcome.CLIENT_ERROR,
        "validation_error",
        id="Mistral HTTPValidationError 422 is client_error",
    ),
    pytest.param(
        "mistral",
        503,
        {},
        None,
        Outcome.SERVER_ERROR,
        "http_503",
        id="Mistral 503 maintenance is server_error",
    ),
    # -- DeepSeek
    pytest.param(
        "deepseek",
        401,
        {},
        {
            "error": {
                "message": "Authentication Fails (no such user)",
                "type": "authentication_error",
                "param": None,
                "code": "invalid_request_error",
            }
        },
        Outcome.AUTH_ERROR,
        "authentication_error",
        id="DeepSeek 401 with reused code is auth_error",
    ),
    pytest.param(
        "deepseek",
        402,
        {},
        {
            "error": {
                "message": "Insufficient Balance",
                "type": "unknown_error",
                "param": None,
                "code": "invalid_request_error",
            }
        },
        Outcome.QUOTA_EXHAUSTED,
        "spend_limit",
        id="DeepSeek 402 insufficient balance is quota_exhausted",
    ),
    pytest.param(
        "deepseek",
        503,
        {},
        {"error": {"message": "Server Overloaded", "type": "server_error"}},
        Outcome.SERVER_ERROR,
        "server_error",
        id="DeepSeek 503 overloaded is server_error",
    ),
    # -- Together
    pytest.param(
        "together",
        401,
        {},
        openai_error(
            "Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        ),
        Outcome.AUTH_ERROR,
        "invalid_api_key",
        id="Together 401 invalid_api_key is auth_error",
    ),
    pytest.param(
        "together",
        402,
        {},
        openai_error("Monthly spend limit reached", "invalid_request_error"),
        Outcome.QUOTA_EXHAUSTED,
        "spend_limit",
        id="Together 402 monthly spend limit is quota_exhausted",
    ),
    pytest.param(
        "together",
        403,
        {},
        openai_error(
            "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8193",
            "invalid_request_error",
        ),
        Outcome.CLIENT_ERROR,
        "invalid_request_error",
        id="Together 403 context length is client_error not auth",
    ),
    pytest.param(
        "together",
        400,
        {},
        openai_error(
            "Unable to access non-serverless model", "invalid_request_error", "model_not_available"
        ),
        Outcome.CLIENT_ERROR,
        "model_not_available",
        id="Together 400 model_not_available is client_error",
    ),
    pytest.param(
        "together",
        503,
        {},
        openai_error("Engine Overloaded", "server_error"),
        Outcome.SERVER_ERROR,
        "server_error",
        id="Together 503 engine overloaded below the dynamic rate is server_error",
    ),
    pytest.param(
        "together",
        429,
        {"x-ratelimit-reset": "2"},
        openai_error("rate limit exceeded", "rate_limit"),
        Outcome.RATE_LIMITED,
        "rate_limit",
        id="Together 429 above the dynamic rate is rate_limited",
    ),
    # -- Fireworks
    pytest.param(
        "fireworks",
        404,
        {},
        {
            "message": "Model not found, inaccessible, and/or not deployed",
            "param": "model",
            "code": "NOT_FOUND",
            "type": "error",
        },
        Outcome.CLIENT_ERROR,
        "not_found",
        id="Fireworks top-level 404 error is client_error",
    ),
    pytest.param(
        "fireworks",
        400,
        {},
        {"error": {"object": "error", "type": "invalid_request_error", "message": "bad"}},
        Outcome.CLIENT_ERROR,
        "invalid_request_error",
        id="Fireworks nested error 400 is client_error",
    ),
    pytest.param(
        "fireworks", 408, {}, None, Outcome.TIMEOUT, "http_408", id="Fireworks 408 is timeout"
    ),
    pytest.param(
        "fireworks",
        412,
        {},
        {"error": {"type": "error", "message": "Account suspended"}},
        Outcome.CLIENT_ERROR,
        "http_412",
        id="Fireworks 412 suspended is client_error",
    ),
    pytest.param(
        "fireworks",
        503,
        {},
        {"error": {"type": "error", "message": "Service Overloaded"}},
        Outcome.SERVER_ERROR,
        "http_503",
        id="Fireworks 503 load shed is server_error",
    ),
    # -- Groq
    pytest.param(
        "groq",
        498,
        {},
        {"error": {"message": "Flex tier capacity exceeded", "type": "capacity_exceeded"}},
        Outcome.SERVER_ERROR,
        "capacity_exceeded",
        id="Groq 498 capacity_exceeded is server_error",
    ),
    pytest.param(
        "groq",
        429,
        {"retry-after": "7"},
        {
            "error": {
                "message": "Rate limit reached",
                "type": "tokens",
                "code": "rate_limit_exceeded",
            }
        },
        Outcome.RATE_LIMITED,
        "rate_limit_exceeded",
        id="Groq 429 is rate_limited",
    ),
    pytest.param(
        "groq",
        499,
        {},
        None,
        Outcome.CLIENT_ERROR,
        "http_499",
        id="Groq 499 request cancelled is ours",
    ),
    pytest.param(
        "groq", 413, {}, None, Outcome.CLIENT_ERROR, "http_413", id="Groq 413 is client_error"
    ),
    pytest.param(
        "groq", 502, {}, None, Outcome.SERVER_ERROR, "http_502", id="Groq 502 is server_error"
    ),
    # -- OpenRouter
    pytest.param(
        "openrouter",
        402,
        {},
        openrouter_error(402, "Insufficient credits", limit_source="openrouter_credits"),
        Outcome.QUOTA_EXHAUSTED,
        "insufficient_credits",
        id="OpenRouter 402 credits is quota_exhausted",
    ),
    pytest.param(
        "openrouter",
        402,
        {},
        openrouter_error(402, "Key limit exceeded", limit_source="openrouter_key_limit"),
        Outcome.QUOTA_EXHAUSTED,
        "insufficient_credits",
        id="OpenRouter 402 key limit is quota_exhausted",
    ),
    pytest.param(
        "openrouter",
        402,
        {"retry-after": "3"},
        openrouter_error(
            402, "In-flight budget exceeded", limit_source="openrouter_in_flight_budget"
        ),
        Outcome.RATE_LIMITED,
        "in_flight_budget",
        id="OpenRouter 402 in-flight budget clears by itself so is rate_limited",
    ),
    pytest.param(
        "openrouter",
        408,
        {},
        openrouter_error(408, "Request timed out"),
        Outcome.TIMEOUT,
        "http_408",
        id="OpenRouter 408 is timeout",
    ),
    pytest.param(
        "openrouter",
        429,
        {"retry-after": "5"},
        openrouter_error(429, "Rate limit exceeded", error_type="rate_limit_exceeded"),
        Outcome.RATE_LIMITED,
        "rate_limit_exceeded",
        id="OpenRouter 429 is rate_limited",
    ),
    pytest.param(
        "openrouter",
        429,
        {},
        openrouter_error(
            429,
            "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day",
        ),
        Outcome.QUOTA_EXHAUSTED,
        "per_day_quota",
        id="OpenRouter free-models-per-day 429 is quota_exhausted",
    ),
    pytest.param(
        "openrouter",
        502,
        {},
        openrouter_error(502, "Provider returned error", error_type="provider_unavailable"),
        Outcome.SERVER_ERROR,
        "provider_unavailable",
        id="OpenRouter 502 model down is server_error",
    ),
    pytest.param(
        "openrouter",
        503,
        {},
        openrouter_error(503, "No endpoints found that can handle the requested parameters"),
        Outcome.SERVER_ERROR,
        "http_503",
        id="OpenRouter 503 no eligible provider is server_error",
    ),
    pytest.param(
        "openrouter",
        403,
        {},
        openrouter_error(
            403,
            "Input was flagged",
            reasons=["violence"],
            flagged_input="ping",
            provider_name="OpenAI",
        ),
        Outcome.CLIENT_ERROR,
        "moderation",
        id="OpenRouter 403 moderation flag is client_error",
    ),
    pytest.param(
        "openrouter",
        403,
        {},
        openrouter_error(403, "Guardrail blocked this key"),
        Outcome.AUTH_ERROR,
        "http_403",
        id="OpenRouter 403 guardrail block is auth_error",
    ),
    pytest.param(
        "openrouter",
        401,
        {},
        openrouter_error(401, "No auth credentials found"),
        Outcome.AUTH_ERROR,
        "http_401",
        id="OpenRouter 401 is auth_error",
    ),
    # -- generic
    pytest.param(
        "", 418, {}, None, Outcome.CLIENT_ERROR, "http_418", id="an unknown 4xx is client_error"
    ),
    pytest.param(
        "", 599, {}, None, Outcome.SERVER_ERROR, "http_599", id="an unknown 5xx is server_error"
    ),
    pytest.param(
        "",
        302,
        {},
        None,
        Outcome.BAD_RESPONSE,
        "http_302",
        id="an unfollowed redirect is bad_response",
    ),
]


@pytest.mark.parametrize(("vendor", "status", "headers", "body", "outcome", "error_type"), CASES)
def test_classification_table(
    vendor: str, status: int, headers: dict[str, str], body: Any, outcome: Outcome, error_type: str
) -> None:
    got = classify_status(status, headers, body, vendor, now=NOW)
    assert (got.outcome, got.error_type, got.status) == (outcome, error_type, status)
    raw = classify_error_response(
        status, headers, json.dumps(body).encode() if body else b"", vendor, now=NOW
    )
    assert (raw.outcome, raw.error_type) == (outcome, error_type)
    assert "\n" not in got.detail and len(got.detail) <= 200


@pytest.mark.parametrize(
    ("vendor", "status", "headers", "body", "retry_after_s"),
    [
        pytest.param(
            "anthropic",
            429,
            {"retry-after": "12"},
            anthropic_error("rate_limit_error", "slow"),
            12.0,
            id="Anthropic 429 carries its retry-after",
        ),
        pytest.param(
            "anthropic",
            529,
            {"retry-after": "4"},
            anthropic_error("overloaded_error", "Overloaded"),
            4.0,
            id="Anthropic 529 uses retry-after when present",
        ),
        pytest.param(
            "anthropic",
            429,
            {
                "anthropic-ratelimit-requests-remaining": "0",
                "anthropic-ratelimit-requests-reset": "2025-08-21T12:40:20Z",
            },
            anthropic_error("rate_limit_error", "slow"),
            20.0,
            id="Anthropic 429 without retry-after falls back to reset timestamps",
        ),
        pytest.param(
            "anthropic",
            429,
            {},
            anthropic_error("rate_limit_error", "cap", error_code="enforced_spend_limit_reached"),
            None,
            id="Anthropic spend cap has no retry hint",
        ),
        pytest.param(
            "gemini",
            429,
            {},
            gemini_429("GenerateRequestsPerMinutePerProjectPerModel-FreeTier"),
            35.0,
            id="Gemini 429 retryDelay",
        ),
        pytest.param(
            "openai",
            429,
            {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"},
            openai_error("Rate limit reached for tokens", "tokens", "rate_limit_exceeded"),
            360.0,
            id="OpenAI 429 reset duration",
        ),
        pytest.param(
            "openai",
            500,
            {"x-ratelimit-reset-tokens": "6m0s"},
            None,
            None,
            id="reset headers mean nothing on a server_error",
        ),
        pytest.param(
            "openrouter",
            402,
            {"retry-after": "3"},
            openrouter_error(402, "busy", limit_source="openrouter_in_flight_budget"),
            3.0,
            id="OpenRouter in-flight budget retry-after",
        ),
    ],
)
def test_retry_hints_ride_on_the_classification(
    vendor: str, status: int, headers: dict[str, str], body: Any, retry_after_s: float | None
) -> None:
    assert classify_status(status, headers, body, vendor, now=NOW).retry_after_s == retry_after_s


@pytest.mark.parametrize(
    ("status", "body", "outcome", "error_type"),
    [
        pytest.param(
            502,
            b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
            Outcome.SERVER_ERROR,
            "http_502",
            id="an HTML 502 page from a proxy is server_error",
        ),
        pytest.param(
            503,
            b"\xff\xfe\x00garbage\x80",
            Outcome.SERVER_ERROR,
            "http_503",
            id="non-UTF-8 garbage never raises",
        ),
        pytest.param(
            429,
            b'{"error": {"message": "x"' + b" " * 70_000 + b"}}",
            Outcome.RATE_LIMITED,
            "http_429",
            id="a huge body is not parsed",
        ),
        pytest.param(
            400,
            b"[" * 50_000,
            Outcome.CLIENT_ERROR,
            "http_400",
            id="deeply nested JSON never raises",
        ),
        pytest.param(
            401, b'"just a string"', Outcome.AUTH_ERROR, "http_401", id="JSON that is not an object"
        ),
        pytest.param(
            500,
            b'{"error": 42}',
            Outcome.SERVER_ERROR,
            "http_500",
            id="an error that is not an object",
        ),
        pytest.param(
            500,
            b'{"error": {"message": null, "type": 7, "code": true}}',
            Outcome.SERVER_ERROR,
            "http_500",
            id="fields of the wrong type",
        ),
    ],
)
def test_garbage_bodies_never_raise(
    status: int, body: bytes, outcome: Outcome, error_type: str
) -> None:
    got = classify_error_response(status, {}, body)
    assert (got.outcome, got.error_type) == (outcome, error_type)
    assert len(got.detail) <= 200


def test_an_html_page_is_summarised_by_its_title() -> None:
    got = classify_error_response(
        502, {}, b"<html><title>502 Bad Gateway</title><body>" + b"x" * 5000 + b"</body></html>"
    )
    assert got.detail == "HTTP 502 http_502: 502 Bad Gateway"


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-abcdefghijklmnop1234",
        "header Authorization: Bearer sk-live-abcdefgh was rejected",
        "GET https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyA1234567890abcdefghijklmnop failed",
        "x-api-key: sk-ant-api03-abcdefghijkl invalid",
        "Groq key gsk_abcdefghijklmnopqrstuvwx invalid",
        "x-goog-api-key=AIzaSyA1234567890abcdefghijklmnop",
    ],
)
def test_details_never_carry_keys(text: str) -> None:
    for secret in ("abcdefghijklmnop", "sk-live-abcdefgh", "abcdefghijkl", "gsk_abcdef"):
        assert secret not in scrub(text)
    got = classify_status(401, {}, {"error": {"message": text, "type": "invalid_request_error"}})
    assert "abcdefgh" not in got.detail


INBAND: list[Any] = [
    pytest.param(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        Outcome.SERVER_ERROR,
        "overloaded_error",
        id="in-band overloaded_error is server_error",
    ),
    pytest.param(
        {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
        Outcome.RATE_LIMITED,
        "rate_limit_error",
        id="in-band rate_limit_error is rate_limited",
    ),
    pytest.param(
        {"type": "error", "error": {"type": "api_error", "message": "boom"}},
        Outcome.SERVER_ERROR,
        "api_error",
        id="in-band api_error is server_error",
    ),
    pytest.param(
        {"type": "error", "error": {"type": "invalid_request_error", "message": "?"}},
        Outcome.BAD_RESPONSE,
        "invalid_request_error",
        id="an in-band client-ish error after 200 is bad_response",
    ),
    pytest.param(
        {
            "error": {
                "code": 429,
                "message": "Rate limit exceeded",
                "metadata": {"error_type": "rate_limit_exceeded", "provider_code": "x"},
            }
        },
        Outcome.RATE_LIMITED,
        "rate_limit_exceeded",
        id="OpenRouter in-band 429 is rate_limited",
    ),
    pytest.param(
        {
            "error": {
                "code": 502,
                "message": "Provider returned error",
                "metadata": {"error_type": "provider_unavailable"},
            }
        },
        Outcome.SERVER_ERROR,
        "provider_unavailable",
        id="OpenRouter in-band 502 is server_error",
    ),
    pytest.param(
        {"error": {"message": "An error occurred during streaming"}},
        Outcome.BAD_RESPONSE,
        "inband_error",
        id="an unrecognised in-band error is bad_response",
    ),
    pytest.param(
        {"error": {"code": 503, "status": "UNAVAILABLE", "message": "overloaded"}},
        Outcome.SERVER_ERROR,
        "unavailable",
        id="Gemini in-band UNAVAILABLE is server_error",
    ),
    pytest.param(
        None, Outcome.BAD_RESPONSE, "inband_error", id="an unreadable error event is bad_response"
    ),
]


@pytest.mark.parametrize(("doc", "outcome", "error_type"), INBAND)
def test_errors_inside_a_200(doc: Any, outcome: Outcome, error_type: str) -> None:
    got = classify_inband_error(doc, {})
    assert (got.outcome, got.error_type, got.status) == (outcome, error_type, 200)


EXCEPTIONS: list[Any] = [
    pytest.param(httpx.ConnectTimeout("t"), False, Outcome.TIMEOUT, id="ConnectTimeout is timeout"),
    pytest.param(
        httpx.ReadTimeout("t"), True, Outcome.TIMEOUT, id="ReadTimeout mid-stream is timeout"
    ),
    pytest.param(httpx.WriteTimeout("t"), False, Outcome.TIMEOUT, id="WriteTimeout is timeout"),
    pytest.param(
        TimeoutError(), False, Outcome.TIMEOUT, id="the probe deadline (asyncio.timeout) is timeout"
    ),
    pytest.param(
        httpx.PoolTimeout("t"),
        False,
        Outcome.CLIENT_ERROR,
        id="PoolTimeout is our own saturation not the provider's",
    ),
    pytest.param(
        httpx.ConnectError("[Errno 111] Connection refused"),
        False,
        Outcome.CONNECT_ERROR,
        id="refused is connect_error",
    ),
    pytest.param(
        httpx.ConnectError("[Errno -2] Name or service not known"),
        False,
        Outcome.CONNECT_ERROR,
        id="DNS failure is connect_error",
    ),
    pytest.param(
        httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"),
        False,
        Outcome.CONNECT_ERROR,
        id="TLS failure is connect_error",
    ),
    pytest.param(
        ssl.SSLError("bad handshake"),
        False,
        Outcome.CONNECT_ERROR,
        id="raw SSLError is connect_error",
    ),
    pytest.param(
        httpx.ProxyError("proxy"), False, Outcome.CONNECT_ERROR, id="ProxyError is connect_error"
    ),
    pytest.param(
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        False,
        Outcome.CONNECT_ERROR,
        id="reset before the response is connect_error",
    ),
    pytest.param(
        httpx.RemoteProtocolError("peer closed connection"),
        True,
        Outcome.BAD_RESPONSE,
        id="reset after headers is bad_response",
    ),
    pytest.param(
        httpx.ReadError("reset"),
        False,
        Outcome.CONNECT_ERROR,
        id="ReadError before headers is connect_error",
    ),
    pytest.param(
        httpx.ReadError("reset"),
        True,
        Outcome.BAD_RESPONSE,
        id="ReadError after headers is bad_response",
    ),
    pytest.param(
        ConnectionResetError(104, "reset"),
        False,
        Outcome.CONNECT_ERROR,
        id="a raw OSError before headers is connect_error",
    ),
    pytest.param(
        httpx.DecodingError("bad gzip"),
        True,
        Outcome.BAD_RESPONSE,
        id="a broken content-encoding is bad_response",
    ),
    pytest.param(
        httpx.TooManyRedirects("loop"),
        False,
        Outcome.BAD_RESPONSE,
        id="a redirect loop is bad_response",
    ),
    pytest.param(
        SSEProtocolError("line too long"),
        True,
        Outcome.BAD_RESPONSE,
        id="a runaway SSE line is bad_response",
    ),
    pytest.param(
        httpx.UnsupportedProtocol("no scheme"),
        False,
        Outcome.CLIENT_ERROR,
        id="a bad URL in our config is client_error",
    ),
    pytest.param(
        httpx.LocalProtocolError("bad header"),
        False,
        Outcome.CLIENT_ERROR,
        id="our malformed request is client_error",
    ),
    pytest.param(
        ValueError("bug"), False, Outcome.CLIENT_ERROR, id="our own bug never blames the provider"
    ),
]


@pytest.mark.parametrize(("exc", "after_headers", "outcome"), EXCEPTIONS)
def test_exceptions_map_to_the_most_specific_class(
    exc: Exception, after_headers: bool, outcome: Outcome
) -> None:
    got = classify_exception(exc, after_headers=after_headers)
    assert (got.outcome, got.error_type, got.status) == (outcome, type(exc).__name__, None)


@pytest.mark.parametrize("exc", [asyncio.CancelledError(), KeyboardInterrupt()])
def test_cancellation_is_never_swallowed(exc: BaseException) -> None:
    with pytest.raises(type(exc)):
        classify_exception(exc)


def test_exception_details_are_scrubbed() -> None:
    got = classify_exception(
        httpx.InvalidURL("bad https://x.test/models?key=AIzaSyA1234567890abcdefghijklmnop")
    )
    assert "AIza" not in got.detail and "key=***" in got.detail


@pytest.mark.parametrize(
    ("body", "found"),
    [(b"", None), (b"   ", None), (b"\xff", None), (b"null", None), (b'{"a": 1}', {"a": 1})],
)
def test_parse_json_never_raises(body: bytes, found: object) -> None:
    assert parse_json(body) == found


def test_gemini_array_wrapped_errors_are_read() -> None:
    info = error_info([API_KEY_INVALID])
    assert info is not None and "api_key_invalid" in info.tokens
