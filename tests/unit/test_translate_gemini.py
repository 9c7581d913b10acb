"""The Gemini translator: chat.completions to generateContent, and its answers back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from routeguard.providers import Endpoint, Flavour
from routeguard.translate import GEMINI, TRANSLATORS

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

KEY = "AIzaSyA-abcdefghijklmnopqrstuvwxyz0123"
BASE = "https://generativelanguage.googleapis.com/v1beta"
HI = [{"role": "user", "content": "hi"}]
USER_HI = [{"role": "user", "parts": [{"text": "hi"}]}]


def endpoint() -> Endpoint:
    return Endpoint("gemini", BASE, {"x-goog-api-key": KEY}, "gemini")


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": PUBLIC, "messages": HI, **fields}


REQUESTS = [
    pytest.param(
        "gemini-2.5-flash",
        chat(),
        {"contents": USER_HI},
        id="no budget: no generationConfig, thinking as the model defaults",
    ),
    pytest.param(
        "gemini-2.0-flash",
        chat(
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hi"},
                {"role": "user", "content": [{"type": "text", "text": "there"}]},
                {"role": "developer", "content": "No lists."},
                {"role": "assistant", "content": "Hello."},
                {"role": "assistant", "content": [{"type": "text", "text": ""}]},
                {"role": "user", "content": ""},
                {"role": "assistant", "content": "Again."},
                {"role": "user", "content": "Why?"},
            ]
        ),
        {
            "contents": [
                {"role": "user", "parts": [{"text": "hi"}, {"text": "there"}]},
                {"role": "model", "parts": [{"text": "Hello."}, {"text": "Again."}]},
                {"role": "user", "parts": [{"text": "Why?"}]},
            ],
            "systemInstruction": {"parts": [{"text": "Be brief.\n\nNo lists."}]},
        },
        id="assistant is model, same roles merged, system joined, empty texts dropped",
    ),
    pytest.param(
        "gemini-2.0-flash",
        chat(max_tokens=20, temperature=1.5, top_p=0.9, stop=["END", ""]),
        {
            "contents": USER_HI,
            "generationConfig": {
                "maxOutputTokens": 20,
                "temperature": 1.5,
                "topP": 0.9,
                "stopSequences": ["END"],
            },
        },
        id="a model that does not think: the budget as given; temperature kept (0..2)",
    ),
    pytest.param(
        "gemini-2.5-flash",
        chat(max_completion_tokens=20, max_tokens=5),
        {
            "contents": USER_HI,
            "generationConfig": {"maxOutputTokens": 20, "thinkingConfig": {"thinkingBudget": 0}},
        },
        id="2.5 Flash with a budget: thinking off so the answer fits",
    ),
    pytest.param(
        "models/gemini-2.5-flash-lite",
        chat(max_tokens=20, stop="x"),
        {
            "contents": USER_HI,
            "generationConfig": {
                "maxOutputTokens": 20,
                "thinkingConfig": {"thinkingBudget": 0},
                "stopSequences": ["x"],
            },
        },
        id="2.5 Flash-Lite likewise, behind a models/ prefix",
    ),
    pytest.param(
        "gemini-2.5-pro",
        chat(max_tokens=20),
        {
            "contents": USER_HI,
            "generationConfig": {
                "maxOutputTokens": 148,
                "thinkingConfig": {"thinkingBudget": 128},
            },
        },
        id="2.5 Pro cannot stop thinking: its minimum plus room for the answer",
    ),
    pytest.param(
        "gemini-2.5-flash-preview-tts",
        chat(max_tokens=20),
        {"contents": USER_HI, "generationConfig": {"maxOutputTokens": 20}},
        id="a tts variant takes no thinking config",
    ),
    pytest.param(
        "gemini-2.5-flash",
        chat(
            stream=True,
            stream_options={"include_usage": True},
            seed=1,
            user="u",
            n=1,
            logprobs=False,
            response_format={"type": "text"},
        ),
        {"contents": USER_HI},
        id="stream; OpenAI-only and proxy fields dropped",
    ),
]


@pytest.mark.parametrize(("model", "body", "expected"), REQUESTS)
async def test_request_body(model: str, body: dict[str, Any], expected: dict[str, Any]) -> None:
    before = json.dumps(body)
    probe = GEMINI.request(endpoint(), model, body)
    request = await sent(probe)
    assert json.loads(request.content) == expected
    name = model.removeprefix("models/")
    method = "streamGenerateContent?alt=sse" if probe.stream else "generateContent"
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/models/{name}:{method}")
    assert request.headers["x-goog-api-key"] == KEY and "key=" not in str(request.url)
    assert probe.stream is (body.get("stream") is True)
    assert (request.headers.get("accept") == "text/event-stream") is probe.stream
    assert json.dumps(body) == before, "the caller's body must not change"


def test_it_is_the_registered_gemini_translator() -> None:
    assert TRANSLATORS[Flavour.GEMINI] is GEMINI and GEMINI.flavour is Flavour.GEMINI


def answer(
    parts: list[dict[str, Any]] | None, finish: str | None = "STOP", **usage: int
) -> dict[str, Any]:
    content: dict[str, Any] = {"role": "model"}
    if parts is not None:
        content["parts"] = parts
    candidate: dict[str, Any] = {"content": content, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    meta = {"promptTokenCount": 9, "candidatesTokenCount": 2, **usage}
    return {"candidates": [candidate], "usageMetadata": meta, "modelVersion": "gemini-2.5-flash"}


def test_an_answer_in_openai_shape_without_thoughts() -> None:
    native = answer(
        [{"text": "Planning…", "thought": True}, {"text": "Hello"}, {"text": " there"}],
        thoughtsTokenCount=30,
    )
    doc = GEMINI.answer(native, model=PUBLIC, completion_id=CID, created=CREATED)
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
        # thinking is output, as Google bills it
        "usage": {"prompt_tokens": 9, "completion_tokens": 32, "total_tokens": 41},
    }


@pytest.mark.parametrize(
    ("reason", "finish_reason"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("OTHER", "stop"),
        (None, "stop"),
    ],
)
def test_finish_reasons_map(reason: str | None, finish_reason: str) -> None:
    doc = GEMINI.answer(
        answer([{"text": "x"}], reason), model=PUBLIC, completion_id=CID, created=CREATED
    )
    assert doc["choices"][0]["finish_reason"] == finish_reason


def test_thinking_that_spent_the_budget_is_an_empty_length_answer() -> None:
    native = answer(None, "MAX_TOKENS", thoughtsTokenCount=64)
    del native["usageMetadata"]["candidatesTokenCount"]
    doc = GEMINI.answer(native, model=PUBLIC, completion_id=CID, created=CREATED)
    assert doc["choices"][0]["message"]["content"] == ""
    assert doc["choices"][0]["finish_reason"] == "length"
    assert doc["usage"] == {"prompt_tokens": 9, "completion_tokens": 64, "total_tokens": 73}


def test_a_blocked_prompt_is_content_filter_and_an_array_is_unwrapped() -> None:
    native = [{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {}}]
    doc = GEMINI.answer(native, model=PUBLIC, completion_id=CID, created=CREATED)
    assert doc["choices"][0]["finish_reason"] == "content_filter"
    assert doc["choices"][0]["message"]["content"] == "" and "usage" not in doc


def frame(doc: Any) -> str:
    return sse(doc, end="\r\n\r\n")  # Google ends SSE events with CRLF pairs


def piece(text: str, finish: str | None = None, output: int = 1, **part: Any) -> dict[str, Any]:
    doc = answer([{"text": text, **part}], finish, candidatesTokenCount=output)
    doc["usageMetadata"]["thoughtsTokenCount"] = 20
    return doc


GEMINI_STREAM = "".join(
    frame(d)
    for d in (
        piece("Thinking it over", output=0, thought=True),
        piece("Pong!", output=1),
        piece(" This", output=2),
        piece(" is", "MAX_TOKENS", output=3),
    )
)
USAGE = {"prompt_tokens": 9, "completion_tokens": 23, "total_tokens": 32}
STEPS = [("role",), ("content", "Pong!"), ("content", " This"), ("content", " is")]


@pytest.mark.parametrize("include_usage", [True, False])
def test_a_stream_in_openai_order(include_usage: bool) -> None:
    chunks = run_stream(
        GEMINI.stream(
            model=PUBLIC, completion_id=CID, created=CREATED, include_usage=include_usage
        ),
        GEMINI_STREAM,
    )
    expected = [*STEPS, ("finish", "length")]
    assert outline(chunks) == ([*expected, ("usage", USAGE)] if include_usage else expected)
    assert_openai_chunks(chunks, include_usage=include_usage)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}


def test_the_finish_chunk_comes_with_the_finish_reason_and_finish_owes_only_usage() -> None:
    chunks = GEMINI.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=True)
    assert outline(feed_only(chunks, GEMINI_STREAM))[-1] == ("finish", "length")
    assert outline(chunks.finish()) == [("usage", USAGE)]
    assert chunks.finish() == []


def test_an_error_in_the_stream_gives_nothing() -> None:
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    chunks = GEMINI.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=True)
    out = feed_only(chunks, frame(piece("Pong!")) + frame(error) + frame([error]))
    assert outline(out) == [("role",), ("content", "Pong!")]


def test_keepalives_and_a_stream_without_finish_reason() -> None:
    chunks = GEMINI.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=False)
    out = run_stream(chunks, ": keep-alive\r\n\r\n" + frame([piece("Pong!")]))
    assert outline(out) == [("role",), ("content", "Pong!"), ("finish", "stop")]
