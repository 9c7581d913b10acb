"""The OpenAI-compatible flavour: OpenAI, Mistral, DeepSeek, Together, Fireworks, Groq, OpenRouter."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from routeguard.outcomes import Outcome
from routeguard.providers import OPENAI, Endpoint, ProbeRequest, StreamResult
from routeguard.providers.openai import reasoning_effort
from routeguard.providers.sse import SSEParser


def vendor_endpoint(vendor: str = "") -> Endpoint:
    """The provider a codec is asked about, with `vendor`'s quirks."""
    return Endpoint("p", "https://p.test/v1", vendor=vendor)


KEY = "sk-test-abcdefghijklmnopqrstuvwxyz"
BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "mistral": "https://api.mistral.ai/v1",
    "deepseek": "https://api.deepseek.com",
    "together": "https://api.together.xyz/v1",
    "fireworks": "https://api.fireworks.ai/inference/v1",
    "groq": "https://api.groq.com/openai/v1/",
    "openrouter": "https://openrouter.ai/api/v1",
    "": "http://10.0.0.5:8000/v1",
}


def endpoint(vendor: str = "openai") -> Endpoint:
    return Endpoint(
        vendor or "local", BASE_URLS[vendor], {"Authorization": f"Bearer {KEY}"}, vendor
    )


