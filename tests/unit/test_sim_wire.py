"""Bodies, frames and headers of each wire flavour, byte-level, with no sockets.

The last tests feed the simulator's error replies to routeguard's own classifier:
each fault must land in the outcome class docs/providers.md promises for it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from routeguard.outcomes import Outcome
from routeguard.providers.classify import classify_error_response
from routeguard.sim.base import Call, CallContext, Kind, Limits, Reply, Route
from routeguard.sim.wire_anthropic import ANTHROPIC
from routeguard.sim.wire_common import answer, broken, go_duration, rfc3339, words
from routeguard.sim.wire_gemini import GEMINI, thinking_tokens
from routeguard.sim.wire_openai import MAX_TOKENS_UNSUPPORTED, OPENAI
from routeguard.sim.wires import WIRES

NOW = 1_755_780_000.0  # 2025-08-21T12:40:00Z
CTX = CallContext("", "abc123", NOW, {"anthropic-version": "2023-06-01"})
LIMITS = Limits(10_000, 9_999, 2_000_000, 1_999_990, 6.0, NOW)


def body(reply: Reply) -> Any:
    return json.loads(reply.body)


def events(frames: tuple[bytes, ...]) -> list[str]:
    return [f.split(b"\n", 1)[0].removeprefix(b"event: ").decode() for f in frames]


def chat(model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "ping"}], **extra}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.012, "12ms"),
        (1.5, "1.5s"),
        (20, "20s"),
        (360, "6m0s"),
        (90.25, "1m30.25s"),
        (3600, "1h0m0s"),
    ],
)
def test_durations_are_spelled_like_go(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_reset_times_are_rfc_3339_rounded_up_to_the_second() -> None:
    assert rfc3339(NOW + 59.2) == "2025-08-21T12:41:00Z"


def test_broken_frames_keep_their_framing_but_not_their_json() -> None:
    frame = b'data: {"a":[1,2,3]}\n\n'
    cut = broken(frame)
    assert cut.startswith(b"data: {") and cut.endswith(b"\n\n")
    with pytest.raises(ValueError):
        json.loads(cut[6:])


def test_answers_stop_at_the_budget_and_thinking_eats_it_first() -> None:
    call = Call(Kind.COMPLETION, "m", "id", 0, max_tokens=3)
    assert answer(call).pieces == words()[:3]
    assert answer(call).finish == "length"
    assert answer(Call(Kind.COMPLETION, "m", "id", 0)).finish == "stop"
    starved = answer(call, thinking_tokens=64)
    assert (starved.text, starved.finish, starved.reasoning_tokens) == ("", "length", 3)


def test_openai_reasoning_models_reject_max_tokens_with_the_exact_body() -> None:
    reply = OPENAI.parse(Route(Kind.COMPLETION), chat("o3-mini", max_tokens=1), CTX)
    assert isinstance(reply, Reply)
    assert reply.status == 400
    assert body(reply) == {
        "error": {
            "message": MAX_TOKENS_UNSUPPORTED,
            "type": "invalid_request_error",
            "param": "max_tokens",
            "code": "unsupported_parameter",
        }
    }
    ok = OPENAI.parse(Route(Kind.COMPLETION), chat("gpt-5-mini", max_completion_tokens=8), CTX)
    assert isinstance(ok, Call) and ok.max_tokens == 8


def test_openai_stream_ends_with_usage_chunk_then_done() -> None:
    call = OPENAI.parse(
        Route(Kind.COMPLETION), chat(stream=True, stream_options={"include_usage": True}), CTX
    )
    assert isinstance(call, Call) and call.stream
    plan = OPENAI.stream(call, "openai")
    assert plan.tail[-1] == b"data: [DONE]\n\n"
    usage = json.loads(plan.tail[-2][6:])
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == len(plan.tokens)
    first = json.loads(plan.head[0][6:])
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert first["usage"] is None


def test_openrouter_always_sends_usage_keeping_one_choice() -> None:
    call = OPENAI.parse(
        Route(Kind.COMPLETION), chat(stream=True), CallContext("openrouter", "x", NOW)
    )
    assert isinstance(call, Call)
    last = json.loads(OPENAI.stream(call, "openrouter").tail[-2][6:])
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["id"].startswith("gen-") and last["provider"]


def test_together_lists_models_as_a_bare_array() -> None:
    listing = body(OPENAI.models_reply(("a/b",), {}, "together"))
    assert isinstance(listing, list) and listing[0]["id"] == "a/b"
    assert body(OPENAI.models_reply(("m",), {}, "openai"))["object"] == "list"


def test_anthropic_stream_runs_message_start_to_message_stop() -> None:
    call = ANTHROPIC.parse(
        Route(Kind.COMPLETION), chat("claude-haiku-4-5", max_tokens=2, stream=True), CTX
    )
    assert isinstance(call, Call)
    plan = ANTHROPIC.stream(call, "")
    assert events(plan.head) == ["message_start", "content_block_start", "ping"]
    assert events(plan.tokens) == ["content_block_delta"] * 2
    assert events(plan.tail) == ["content_block_stop", "message_delta", "message_stop"]
    delta = json.loads(plan.tail[1].split(b"data: ")[1])
    assert delta["delta"]["stop_reason"] == "max_tokens"


def test_anthropic_needs_its_version_header_and_max_tokens() -> None:
    no_version = ANTHROPIC.parse(
        Route(Kind.COMPLETION), chat(max_tokens=1), CallContext("", "x", NOW)
    )
    assert (
        isinstance(no_version, Reply)
        and "anthropic-version" in body(no_version)["error"]["message"]
    )
    no_budget = ANTHROPIC.parse(Route(Kind.COMPLETION), chat(), CTX)
    assert (
        isinstance(no_budget, Reply)
        and body(no_budget)["error"]["message"] == "max_tokens: Field required"
    )


def test_gemini_thinking_models_answer_empty_on_a_tiny_budget() -> None:
    assert thinking_tokens("gemini-2.5-flash", None) > 1
    assert thinking_tokens("gemini-2.5-flash", 0) == 0
    assert thinking_tokens("gemini-2.0-flash", None) == 0
    tiny: dict[str, Any] = {
        "contents": [{"parts": [{"text": "ping"}]}],
        "generationConfig": {"maxOutputTokens": 1},
    }
    call = GEMINI.parse(Route(Kind.COMPLETION, "gemini-2.5-flash"), tiny, CTX)
    assert isinstance(call, Call)
    doc = json.loads(GEMINI.completion(call, ""))
    candidate = doc["candidates"][0]
    assert candidate["finishReason"] == "MAX_TOKENS" and "parts" not in candidate["content"]
    tiny["generationConfig"]["thinkingConfig"] = {"thinkingBudget": 0}
    call = GEMINI.parse(Route(Kind.COMPLETION, "gemini-2.5-flash"), tiny, CTX)
    assert isinstance(call, Call)
    assert json.loads(GEMINI.completion(call, ""))["candidates"][0]["content"]["parts"][0]["text"]
    pro = GEMINI.parse(Route(Kind.COMPLETION, "gemini-2.5-pro"), tiny, CTX)
    assert isinstance(pro, Reply) and pro.status == 400


def test_gemini_sse_has_no_sentinel_and_the_last_chunk_finishes() -> None:
    call = Call(Kind.STREAM, "gemini-2.0-flash", "id", 0, max_tokens=3)
    plan = GEMINI.stream(call, "")
    assert plan.head == () and len(plan.tokens) == 2
    last = json.loads(plan.tail[0].removeprefix(b"data: "))
    assert last["candidates"][0]["finishReason"] == "MAX_TOKENS" and last["usageMetadata"]
    assert all(b"finishReason" not in t for t in plan.tokens)
    array = GEMINI.stream(
        Call(Kind.STREAM, "gemini-2.0-flash", "id", 0, max_tokens=3, sse=False), ""
    )
    assert json.loads(b"".join(array.head + array.tokens + array.tail))[-1]["candidates"]


def test_gemini_429_carries_retry_info_in_the_body() -> None:
    doc = body(GEMINI.rate_limited("", 35.0, NOW))["error"]
    assert doc["status"] == "RESOURCE_EXHAUSTED"
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "35s"} in doc[
        "details"
    ]


def test_rate_limit_headers_in_each_vendors_format() -> None:
    openai = OPENAI.rate_limited("openai", 360.0, NOW).headers
    assert openai["retry-after"] == "360" and openai["retry-after-ms"] == "360000"
    assert openai["x-ratelimit-reset-requests"] == "6m0s"
    anthropic = ANTHROPIC.rate_limited("", 60.0, NOW).headers
    assert anthropic["anthropic-ratelimit-requests-reset"] == "2025-08-21T12:41:00Z"
    assert OPENAI.headers("openai", "r", LIMITS)["x-ratelimit-reset-requests"] == "6s"
    assert ANTHROPIC.headers("", "r", LIMITS)["anthropic-ratelimit-tokens-remaining"] == "1999990"
    assert OPENAI.headers("together", "r", LIMITS)["x-ratelimit-reset"] == "6"
    assert GEMINI.headers("", "r", LIMITS) == {}


def test_anthropic_spend_cap_is_a_429_without_retry_after() -> None:
    reply = ANTHROPIC.quota_error("", 429)
    assert reply.status == 429 and "retry-after" not in reply.headers
    assert body(reply)["error"]["details"]["error_code"] == "enforced_spend_limit_reached"


AUTH = [("openai", "openai", 401), ("anthropic", "", 401), ("gemini", "", 400)]


@pytest.mark.parametrize(("flavour", "vendor", "status"), AUTH)
def test_auth_errors_in_each_vendors_shape(flavour: str, vendor: str, status: int) -> None:
    reply = WIRES[flavour].auth_error(vendor)
    assert reply.status == status
    text = reply.body.decode()
    assert {
        "openai": "invalid_api_key",
        "anthropic": "authentication_error",
        "gemini": "API_KEY_INVALID",
    }[flavour] in text


CLASSIFIED = [
    # (flavour, vendor, reply builder, outcome the classifier must give)
    ("openai", "openai", lambda w, v: w.auth_error(v), Outcome.AUTH_ERROR),
    ("anthropic", "", lambda w, v: w.auth_error(v), Outcome.AUTH_ERROR),
    ("gemini", "", lambda w, v: w.auth_error(v), Outcome.AUTH_ERROR),
    ("openai", "openai", lambda w, v: w.quota_error(v, None), Outcome.QUOTA_EXHAUSTED),
    ("openai", "deepseek", lambda w, v: w.quota_error(v, None), Outcome.QUOTA_EXHAUSTED),
    ("openai", "openrouter", lambda w, v: w.quota_error(v, None), Outcome.QUOTA_EXHAUSTED),
    ("anthropic", "", lambda w, v: w.quota_error(v, None), Outcome.QUOTA_EXHAUSTED),
    ("anthropic", "", lambda w, v: w.quota_error(v, 429), Outcome.QUOTA_EXHAUSTED),
    ("gemini", "", lambda w, v: w.quota_error(v, None), Outcome.QUOTA_EXHAUSTED),
    ("openai", "openai", lambda w, v: w.rate_limited(v, 5.0, NOW), Outcome.RATE_LIMITED),
    ("openai", "openrouter", lambda w, v: w.rate_limited(v, 5.0, NOW), Outcome.RATE_LIMITED),
    ("anthropic", "", lambda w, v: w.rate_limited(v, 5.0, NOW), Outcome.RATE_LIMITED),
    ("gemini", "", lambda w, v: w.rate_limited(v, 5.0, NOW), Outcome.RATE_LIMITED),
    ("anthropic", "", lambda w, v: w.server_error(v, 529), Outcome.SERVER_ERROR),
    ("openai", "groq", lambda w, v: w.server_error(v, 498), Outcome.SERVER_ERROR),
    ("openai", "together", lambda w, v: w.server_error(v, 503), Outcome.SERVER_ERROR),
    ("gemini", "", lambda w, v: w.server_error(v, 503), Outcome.SERVER_ERROR),
    ("openai", "openai", lambda w, v: w.not_found(v, "nope"), Outcome.CLIENT_ERROR),
]


@pytest.mark.parametrize(("flavour", "vendor", "build", "outcome"), CLASSIFIED)
def test_routeguards_classifier_reads_each_fault_as_designed(
    flavour: str, vendor: str, build: Any, outcome: Outcome
) -> None:
    reply = build(WIRES[flavour], vendor)
    classified = classify_error_response(reply.status, dict(reply.headers), reply.body, vendor)
    assert classified.outcome is outcome
    if outcome is Outcome.RATE_LIMITED:
        assert classified.retry_after_s == pytest.approx(5.0, abs=1.0)
