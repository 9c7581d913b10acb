"""The Gemini flavour."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from routeguard.outcomes import Outcome
from routeguard.providers import GEMINI, Endpoint, ProbeRequest, StreamResult
from routeguard.providers.sse import SSEParser


def vendor_endpoint(vendor: str = "") -> Endpoint:
    """The provider a codec is asked about, with `vendor`'s quirks."""
    return Endpoint("p", "https://p.test/v1", vendor=vendor)


KEY = "AIzaSyA1234567890abcdefghijklmnopqrs"
BASE = "https://generativelanguage.googleapis.com/v1beta"


def endpoint() -> Endpoint:
    return Endpoint("gemini", BASE, {"x-goog-api-key": KEY}, "gemini")


async def sent(probe: ProbeRequest) -> httpx.Request:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await client.send(probe.build(client), stream=probe.stream)
    return seen[0]


async def test_liveness_lists_one_model_and_keeps_the_key_out_of_the_url() -> None:
    request = await sent(GEMINI.liveness_request(endpoint()))
    assert (request.method, str(request.url)) == ("GET", f"{BASE}/models?pageSize=1")
    assert request.headers["x-goog-api-key"] == KEY and KEY not in str(request.url)


CONFIGS: list[Any] = [
    pytest.param(
        "gemini-2.5-flash",
        {"maxOutputTokens": 1, "thinkingConfig": {"thinkingBudget": 0}},
        id="2.5 Flash gets thinkingBudget 0",
    ),
    pytest.param(
        "gemini-2.5-flash-lite",
        {"maxOutputTokens": 1, "thinkingConfig": {"thinkingBudget": 0}},
        id="2.5 Flash-Lite gets thinkingBudget 0",
    ),
    pytest.param(
        "models/gemini-2.5-flash-preview-05-20",
        {"maxOutputTokens": 1, "thinkingConfig": {"thinkingBudget": 0}},
        id="a dated 2.5 Flash preview, models/ prefix",
    ),
    pytest.param(
        "gemini-2.5-pro",
        {"maxOutputTokens": 144, "thinkingConfig": {"thinkingBudget": 128}},
        id="2.5 Pro cannot stop thinking so gets the minimum budget and room",
    ),
    pytest.param(
        "gemini-2.0-flash", {"maxOutputTokens": 1}, id="a non-thinking model gets maxOutputTokens 1"
    ),
    pytest.param(
        "gemini-2.5-flash-image",
        {"maxOutputTokens": 1},
        id="an image variant gets no thinkingConfig",
    ),
]


@pytest.mark.parametrize(("model", "config"), CONFIGS)
async def test_completion_probe_body(model: str, config: dict[str, Any]) -> None:
    request = await sent(GEMINI.completion_request(endpoint(), model))
    name = model.removeprefix("models/")
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/models/{name}:generateContent")
    assert json.loads(request.content) == {
        "contents": [{"role": "user", "parts": [{"text": "ping"}]}],
        "generationConfig": config,
    }


async def test_stream_probe_uses_alt_sse() -> None:
    probe = GEMINI.stream_request(endpoint(), "gemini-2.5-flash")
    request = await sent(probe)
    assert (
        probe.stream
        and str(request.url) == f"{BASE}/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    config = json.loads(request.content)["generationConfig"]
    assert config == {"maxOutputTokens": 16, "thinkingConfig": {"thinkingBudget": 0}}


def candidate(
    text: str | None = "Hi", finish: str | None = "MAX_TOKENS", **extra: Any
) -> dict[str, Any]:
    content: dict[str, Any] = {"role": "model"}
    if text is not None:
        content["parts"] = [{"text": text}]
    found: dict[str, Any] = {"content": content, "index": 0, **extra}
    if finish:
        found["finishReason"] = finish
    return found


USAGE = {
    "promptTokenCount": 1,
    "candidatesTokenCount": 1,
    "thoughtsTokenCount": 120,
    "totalTokenCount": 122,
}


def answer(*candidates: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps(
        {
            "candidates": list(candidates),
            "usageMetadata": USAGE,
            "modelVersion": "gemini-2.5-pro",
            **extra,
        }
    ).encode()


API_KEY_INVALID = json.dumps(
    {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ],
        }
    }
).encode()