async def sent(probe: ProbeRequest) -> httpx.Request:
    """The request as it leaves an httpx client (MockTransport, no sockets)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await client.send(probe.build(client), stream=probe.stream)
    return seen[0]


@pytest.mark.parametrize(
    ("vendor", "url"),
    [
        ("openai", "https://api.openai.com/v1/models"),
        ("deepseek", "https://api.deepseek.com/models"),
        ("groq", "https://api.groq.com/openai/v1/models"),
        ("fireworks", "https://api.fireworks.ai/inference/v1/models"),
        ("openrouter", "https://openrouter.ai/api/v1/models"),
    ],
)
async def test_liveness_lists_models_without_spending_tokens(vendor: str, url: str) -> None:
    request = await sent(OPENAI.liveness_request(endpoint(vendor)))
    assert (request.method, str(request.url), request.content) == ("GET", url, b"")
    assert request.headers["authorization"] == f"Bearer {KEY}"


COMPLETIONS: list[Any] = [
    pytest.param("openai", "gpt-4o-mini", {"max_tokens": 1}, id="a chat model gets max_tokens 1"),
    pytest.param(
        "openai",
        "o3",
        {"max_completion_tokens": 16, "reasoning_effort": "low"},
        id="o3 gets max_completion_tokens",
    ),
    pytest.param(
        "openai",
        "o4-mini-2025-04-16",
        {"max_completion_tokens": 16, "reasoning_effort": "low"},
        id="o4-mini gets max_completion_tokens",
    ),
    pytest.param(
        "openai",
        "o1-mini",
        {"max_completion_tokens": 16},
        id="o1-mini gets no reasoning_effort it would reject",
    ),
    pytest.param(
        "openai",
        "gpt-5-mini",
        {"max_completion_tokens": 16, "reasoning_effort": "minimal"},
        id="gpt-5-mini gets minimal effort",
    ),
    pytest.param(
        "openai",
        "gpt-5.1",
        {"max_completion_tokens": 16, "reasoning_effort": "low"},
        id="gpt-5.1 rejects minimal so gets low",
    ),
    pytest.param(
        "openai",
        "gpt-5-pro",
        {"max_completion_tokens": 16},
        id="gpt-5-pro takes only high so gets none",
    ),
    pytest.param(
        "",
        "openai/o3-mini",
        {"max_completion_tokens": 16, "reasoning_effort": "low"},
        id="a prefixed o-series id on a custom server",
    ),
    pytest.param(
        "openrouter",
        "openai/o3",
        {"max_tokens": 16},
        id="OpenRouter normalises max_tokens for reasoning models",
    ),
    pytest.param(
        "groq", "openai/gpt-oss-120b", {"max_tokens": 1}, id="gpt-oss is not an o-series model"
    ),
    pytest.param(
        "mistral", "mistral-small-latest", {"max_tokens": 1}, id="Mistral gets max_tokens 1"
    ),
]


@pytest.mark.parametrize(("vendor", "model", "budget"), COMPLETIONS)
async def test_completion_probe_body(vendor: str, model: str, budget: dict[str, Any]) -> None:
    request = await sent(OPENAI.completion_request(endpoint(vendor), model))
    body = json.loads(request.content)
    assert str(request.url).endswith("/chat/completions") and request.method == "POST"
    assert body == {"model": model, "messages": [{"role": "user", "content": "ping"}], **budget}
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("vendor", "model", "extra"),
    [
        pytest.param(
            "openai",
            "gpt-4o-mini",
            {"max_tokens": 16, "stream_options": {"include_usage": True}},
            id="OpenAI-compatible streams ask for usage",
        ),
        pytest.param(
            "mistral",
            "mistral-small-latest",
            {"max_tokens": 16},
            id="Mistral rejects stream_options so gets none",
        ),
        pytest.param(
            "openai",
            "o3",
            {
                "max_completion_tokens": 64,
                "reasoning_effort": "low",
                "stream_options": {"include_usage": True},
            },
            id="a reasoning stream has room to reach content",
        ),
    ],
)
async def test_stream_probe_body(vendor: str, model: str, extra: dict[str, Any]) -> None:
    probe = OPENAI.stream_request(endpoint(vendor), model)
    request = await sent(probe)
    body = json.loads(request.content)
    assert probe.stream and body.pop("stream") is True
    assert body == {"model": model, "messages": [{"role": "user", "content": "ping"}], **extra}
    assert request.headers["accept"] == "text/event-stream"


def test_keys_never_show_in_reprs() -> None:
    ep = endpoint()
    assert KEY not in repr(ep) and KEY not in repr(OPENAI.completion_request(ep, "gpt-4o-mini"))


@pytest.mark.parametrize(
    ("model", "effort"),
    [("gpt-5-codex", "low"), ("gpt-5-chat-latest", None), ("gpt-4.1", None), ("o1-preview", None)],
)
def test_reasoning_effort_per_model(model: str, effort: str | None) -> None:
    assert reasoning_effort(model) == effort


def chat(content: str | None = "pong", finish: str = "length", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9},
        **extra,
    }


def as_bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode()


RESPONSES: list[Any] = [
    pytest.param(
        "openai",
        "liveness",
        200,
        as_bytes(
            {
                "object": "list",
                "data": [
                    {"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "system"}
                ],
            }
        ),
        Outcome.OK,
        "",
        id="OpenAI model list is healthy",
    ),
    pytest.param(
        "together",
        "liveness",
        200,
        as_bytes(
            [
                {
                    "id": "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo",
                    "object": "model",
                    "type": "chat",
                }
            ]
        ),
        Outcome.OK,
        "",
        id="Together's bare-array model list is a healthy liveness answer",
    ),
    pytest.param(
        "",
        "liveness",
        200,
        as_bytes([{"id": "llama"}]),
        Outcome.OK,
        "",
        id="a custom server may copy the bare array",
    ),
    pytest.param(
        "openai",
        "liveness",
        200,
        as_bytes([{"id": "gpt-4o"}]),
        Outcome.BAD_RESPONSE,
        "unexpected_shape",
        id="a bare array from OpenAI itself is malformed",
    ),
    pytest.param(
        "openai",
        "liveness",
        200,
        as_bytes({"object": "list"}),
        Outcome.BAD_RESPONSE,
        "unexpected_shape",
        id="a list without data is malformed",
    ),
    pytest.param(
        "fireworks",
        "liveness",
        500,
        b'{"error":"internal"}',
        Outcome.CLIENT_ERROR,
        "models_endpoint_unreliable",
        id="a Fireworks models 500 does not open every Fireworks route",
    ),
    pytest.param(
        "fireworks",
        "completion",
        500,
        b"",
        Outcome.SERVER_ERROR,
        "http_500",
        id="a Fireworks completion 500 is still a server_error",
    ),
    pytest.param(
        "openai",
        "completion",
        200,
        as_bytes(chat()),
        Outcome.OK,
        "",
        id="a one-token completion is healthy",
    ),
    pytest.param(
        "openai",
        "completion",
        200,
        as_bytes(chat(content="", finish="length")),
        Outcome.OK,
        "",
        id="a reasoning model's empty answer within budget is still ok",
    ),
    pytest.param(
        "openai",
        "completion",
        200,
        as_bytes(chat(content=None, finish="stop")),
        Outcome.OK,
        "",
        id="null content (refusal or tool call) is well-formed",
    ),
    pytest.param(
        "deepseek",
        "completion",
        200,
        b"\n\n\n\n" + as_bytes(chat()),
        Outcome.OK,
        "",
        id="DeepSeek blank-line keep-alives before a queued JSON answer are ok",
    ),
    pytest.param(
        "openai",
        "completion",
        200,
        b"",
        Outcome.BAD_RESPONSE,
        "empty_body",
        id="an empty 200 is bad_response",
    ),
    pytest.param(
        "deepseek",
        "completion",
        200,
        b"\n\n\n",
        Outcome.BAD_RESPONSE,
        "empty_body",
        id="only keep-alive blank lines is an empty body",
    ),
    pytest.param(
        "openai",
        "completion",
        200,
        b"<html>oops</html>",
        Outcome.BAD_RESPONSE,
        "malformed_body",
        id="an HTML 200 is bad_response",
    ),
    pytest.param(
        "openai",
        "completion",
        200,
        b'{"choices": [',
        Outcome.BAD_RESPONSE,
        "malformed_body",
        id="truncated JSON is bad_response",
    ),
    pytest.param(
        "openai",
        "completion",
        200,
        as_bytes({"choices": []}),
        Outcome.BAD_RESPONSE,
        "unexpected_shape",
        id="no choices is bad_response",
    ),
    pytest.param(
        "openai",
        "completion",
        200,
        as_bytes({"choices": [{"message": "pong"}]}),
        Outcome.BAD_RESPONSE,
        "unexpected_shape",
        id="a message that is not an object is bad_response",
    ),
    pytest.param(
        "openrouter",
        "completion",
        200,
        as_bytes(chat(finish="error")),
        Outcome.BAD_RESPONSE,
        "finish_reason_error",
        id="OpenRouter finish_reason error in a 200 is not ok",
    ),
    pytest.param(
        "openrouter",
        "completion",
        200,
        as_bytes(
            {
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "error",
                        "error": {
                            "code": 502,
                            "message": "Provider returned error",
                            "metadata": {"error_type": "provider_unavailable"},
                        },
                    }
                ]
            }
        ),
        Outcome.SERVER_ERROR,
        "provider_unavailable",
        id="OpenRouter upstream failure inside choices of a 200 is server_error",
    ),
    pytest.param(
        "openrouter",
        "completion",
        200,
        as_bytes(
            {
                "error": {
                    "code": 429,
                    "message": "Rate limit exceeded",
                    "metadata": {"error_type": "rate_limit_exceeded"},
                }
            }
        ),
        Outcome.RATE_LIMITED,
        "rate_limit_exceeded",
        id="OpenRouter error envelope with status 200 is classified by its code",
    ),
    pytest.param(
        "openai",
        "completion",
        429,
        as_bytes(
            {
                "error": {
                    "message": "quota",
                    "type": "insufficient_quota",
                    "param": None,
                    "code": "insufficient_quota",
                }
            }
        ),
        Outcome.QUOTA_EXHAUSTED,
        "insufficient_quota",
        id="OpenAI 429 insufficient_quota through the flavour",
    ),
    pytest.param(
        "groq",
        "completion",
        498,
        as_bytes({"error": {"message": "capacity", "type": "capacity_exceeded"}}),
        Outcome.SERVER_ERROR,
        "capacity_exceeded",
        id="Groq 498 through the flavour",
    ),
    pytest.param(
        "openrouter",
        "completion",
        408,
        b"",
        Outcome.TIMEOUT,
        "http_408",
        id="OpenRouter 408 through the flavour",
    ),
]


@pytest.mark.parametrize(("vendor", "tier", "status", "body", "outcome", "error_type"), RESPONSES)
def test_classify_response(
    vendor: str, tier: Any, status: int, body: bytes, outcome: Outcome, error_type: str
) -> None:
    got = OPENAI.classify_response(vendor_endpoint(vendor), status, {}, body, tier=tier)
    assert (got.outcome, got.error_type, got.status) == (outcome, error_type, status)


def test_usage_is_reported_on_a_completion() -> None:
    got = OPENAI.classify_response(
        vendor_endpoint("openai"), 200, {}, as_bytes(chat()), tier="completion"
    )
    assert (got.input_tokens, got.output_tokens) == (8, 1)


def run(text: str, vendor: str = "openai", *, clean: bool = True) -> StreamResult:
    """Feed an SSE transcript; the n-th parsed item (comments included) arrives at t = n."""
    parser = SSEParser()
    interpreter = OPENAI.new_stream_interpreter(vendor_endpoint(vendor), started_s=0.0)
    events = parser.feed(text.encode()) + parser.close()
    for t, event in enumerate(events, start=1):
        interpreter.feed(event, float(t))
    return interpreter.finish(float(len(events) + 1), connection_closed_cleanly=clean)


def chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> str:
    delta = {} if content is None else {"content": content}
    doc = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return f"data: {json.dumps(doc)}\n\n"


ROLE = 'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}\n\n'
USAGE = 'data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":3,"total_tokens":11}}\n\n'
DONE = "data: [DONE]\n\n"

STREAMS: list[Any] = [
    pytest.param(
        "openai",
        ROLE + chunk("po") + chunk("ng") + chunk(finish="stop") + USAGE + DONE,
        (Outcome.OK, "", 2.0, 3, True),
        id="an OpenAI stream with include_usage measures TTFT at the first content",
    ),
    pytest.param(
        "deepseek",
        ": keep-alive\n\n" * 3 + "\n\n\n" + ROLE + chunk("pong") + DONE,
        (Outcome.OK, "", 5.0, 1, True),
        id="a DeepSeek stream with keep-alive comments before data measures TTFT at the first content",
    ),
    pytest.param(
        "openrouter",
        ": OPENROUTER PROCESSING\n\n" * 2
        + ROLE
        + chunk("hi")
        + chunk(finish="stop")
        + chunk(finish="stop", usage={"prompt_tokens": 8, "completion_tokens": 1})
        + DONE,
        (Outcome.OK, "", 4.0, 1, True),
        id="OpenRouter processing comments are not tokens and its usage chunk keeps one choice",
    ),
    pytest.param(
        "groq",
        ROLE
        + chunk("hi")
        + chunk(finish="stop", x_groq={"usage": {"prompt_tokens": 8, "completion_tokens": 2}})
        + DONE,
        (Outcome.OK, "", 2.0, 2, True),
        id="Groq usage in x_groq on the final chunk",
    ),
    pytest.param(
        "mistral",
        ROLE
        + chunk("hi")
        + chunk(finish="stop", usage={"prompt_tokens": 5, "completion_tokens": 1})
        + DONE,
        (Outcome.OK, "", 2.0, 1, True),
        id="Mistral sends usage without stream_options",
    ),
    pytest.param(
        "openai",
        ROLE + chunk("po") + chunk("ng"),
        (Outcome.BAD_RESPONSE, "stream_incomplete", 2.0, 2, False),
        id="a stream that ends without data DONE is bad_response",
    ),
    pytest.param(
        "openai",
        DONE,
        (Outcome.BAD_RESPONSE, "empty_stream", None, 0, True),
        id="DONE before any chunk is bad_response",
    ),
    pytest.param(
        "openai",
        "",
        (Outcome.BAD_RESPONSE, "stream_incomplete", None, 0, False),
        id="an empty stream is bad_response",
    ),
    pytest.param(
        "openrouter",
        'data: {"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"openai/gpt-4o","provider":"OpenAI","error":{"code":429,"message":"Rate limit exceeded","metadata":{"error_type":"rate_limit_exceeded","provider_code":"x"}},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n'
        + DONE,
        (Outcome.RATE_LIMITED, "rate_limit_exceeded", None, 0, False),
        id="an OpenRouter error chunk as the first and only event is not ok",
    ),
    pytest.param(
        "openai",
        ROLE
        + chunk("po")
        + 'data: {"error":{"message":"An error occurred during streaming","type":"server_error"}}\n\n',
        (Outcome.SERVER_ERROR, "server_error", 2.0, 1, False),
        id="an OpenAI error object in a data line after 200 is not ok",
    ),
    pytest.param(
        "",
        ROLE + 'data: {"error":{"message":"boom"}}\n\n' + DONE,
        (Outcome.BAD_RESPONSE, "inband_error", None, 0, False),
        id="an unrecognised error in a data line is bad_response",
    ),
    pytest.param(
        "",
        ROLE + 'event: error\ndata: {"message": "engine died"}\n\n',
        (Outcome.BAD_RESPONSE, "inband_error", None, 0, False),
        id="a named error event is not ok",
    ),
    pytest.param(
        "openai",
        ROLE + "data: {not json\n\n" + DONE,
        (Outcome.BAD_RESPONSE, "malformed_chunk", None, 0, False),
        id="a malformed chunk is bad_response",
    ),
    pytest.param(
        "openrouter",
        ROLE + chunk("a") + chunk(finish="error") + DONE,
        (Outcome.BAD_RESPONSE, "finish_reason_error", 2.0, 1, False),
        id="finish_reason error mid-stream is bad_response",
    ),
    pytest.param(
        "openai",
        ROLE + chunk("a") + DONE + chunk("late"),
        (Outcome.OK, "", 2.0, 1, True),
        id="chunks after DONE are ignored",
    ),
]


@pytest.mark.parametrize(("vendor", "text", "expected"), STREAMS)
def test_streams(
    vendor: str, text: str, expected: tuple[Outcome, str, float | None, int, bool]
) -> None:
    result = run(text, vendor)
    assert (
        result.outcome,
        result.classified.error_type,
        result.ttft_s,
        result.tokens_out,
        result.terminated,
    ) == expected


def test_a_cut_stream_says_so() -> None:
    result = run(ROLE + chunk("po"), clean=False)
    assert result.outcome is Outcome.BAD_RESPONSE and "connection cut" in result.classified.detail


def test_a_stream_reports_usage_timings_and_generation_time() -> None:
    result = run(ROLE + chunk("po") + chunk("ng") + USAGE + DONE)
    assert (result.classified.input_tokens, result.classified.output_tokens) == (8, 3)
    assert (result.ttft_s, result.generation_s, result.duration_s) == (2.0, 1.0, 6.0)


def test_the_interpreter_says_when_the_runner_may_stop_reading() -> None:
    interpreter = OPENAI.new_stream_interpreter(vendor_endpoint(), started_s=10.0)
    parser = SSEParser()
    for event in parser.feed((ROLE + chunk("x")).encode()):
        interpreter.feed(event, 10.5)
    assert (interpreter.done, interpreter.ttft_s) == (False, 0.5)
    for event in parser.feed(DONE.encode()):
        interpreter.feed(event, 11.0)
    assert interpreter.done
