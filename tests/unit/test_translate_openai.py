"""The OpenAI translator: a passthrough that adapts what each OpenAI-compatible target refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from routeguard.providers import Endpoint, Flavour
from routeguard.translate import OPENAI, TRANSLATORS

from .translate_helpers import (
    CID,
    CREATED,
    PUBLIC,
    assert_openai_chunks,
    outline,
    run_stream,
    sent,
    sse,
)

KEY = "sk-proj-abcdefghijklmnop"
HI = [{"role": "user", "content": "hi", "name": "ann"}]


def endpoint(vendor: str = "openai") -> Endpoint:
    return Endpoint(
        vendor, "https://api.example.test/v1/", {"authorization": f"Bearer {KEY}"}, vendor
    )


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": PUBLIC, "messages": HI, **fields}


REQUESTS = [
    pytest.param(
        "openai",
        "gpt-4o-mini",
        chat(
            models=["a"],
            provider="p",
            route="r",
            user="u",
            metadata={"k": "v"},
            seed=7,
            temperature=0.2,
            top_p=0.9,
            stop=["\n"],
            presence_penalty=0.5,
            max_tokens=None,
        ),
        {
            "model": "gpt-4o-mini",
            "messages": HI,
            "seed": 7,
            "temperature": 0.2,
            "top_p": 0.9,
            "stop": ["\n"],
            "presence_penalty": 0.5,
        },
        id="passthrough: model replaced, proxy fields and nulls gone, seed kept",
    ),
    pytest.param(
        "openai",
        "gpt-4o-mini",
        chat(max_completion_tokens=40),
        {"model": "gpt-4o-mini", "messages": HI, "max_tokens": 40},
        id="a plain model gets max_tokens, the name every compatible server knows",
    ),
    pytest.param(
        "openai",
        "gpt-4o-mini",
        chat(max_tokens=10, max_completion_tokens=40),
        {"model": "gpt-4o-mini", "messages": HI, "max_tokens": 40},
        id="max_completion_tokens wins over max_tokens",
    ),
    pytest.param(
        "openai",
        "o3-mini",
        chat(max_tokens=50, temperature=0.2, top_p=0.5, stop="x"),
        {"model": "o3-mini", "messages": HI, "max_completion_tokens": 50, "stop": "x"},
        id="a reasoning model: max_completion_tokens, no temperature or top_p",
    ),
    pytest.param(
        "openai",
        "gpt-5-mini",
        chat(max_completion_tokens=64),
        {"model": "gpt-5-mini", "messages": HI, "max_completion_tokens": 64},
        id="gpt-5 is a reasoning model",
    ),
    pytest.param(
        "openrouter",
        "openai/o4-mini",
        chat(max_completion_tokens=64, temperature=1.0),
        {"model": "openai/o4-mini", "messages": HI, "max_tokens": 64},
        id="OpenRouter normalises max_tokens, even for reasoning models",
    ),
    pytest.param(
        "openai",
        "gpt-4o",
        chat(stream=True),
        {
            "model": "gpt-4o",
            "messages": HI,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        id="a stream asks for usage though the caller did not",
    ),
    pytest.param(
        "together",
        "meta-llama/Llama-3-8b",
        chat(stream=True, stream_options={"include_usage": False}),
        {
            "model": "meta-llama/Llama-3-8b",
            "messages": HI,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        id="a stream asks for usage though the caller said no",
    ),
    pytest.param(
        "mistral",
        "mistral-small-latest",
        chat(stream=True, stream_options={"include_usage": True}, seed=3, max_tokens=9),
        {
            "model": "mistral-small-latest",
            "messages": HI,
            "stream": True,
            "random_seed": 3,
            "max_tokens": 9,
        },
        id="Mistral: no stream_options (422), seed is random_seed",
    ),
    pytest.param(
        "openai",
        "gpt-4o",
        chat(stream=False, n=1, response_format={"type": "text"}),
        {
            "model": "gpt-4o",
            "messages": HI,
            "stream": False,
            "n": 1,
            "response_format": {"type": "text"},
        },
        id="a non-stream asks for nothing more",
    ),
]


@pytest.mark.parametrize(("vendor", "model", "body", "expected"), REQUESTS)
async def test_request_body(
    vendor: str, model: str, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    before = json.dumps(body)
    probe = OPENAI.request(endpoint(vendor), model, body)
    request = await sent(probe)
    assert json.loads(request.content) == expected
    assert (request.method, str(request.url)) == (
        "POST",
        "https://api.example.test/v1/chat/completions",
    )
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert probe.stream is (body.get("stream") is True)
    assert (request.headers.get("accept") == "text/event-stream") is probe.stream
    assert json.dumps(body) == before, "the caller's body must not change"


def test_it_is_the_registered_openai_translator() -> None:
    assert TRANSLATORS[Flavour.OPENAI] is OPENAI and OPENAI.flavour is Flavour.OPENAI


ANSWER = {
    "id": "chatcmpl-up-1",
    "object": "chat.completion",
    "created": 1_700_000_001,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_1",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello", "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10},
}


def test_an_answer_passes_through_under_the_public_model_name() -> None:
    doc = OPENAI.answer(ANSWER, model=PUBLIC, completion_id=CID, created=CREATED)
    assert doc == {**ANSWER, "model": PUBLIC}


def test_an_answer_without_id_or_created_gets_the_proxy_s() -> None:
    native = {k: v for k, v in ANSWER.items() if k not in ("id", "created")}
    doc = OPENAI.answer(native, model=PUBLIC, completion_id=CID, created=CREATED)
    assert (doc["id"], doc["created"], doc["object"]) == (CID, CREATED, "chat.completion")


def test_groq_usage_under_x_groq_becomes_usage() -> None:
    usage = {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}
    native = {**ANSWER, "x_groq": {"id": "req_1", "usage": usage}}
    del native["usage"]
    doc = OPENAI.answer(native, model=PUBLIC, completion_id=CID, created=CREATED)
    assert doc["usage"] == usage


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {
        "id": "chatcmpl-up-2",
        "object": "chat.completion.chunk",
        "created": 1_700_000_002,
        "model": "gpt-4o",
        "system_fingerprint": "fp_2",
        "choices": [choice],
        **extra,
    }


USAGE = {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10}
OPENAI_STREAM = "".join(
    [
        sse(chunk({"role": "assistant", "content": ""}, usage=None)),
        sse(chunk({"content": "Hel"}, usage=None)),
        sse(chunk({"content": "lo"}, usage=None)),
        sse(chunk({}, "stop", usage=None)),
        sse({**chunk({}), "choices": [], "usage": USAGE}),
        "data: [DONE]\n\n",
    ]
)
OPENROUTER_STREAM = "".join(
    [
        ": OPENROUTER PROCESSING\n\n",
        sse(chunk({"role": "assistant", "content": ""}, provider="Up")),
        sse(chunk({"content": "Hel"}, provider="Up")),
        sse(chunk({"content": "lo"}, provider="Up")),
        sse(chunk({}, "stop", provider="Up")),
        sse(chunk({}, "stop", provider="Up", usage=USAGE)),  # repeats the finish_reason
        "data: [DONE]\n\n",
    ]
)
MISTRAL_STREAM = "".join(
    [
        sse(chunk({"role": "assistant", "content": "Hel"})),  # role on the first content
        sse(chunk({"content": "lo"})),
        sse(chunk({"content": ""}, "stop", usage=USAGE)),  # usage on the finish chunk
        "data: [DONE]\n\n",
    ]
)
GROQ_STREAM = "".join(
    [
        sse(chunk({"role": "assistant", "content": ""}, x_groq={"id": "req_1"})),
        sse(chunk({"content": "Hel"})),
        sse(chunk({"content": "lo"})),
        sse(chunk({}, "stop", x_groq={"id": "req_1", "usage": USAGE})),
        "data: [DONE]\n\n",
    ]
)
WITH_USAGE = [
    ("role",),
    ("content", "Hel"),
    ("content", "lo"),
    ("finish", "stop"),
    ("usage", USAGE),
]


@pytest.mark.parametrize(
    "transcript",
    [
        pytest.param(OPENAI_STREAM, id="openai"),
        pytest.param(OPENROUTER_STREAM, id="openrouter"),
        pytest.param(MISTRAL_STREAM, id="mistral"),
        pytest.param(GROQ_STREAM, id="groq"),
    ],
)
@pytest.mark.parametrize("include_usage", [True, False])
def test_every_vendor_s_stream_comes_out_in_openai_order(
    transcript: str, include_usage: bool
) -> None:
    chunks = run_stream(
        OPENAI.stream(
            model=PUBLIC, completion_id=CID, created=CREATED, include_usage=include_usage
        ),
        transcript,
    )
    expected = WITH_USAGE if include_usage else WITH_USAGE[:-1]
    assert outline(chunks) == expected
    assert_openai_chunks(chunks, include_usage=include_usage, completion_id="chatcmpl-up-2")
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["created"] == 1_700_000_002 for c in chunks)
    assert all("x_groq" not in c for c in chunks)


def test_vendor_fields_of_a_chunk_pass_through() -> None:
    chunks = run_stream(
        OPENAI.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=False),
        OPENROUTER_STREAM,
    )
    assert all(c["provider"] == "Up" and c["system_fingerprint"] == "fp_2" for c in chunks)


ERROR_STREAMS = [
    pytest.param(
        sse(chunk({"content": "Hel"}))
        + sse({"error": {"message": "overloaded", "type": "server_error"}}),
        id="an error object after a token",
    ),
    pytest.param(
        sse(chunk({"content": "Hel"}))
        + sse(chunk({"content": ""}, "error", error={"code": 502, "message": "upstream"})),
        id="OpenRouter's finish_reason error chunk",
    ),
    pytest.param(
        sse(chunk({"content": "Hel"})) + sse({"message": "broken"}, event="error"),
        id="an event: error",
    ),
]


@pytest.mark.parametrize("transcript", ERROR_STREAMS)
def test_an_error_in_the_stream_gives_no_chunk(transcript: str) -> None:
    chunks = OPENAI.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=True)
    out = run_stream(chunks, transcript)[:-1]  # finish() owes a finish chunk: left out here
    assert outline(out) == [("role",), ("content", "Hel")]


def test_finish_owes_the_finish_chunk_once_and_nothing_after() -> None:
    chunks = OPENAI.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=True)
    out = run_stream(chunks, sse(chunk({"content": "Hel"})))
    assert outline(out) == [("role",), ("content", "Hel"), ("finish", "stop")]
    assert chunks.finish() == []


def test_an_upstream_chunk_without_id_gets_the_proxy_s() -> None:
    doc = chunk({"content": "Hel"})
    del doc["id"]
    out = run_stream(
        OPENAI.stream(model=PUBLIC, completion_id=CID, created=CREATED, include_usage=False),
        sse(doc),
    )
    assert {c["id"] for c in out} == {CID}