RESPONSES: list[Any] = [
    pytest.param(
        "completion", 200, answer(candidate()), Outcome.OK, "", id="a one-token answer is healthy"
    ),
    pytest.param(
        "completion",
        200,
        answer(candidate(text=None)),
        Outcome.OK,
        "",
        id="a 2.5 Pro answer with no text because thinking spent the budget is ok",
    ),
    pytest.param(
        "completion",
        200,
        answer(candidate(text="", finish="MAX_TOKENS")),
        Outcome.OK,
        "",
        id="empty text with MAX_TOKENS is ok",
    ),
    pytest.param(
        "completion",
        200,
        answer(candidate(finish="SAFETY")),
        Outcome.OK,
        "",
        id="a safety stop is still a well-formed answer",
    ),
    pytest.param(
        "completion",
        200,
        json.dumps({"promptFeedback": {"blockReason": "SAFETY"}}).encode(),
        Outcome.CLIENT_ERROR,
        "prompt_blocked",
        id="a blocked prompt is ours not the provider's",
    ),
    pytest.param(
        "completion",
        200,
        json.dumps({"candidates": []}).encode(),
        Outcome.BAD_RESPONSE,
        "unexpected_shape",
        id="no candidates is bad_response",
    ),
    pytest.param(
        "completion",
        200,
        json.dumps({"candidates": [{"index": 0}]}).encode(),
        Outcome.BAD_RESPONSE,
        "unexpected_shape",
        id="a candidate with neither content nor finishReason is bad_response",
    ),
    pytest.param(
        "completion",
        200,
        json.dumps(
            [
                {
                    "error": {
                        "code": 503,
                        "message": "The model is overloaded.",
                        "status": "UNAVAILABLE",
                    }
                }
            ]
        ).encode(),
        Outcome.SERVER_ERROR,
        "unavailable",
        id="an array-wrapped error behind a 200 is classified",
    ),
    pytest.param(
        "liveness",
        200,
        json.dumps(
            {"models": [{"name": "models/gemini-2.5-flash"}], "nextPageToken": "x"}
        ).encode(),
        Outcome.OK,
        "",
        id="a one-model page is healthy",
    ),
    pytest.param(
        "liveness",
        200,
        b"{}",
        Outcome.BAD_RESPONSE,
        "unexpected_shape",
        id="a model list without models is malformed",
    ),
    pytest.param(
        "completion",
        400,
        API_KEY_INVALID,
        Outcome.AUTH_ERROR,
        "api_key_invalid",
        id="Gemini 400 API_KEY_INVALID is auth_error",
    ),
    pytest.param(
        "completion",
        503,
        json.dumps(
            {
                "error": {
                    "code": 503,
                    "message": "The model is overloaded. Please try again later.",
                    "status": "UNAVAILABLE",
                }
            }
        ).encode(),
        Outcome.SERVER_ERROR,
        "unavailable",
        id="Gemini 503 UNAVAILABLE is server_error",
    ),
]


@pytest.mark.parametrize(("tier", "status", "body", "outcome", "error_type"), RESPONSES)
def test_classify_response(
    tier: Any, status: int, body: bytes, outcome: Outcome, error_type: str
) -> None:
    got = GEMINI.classify_response(vendor_endpoint("gemini"), status, {}, body, tier=tier)
    assert (got.outcome, got.error_type, got.status) == (outcome, error_type, status)


def test_usage_counts_thinking_as_output() -> None:
    got = GEMINI.classify_response(
        vendor_endpoint(), 200, {}, answer(candidate()), tier="completion"
    )
    assert (got.input_tokens, got.output_tokens) == (1, 121)


def test_a_per_day_429_carries_no_misleading_rate_class() -> None:
    body = json.dumps(
        {
            "error": {
                "code": 429,
                "status": "RESOURCE_EXHAUSTED",
                "message": "Please retry in 35.2s.",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [
                            {"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}
                        ],
                    },
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "35s"},
                ],
            }
        }
    ).encode()
    got = GEMINI.classify_response(vendor_endpoint("gemini"), 429, {}, body, tier="completion")
    assert (got.outcome, got.error_type) == (Outcome.QUOTA_EXHAUSTED, "per_day_quota")


