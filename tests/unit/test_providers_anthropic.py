"""The Anthropic Messages flavour."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from routeguard.outcomes import Outcome
from routeguard.providers import ANTHROPIC, Endpoint, ProbeRequest, StreamResult
from routeguard.providers.sse import SSEParser


def vendor_endpoint(vendor: str = "") -> Endpoint:
    """The provider a codec is asked about, with `vendor`'s quirks."""
    return Endpoint("p", "https://p.test/v1", vendor=vendor)


KEY = "sk-ant-api03-abcdefghijklmnop"


def endpoint(**headers: str) -> Endpoint:
    return Endpoint(
        "anthropic", "https://api.anthropic.com/v1", {"x-api-key": KEY, **headers}, "anthropic"
    )


async def sent(probe: ProbeRequest) -> httpx.Request:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await client.send(probe.build(client), stream=probe.stream)
    return seen[0]


async def test_liveness_lists_one_model() -> None:
    request = await sent(ANTHROPIC.liveness_request(endpoint()))
    assert (request.method, str(request.url)) == (
        "GET",
        "https://api.anthropic.com/v1/models?limit=1",
    )
    assert (request.headers["x-api-key"], request.headers["anthropic-version"]) == (
        KEY,
        "2023-06-01",
    )


async def test_completion_probe_is_max_tokens_1() -> None:
    request = await sent(ANTHROPIC.completion_request(endpoint(), "claude-haiku-4-5"))
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert json.loads(request.content) == {
        "model": "claude-haiku-4-5",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "ping"}],
    }


async def test_stream_probe_streams_and_keeps_a_caller_version_header() -> None:
    probe = ANTHROPIC.stream_request(
        endpoint(**{"Anthropic-Version": "2099-01-01"}), "claude-haiku-4-5"
    )
    request = await sent(probe)
    body = json.loads(request.content)
    assert probe.stream and (body["stream"], body["max_tokens"]) == (True, 16)
    assert request.headers.get_list("anthropic-version") == ["2099-01-01"]
    assert request.headers["accept"] == "text/event-stream"


MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "Hi"}],
    "stop_reason": "max_tokens",
    "stop_sequence": None,
    "usage": {"input_tokens": 8, "output_tokens": 1, "cache_read_input_tokens": 2},
}


def as_bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode()


