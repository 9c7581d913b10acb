"""The Anthropic translator: chat.completions to Messages, and Messages answers back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from routeguard.providers import Endpoint, Flavour
from routeguard.translate import ANTHROPIC, DEFAULT_MAX_TOKENS, TRANSLATORS

from .translate_helpers import (
    CID,
    CREATED,
    PUBLIC,
    assert_openai_chunks,
    feed_only,
    outline,
    run_stream,
    sent,
    sse,
)

KEY = "sk-ant-api03-abcdefghijklmnop"
MODEL = "claude-haiku-4-5"
HI = [{"role": "user", "content": "hi"}]


def endpoint(**headers: str) -> Endpoint:
    return Endpoint(
        "anthropic", "https://api.anthropic.com/v1", {"x-api-key": KEY, **headers}, "anthropic"
    )


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": PUBLIC, "messages": HI, **fields}


def text(*texts: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": t} for t in texts]


USER_HI = [{"role": "user", "content": text("hi")}]

REQUESTS = [
    pytest.param(
        chat(),
        {"model": MODEL, "max_tokens": DEFAULT_MAX_TOKENS, "messages": USER_HI},
        id="no budget: the documented default",
    ),
    pytest.param(
        chat(
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hi"},
                {"role": "developer", "content": [{"type": "text", "text": "No lists."}]},
                {"role": "user", "content": [{"type": "text", "text": "there"}]},
                {"role": "assistant", "content": "Hello."},
                {"role": "assistant", "content": ""},
                {"role": "assistant", "content": "Again."},
                {"role": "user", "content": [{"type": "text", "text": ""}]},
                {"role": "user", "content": "Why?"},
            ]
        ),
        {
            "model": MODEL,
            "max_tokens": DEFAULT_MAX_TOKENS,
            "system": "Be brief.\n\nNo lists.",
            "messages": [
                {"role": "user", "content": text("hi", "there")},
                {"role": "assistant", "content": text("Hello.", "Again.")},
                {"role": "user", "content": text("Why?")},
            ],
        },
        id="system and developer joined, same roles merged, empty texts dropped",
    ),
    pytest.param(
        chat(max_tokens=12),
        {"model": MODEL, "max_tokens": 12, "messages": USER_HI},
        id="max_tokens",
    ),
    pytest.param(
        chat(max_tokens=12, max_completion_tokens=30),
        {"model": MODEL, "max_tokens": 30, "messages": USER_HI},
        id="max_completion_tokens wins",
    ),
    pytest.param(
        chat(max_tokens=5, temperature=1.7, stop="END"),
        {
            "model": MODEL,
            "max_tokens": 5,
            "messages": USER_HI,
            "temperature": 1.0,
            "stop_sequences": ["END"],
        },
        id="temperature clamped to 1, stop as stop_sequences",
    ),
    pytest.param(
        chat(max_tokens=5, temperature=0.3, top_p=0.5, stop=["a", "", "b"]),
        {
            "model": MODEL,
            "max_tokens": 5,
            "messages": USER_HI,
            "temperature": 0.3,
            "stop_sequences": ["a", "b"],
        },
        id="temperature and top_p: temperature only (4.5 models refuse both)",
    ),
    pytest.param(
        chat(max_tokens=5, top_p=0.5),
        {"model": MODEL, "max_tokens": 5, "messages": USER_HI, "top_p": 0.5},
        id="top_p alone",
    ),
    pytest.param(
        chat(
            max_tokens=5,
            stream=True,
            stream_options={"include_usage": True},
            seed=1,
            user="u",
            metadata={"k": "v"},
            n=1,
            response_format={"type": "text"},
            logprobs=False,
            models=["x"],
        ),
        {"model": MODEL, "max_tokens": 5, "messages": USER_HI, "stream": True},
        id="stream; OpenAI-only and proxy fields dropped",
    ),
]


@pytest.mark.parametrize(("body", "expected"), REQUESTS)
async def test_request_body(body: dict[str, Any], expected: dict[str, Any]) -> None:
    before = json.dumps(body)
    probe = ANTHROPIC.request(endpoint(), MODEL, body)
    request = await sent(probe)
    assert json.loads(request.content) == expected
    assert (request.method, str(request.url)) == ("POST", "https://api.anthropic.com/v1/messages")
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert probe.stream is (body.get("stream") is True)
    assert (request.headers.get("accept") == "text/event-stream") is probe.stream
    assert json.dumps(body) == before, "the caller's body must not change"


async def test_a_configured_anthropic_version_is_kept() -> None:
    request = await sent(
        ANTHROPIC.request(endpoint(**{"Anthropic-Version": "2099-01-01"}), MODEL, chat())
    )
    assert request.headers.get_list("anthropic-version") == ["2099-01-01"]


def test_it_is_the_registered_anthropic_translator() -> None:
    assert TRANSLATORS[Flavour.ANTHROPIC] is ANTHROPIC
    assert ANTHROPIC.flavour is Flavour.ANTHROPIC


def message(stop_reason: str | None = "end_turn", **extra: Any) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [
            {"type": "thinking", "thinking": "Let me think.", "signature": "sig"},
            {"type": "text", "text": "Hello"},
            {"type": "text", "text": " there"},
        ],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 2,
            "cache_read_input_tokens": 3,
            "output_tokens": 4,
        },
        **extra,
    }


def test_an_answer_in_openai_shape() -> None:
    doc = ANTHROPIC.answer(message(), model=PUBLIC, completion_id=CID, created=CREATED)
    assert doc == {
        "id": CID,
        "object": "chat.completion",
        "created": CREATED,
        "model": PUBLIC,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        # cache reads and writes are input, as Anthropic bills them
        "usage": {"prompt_tokens": 15, "completion_tokens": 4, "total_tokens": 19},
    }


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("tool_use", "tool_calls"),
        ("model_context_window_exceeded", "length"),
        ("something_new", "stop"),
        (None, "stop"),
    ],
)
def test_stop_reasons_map_to_finish_reasons(stop_reason: str | None, finish_reason: str) -> None:
    doc = ANTHROPIC.answer(message(stop_reason), model=PUBLIC, completion_id=CID, created=CREATED)
    assert doc["choices"][0]["finish_reason"] == finish_reason


def test_an_answer_without_usage_or_text() -> None:
    native = {**message("max_tokens"), "content": []}
    del native["usage"]
    doc = ANTHROPIC.answer(native, model=PUBLIC, completion_id=CID, created=CREATED)
    assert "usage" not in doc
    assert doc["choices"][0]["message"] == {"role": "assistant", "content": ""}
    assert doc["choices"][0]["finish_reason"] == "length"


def event(doc: dict[str, Any], named: bool = True) -> str:
    return sse(doc, event=doc["type"] if named else None)


def start(input_tokens: int = 25) -> dict[str, Any]:
    usage = {"input_tokens": input_tokens, "output_tokens": 1}
    return {"type": "message_start", "message": {**message(None), "content": [], "usage": usage}}


def delta(kind: str, **fields: str) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": 0, "delta": {"type": kind, **fields}}


def stream_events(stop_reason: str = "max_tokens", output_tokens: int = 5) -> list[dict[str, Any]]:
    return [
        start(),
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": ""},
        },
        delta("thinking_delta", thinking="Hmm."),
        delta("signature_delta", signature="sig"),
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        delta("text_delta", text="Pong!"),
        delta("text_delta", text=" This"),
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]


USAGE = {"prompt_tokens": 25, "completion_tokens": 5, "total_tokens": 30}
STEPS = [("role",), ("content", "Pong!"), ("content", " This"), ("finish", "length")]


@pytest.mark.parametrize("named", [True, False], ids=["named events", "unnamed (OpenRouter)"])
@pytest.mark.parametrize("include_usage", [True, False])
def test_a_stream_in_openai_order(named: bool, include_usage: bool) -> None:
    transcript = "".join(event(e, named) for e in stream_events())
    chunks = run_stream(
        ANTHROPIC.stream(
            model=PUBLIC, completion_id=CID, created=CREATED, include_usage=include_usage
        ),
        transcript,
    )
    assert outline(chunks) == ([*STEPS, ("usage", USAGE)] if include_usage else STEPS)
    assert_openai_chunks(chunks, include_usage=include_usage)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}


def test_the_finish_chunk_comes_with_message_delta_and_finish_owes_only_usage() -> None:
    chunks = ANTHROPIC.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=True)
    fed = feed_only(chunks, "".join(event(e) for e in stream_events("end_turn", 7)))
    assert outline(fed)[-1] == ("finish", "stop")
    usage = {"prompt_tokens": 25, "completion_tokens": 7, "total_tokens": 32}
    assert outline(chunks.finish()) == [("usage", usage)]
    assert chunks.finish() == []


def test_an_error_event_gives_nothing_and_finish_still_closes() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    transcript = "".join(event(e) for e in stream_events()[:8]) + sse(error, event="error")
    chunks = ANTHROPIC.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=False)
    out = run_stream(chunks, transcript)
    assert outline(out) == [("role",), ("content", "Pong!"), ("finish", "stop")]


def test_an_empty_answer_still_starts_with_the_role_chunk() -> None:
    events = [e for e in stream_events() if e.get("delta", {}).get("type") != "text_delta"]
    chunks = run_stream(
        ANTHROPIC.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=True),
        "".join(event(e) for e in events),
    )
    assert outline(chunks) == [("role",), ("finish", "length"), ("usage", USAGE)]


def test_keepalives_pings_and_message_start_give_nothing() -> None:
    chunks = ANTHROPIC.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=True)
    transcript = ": keep-alive\n\n" + event({"type": "ping"}) + event(start())
    assert feed_only(chunks, transcript) == []