def data(doc: Any) -> str:
    return f"data: {json.dumps(doc)}\r\n\r\n"


def chunk(
    text: str | None, finish: str | None = None, usage: bool = False, thought: bool = False
) -> str:
    parts = [] if text is None else [{"text": text, **({"thought": True} if thought else {})}]
    cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    doc: dict[str, Any] = {"candidates": [cand]}
    if usage:
        doc["usageMetadata"] = USAGE
    return data(doc)


def run(text: str, *, clean: bool = True) -> StreamResult:
    parser = SSEParser()
    interpreter = GEMINI.new_stream_interpreter(vendor_endpoint("gemini"), started_s=0.0)
    events = parser.feed(text.encode()) + parser.close()
    for t, ev in enumerate(events, start=1):
        interpreter.feed(ev, float(t))
    return interpreter.finish(float(len(events) + 1), connection_closed_cleanly=clean)


STREAMS: list[Any] = [
    pytest.param(
        chunk("Hel") + chunk("lo") + chunk("", "STOP", usage=True),
        True,
        (Outcome.OK, "", 1.0, 121, True),
        id="a stream that ends cleanly after finishReason is ok",
    ),
    pytest.param(
        chunk("Hel") + chunk("lo"),
        True,
        (Outcome.BAD_RESPONSE, "stream_incomplete", 1.0, 2, False),
        id="a Gemini stream that closes before finishReason is bad_response",
    ),
    pytest.param(
        chunk("Hel") + chunk("lo"),
        False,
        (Outcome.BAD_RESPONSE, "stream_incomplete", 1.0, 2, False),
        id="a Gemini stream cut before finishReason is bad_response",
    ),
    pytest.param(
        chunk("Hello", "STOP", usage=True),
        False,
        (Outcome.BAD_RESPONSE, "stream_incomplete", 1.0, 121, False),
        id="a cut after finishReason never saw its clean end",
    ),
    pytest.param(
        chunk("thinking…", thought=True) + chunk("Hi") + chunk(None, "STOP"),
        True,
        (Outcome.OK, "", 2.0, 1, True),
        id="thought parts are not the first token",
    ),
    pytest.param(
        chunk(None, "MAX_TOKENS", usage=True),
        True,
        (Outcome.OK, "", None, 121, True),
        id="a thinking model that spent its budget streams a healthy empty answer",
    ),
    pytest.param(
        chunk("Hi")
        + data({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}),
        True,
        (Outcome.SERVER_ERROR, "unavailable", 1.0, 1, False),
        id="an error object in the stream is not ok",
    ),
    pytest.param(
        data([{"error": {"code": 500, "message": "Internal", "status": "INTERNAL"}}]),
        True,
        (Outcome.SERVER_ERROR, "internal", None, 0, False),
        id="an array-wrapped error in the stream",
    ),
    pytest.param(
        "data: {broken\r\n\r\n" + chunk("Hi", "STOP"),
        True,
        (Outcome.BAD_RESPONSE, "malformed_chunk", None, 0, False),
        id="a malformed chunk is bad_response",
    ),
    pytest.param(
        "",
        True,
        (Outcome.BAD_RESPONSE, "stream_incomplete", None, 0, False),
        id="an empty stream is bad_response",
    ),
]


@pytest.mark.parametrize(("text", "clean", "expected"), STREAMS)
def test_streams(
    text: str, clean: bool, expected: tuple[Outcome, str, float | None, int, bool]
) -> None:
    result = run(text, clean=clean)
    assert (
        result.outcome,
        result.classified.error_type,
        result.ttft_s,
        result.tokens_out,
        result.terminated,
    ) == expected


def test_only_an_error_lets_the_runner_stop_reading_early() -> None:
    interpreter = GEMINI.new_stream_interpreter(vendor_endpoint())
    for ev in SSEParser().feed(chunk("Hi", "STOP").encode()):
        interpreter.feed(ev, 1.0)
    assert not interpreter.done  # the close is the terminator: keep reading to the end