RESPONSES: list[Any] = [
    pytest.param(
        "completion",
        200,
        as_bytes(MESSAGE),
        Outcome.OK,
        "",
        id="max_tokens 1 stop_reason max_tokens is healthy",
    ),
    pytest.param(
        "completion",
        200,
        as_bytes({**MESSAGE, "content": []}),
        Outcome.OK,
        "",
        id="an empty content list is well-formed",
    ),
    pytest.param(
        "liveness",
        200,
        as_bytes(
            {
                "data": [{"id": "claude-haiku-4-5", "type": "model"}],
                "first_id": "a",
                "has_more": True,
                "last_id": "a",
            }
        ),
        Outcome.OK,
        "",
        id="model list is healthy",
    ),
    pytest.param(
        "liveness",
        200,
        as_bytes({"models": []}),
        Outcome.BAD_RESPONSE,
        "unexpected_shape",
        id="a model list without data is malformed",
    ),
    pytest.param(
        "completion",
        200,
        as_bytes({"type": "completion"}),
        Outcome.BAD_RESPONSE,
        "unexpected_shape",
        id="not a message is malformed",
    ),
    pytest.param(
        "completion",
        200,
        b"",
        Outcome.BAD_RESPONSE,
        "empty_body",
        id="an empty 200 is bad_response",
    ),
    pytest.param(
        "completion",
        200,
        as_bytes({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        Outcome.SERVER_ERROR,
        "overloaded_error",
        id="an overloaded error body behind a 200 is server_error",
    ),
    pytest.param(
        "completion",
        529,
        as_bytes({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        Outcome.SERVER_ERROR,
        "overloaded_error",
        id="a 529 from Anthropic is a server_error",
    ),
    pytest.param(
        "completion",
        429,
        as_bytes(
            {
                "type": "error",
                "error": {
                    "type": "rate_limit_error",
                    "message": "cap",
                    "details": {"error_code": "enforced_spend_limit_reached"},
                },
            }
        ),
        Outcome.QUOTA_EXHAUSTED,
        "enforced_spend_limit_reached",
        id="a spend-cap 429 is quota_exhausted",
    ),
]


@pytest.mark.parametrize(("tier", "status", "body", "outcome", "error_type"), RESPONSES)
def test_classify_response(
    tier: Any, status: int, body: bytes, outcome: Outcome, error_type: str
) -> None:
    got = ANTHROPIC.classify_response(vendor_endpoint("anthropic"), status, {}, body, tier=tier)
    assert (got.outcome, got.error_type, got.status) == (outcome, error_type, status)


def test_usage_counts_cache_reads_as_input() -> None:
    got = ANTHROPIC.classify_response(
        vendor_endpoint(), 200, {}, as_bytes(MESSAGE), tier="completion"
    )
    assert (got.input_tokens, got.output_tokens) == (10, 1)


def event(name: str, **data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"


START = event(
    "message_start",
    message={
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [],
        "usage": {"input_tokens": 8, "output_tokens": 1},
    },
)
BLOCK = event("content_block_start", index=0, content_block={"type": "text", "text": ""})
PING = event("ping")


def text(t: str) -> str:
    return event("content_block_delta", index=0, delta={"type": "text_delta", "text": t})


END = event("content_block_stop", index=0) + event(
    "message_delta", delta={"stop_reason": "max_tokens"}, usage={"output_tokens": 3}
)
STOP = event("message_stop")


def run(text_: str, *, clean: bool = True) -> StreamResult:
    parser = SSEParser()
    interpreter = ANTHROPIC.new_stream_interpreter(vendor_endpoint("anthropic"), started_s=0.0)
    events = parser.feed(text_.encode()) + parser.close()
    for t, ev in enumerate(events, start=1):
        interpreter.feed(ev, float(t))
    return interpreter.finish(float(len(events) + 1), connection_closed_cleanly=clean)


STREAMS: list[Any] = [
    pytest.param(
        START + PING + BLOCK + PING + text("Hi") + text("!") + END + STOP,
        (Outcome.OK, "", 5.0, 3, True),
        id="a complete stream with pings measures TTFT at the first text_delta",
    ),
    pytest.param(
        START
        + event("content_block_start", index=0, content_block={"type": "thinking", "thinking": ""})
        + event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "hmm"})
        + BLOCK
        + text("Hi")
        + END
        + STOP,
        (Outcome.OK, "", 5.0, 3, True),
        id="thinking deltas are not the first token",
    ),
    pytest.param(
        START + event("brand_new_event", x=1) + BLOCK + text("Hi") + END + STOP,
        (Outcome.OK, "", 4.0, 3, True),
        id="unknown event types are ignored",
    ),
    pytest.param(
        START
        + BLOCK
        + text("Hi")
        + 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
        (Outcome.SERVER_ERROR, "overloaded_error", 3.0, 1, False),
        id="an Anthropic error event after 200 is not ok",
    ),
    pytest.param(
        START
        + 'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}}\n\n',
        (Outcome.RATE_LIMITED, "rate_limit_error", None, 1, False),
        id="a rate_limit_error event after 200 is rate_limited",
    ),
    pytest.param(
        START
        + 'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"Internal"}}\n\n'
        + STOP,
        (Outcome.SERVER_ERROR, "api_error", None, 1, False),
        id="nothing after an error event can make the stream ok",
    ),
    pytest.param(
        START + BLOCK + text("Hi") + END,
        (Outcome.BAD_RESPONSE, "stream_incomplete", 3.0, 3, False),
        id="a stream without message_stop is bad_response",
    ),
    pytest.param(
        PING * 3,
        (Outcome.BAD_RESPONSE, "stream_incomplete", None, 0, False),
        id="pings alone are not an answer",
    ),
    pytest.param(
        STOP,
        (Outcome.BAD_RESPONSE, "unexpected_shape", None, 0, True),
        id="message_stop without message_start is malformed",
    ),
    pytest.param(
        START + "event: content_block_delta\ndata: {oops\n\n" + STOP,
        (Outcome.BAD_RESPONSE, "malformed_chunk", None, 1, False),
        id="a malformed event is bad_response",
    ),
    pytest.param(
        START.replace("event: message_start\n", "") + text("Hi") + STOP,
        (Outcome.OK, "", 2.0, 1, True),
        id="an unnamed event is read by its data type",
    ),
]


@pytest.mark.parametrize(("text_", "expected"), STREAMS)
def test_streams(text_: str, expected: tuple[Outcome, str, float | None, int, bool]) -> None:
    result = run(text_)
    assert (
        result.outcome,
        result.classified.error_type,
        result.ttft_s,
        result.tokens_out,
        result.terminated,
    ) == expected


def test_stream_usage_takes_input_from_message_start_and_output_from_message_delta() -> None:
    result = run(START + BLOCK + text("Hi") + END + STOP)
    assert (result.classified.input_tokens, result.classified.output_tokens) == (8, 3)
