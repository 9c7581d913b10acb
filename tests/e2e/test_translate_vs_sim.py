"""The chat translators against the simulator over real HTTP: for every flavour (and the
vendors whose quirks the OpenAI translator adapts to), streamed and not, the native
request is accepted, and the OpenAI-shaped answer carries the simulator's sentence cut to
the caller's budget, its finish reason and exactly its usage numbers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from conftest import eventually

from routeguard.providers import CODECS, Endpoint, Flavour, SSEEvent, SSEParser
from routeguard.sim import SimCluster, SimProvider
from routeguard.sim.wire_common import ANSWER, words
from routeguard.tiers import ProbeTier
from routeguard.translate import TRANSLATORS, check_chat_body

KEY = "sk-sim-translate-0123456789"
PUBLIC = "chat-default"
CID = "chatcmpl-proxy-e2e"
CREATED = 1_760_000_000
SIMS = {
    "openai-sim": ("openai", "openai", ("gpt-4o-mini", "o3-mini")),
    "openrouter-sim": ("openai", "openrouter", ("openai/gpt-4o-mini",)),
    "mistral-sim": ("openai", "mistral", ("mistral-small-latest",)),
    "anthropic-sim": ("anthropic", "anthropic", ("claude-haiku-4-5",)),
    "gemini-sim": ("gemini", "", ("gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro")),
}
PROMPT = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "ping"},
    {"role": "user", "content": [{"type": "text", "text": "are you there?"}]},
]


@dataclass(frozen=True)
class Case:
    sim: str
    model: str
    budget: int | None
    """The caller's max_tokens (None: none given)."""

    @property
    def text(self) -> str:
        """The simulator's sentence cut to the budget (one word a token)."""
        return ANSWER if self.budget is None else "".join(words()[: self.budget])

    @property
    def finish_reason(self) -> str:
        return "stop" if self.text == ANSWER else "length"


CASES = [
    Case("openai-sim", "gpt-4o-mini", 5),
    Case("openai-sim", "gpt-4o-mini", None),
    Case("openai-sim", "o3-mini", 6),  # the simulator refuses max_tokens here, as OpenAI does
    Case("openrouter-sim", "openai/gpt-4o-mini", 3),
    Case("mistral-sim", "mistral-small-latest", 4),
    Case("anthropic-sim", "claude-haiku-4-5", 5),
    Case("anthropic-sim", "claude-haiku-4-5", None),  # the default max_tokens leaves room
    Case("gemini-sim", "gemini-2.0-flash", 5),
    Case("gemini-sim", "gemini-2.5-flash", 5),  # would think 64 tokens and say nothing
    Case("gemini-sim", "gemini-2.5-pro", 5),  # thinks 128, then has room for 5
    Case("gemini-sim", "gemini-2.5-flash", None),  # thinks as it likes, answers whole
]
IDS = [f"{c.sim}:{c.model}:{c.budget}" for c in CASES]


@pytest.fixture
async def sims() -> AsyncIterator[SimCluster]:
    providers = [
        SimProvider(name, flavour, models, KEY, vendor)
        for name, (flavour, vendor, models) in SIMS.items()
    ]
    async with SimCluster(providers, admin=False) as cluster:
        yield cluster


def endpoint(sim: SimProvider) -> Endpoint:
    """Only the key: the translator adds each flavour's fixed headers itself."""
    auth = {
        "openai": {"authorization": f"Bearer {KEY}"},
        "anthropic": {"x-api-key": KEY},
        "gemini": {"x-goog-api-key": KEY},
    }[sim.flavour]
    return Endpoint(sim.name, sim.base_url, auth, vendor=sim.vendor, secrets=(KEY,))


def chat(case: Case, *, stream: bool, include_usage: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": PUBLIC, "messages": PROMPT, "temperature": 1.5}
    if case.budget is not None:
        body["max_tokens"] = case.budget
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": include_usage}
    assert check_chat_body(body) == []
    return body


def native_usage(flavour: str, docs: list[Any]) -> tuple[int, int] | None:
    """(prompt, completion) tokens as the native answer or events state them; the last
    report wins (Anthropic's and Gemini's counts are cumulative)."""
    prompt: int | None = None
    completion: int | None = None
    for doc in docs:
        if flavour == "openai" and isinstance(doc.get("usage"), dict):
            prompt, completion = doc["usage"]["prompt_tokens"], doc["usage"]["completion_tokens"]
        elif flavour == "anthropic":
            usage = doc.get("usage") or (doc.get("message") or {}).get("usage") or {}
            if "input_tokens" in usage:
                prompt = usage["input_tokens"] + usage["cache_read_input_tokens"]
                prompt += usage["cache_creation_input_tokens"]
            completion = usage.get("output_tokens", completion)
        elif flavour == "gemini" and "usageMetadata" in doc:
            meta = doc["usageMetadata"]
            prompt = meta["promptTokenCount"]
            completion = meta["candidatesTokenCount"] + meta.get("thoughtsTokenCount", 0)
    return None if prompt is None or completion is None else (prompt, completion)


async def served_ok(sim: SimProvider, kind: str) -> None:
    """The simulator counted one call of `kind` it answered normally (not a 400)."""
    await eventually(
        lambda: sim.stats.count(kind=kind, served="ok") == 1,
        timeout_s=5.0,
        what=f"{sim.name} served one {kind} ok: {sim.stats.as_doc()}",
    )


def assert_usage(found: dict[str, Any] | None, native: tuple[int, int] | None) -> None:
    if native is None:
        assert found is None
        return
    assert found is not None
    prompt, completion = native
    assert (found["prompt_tokens"], found["completion_tokens"]) == native
    assert found["total_tokens"] == prompt + completion


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_a_plain_answer_round_trips(sims: SimCluster, case: Case) -> None:
    sim = sims[case.sim]
    flavour = Flavour(sim.flavour)
    ep = endpoint(sim)
    probe = TRANSLATORS[flavour].request(ep, case.model, chat(case, stream=False))
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.send(probe.build(client))
    verdict = CODECS[flavour].classify_response(
        ep, response.status_code, response.headers, response.content, tier=ProbeTier.COMPLETION
    )
    assert verdict.ok, (verdict, response.text[:300])
    native = response.json()
    doc = TRANSLATORS[flavour].answer(native, model=PUBLIC, completion_id=CID, created=CREATED)
    assert (doc["object"], doc["model"]) == ("chat.completion", PUBLIC)
    [choice] = doc["choices"]
    assert (choice["message"]["role"], choice["message"]["content"]) == ("assistant", case.text)
    assert choice["finish_reason"] == case.finish_reason
    assert_usage(doc.get("usage"), native_usage(sim.flavour, [native]))
    await served_ok(sim, "completion")


async def streamed(
    case: Case, sim: SimProvider, include_usage: bool
) -> tuple[list[dict[str, Any]], list[Any]]:
    """The OpenAI chunks (after finish()) and the native event documents of one stream;
    the codec's interpreter must find the stream ok."""
    flavour = Flavour(sim.flavour)
    ep = endpoint(sim)
    translator = TRANSLATORS[flavour]
    probe = translator.request(ep, case.model, chat(case, stream=True, include_usage=include_usage))
    chunks = translator.stream(
        model=PUBLIC, completion_id=CID, created=CREATED, include_usage=include_usage
    )
    interpreter = CODECS[flavour].new_stream_interpreter(ep)
    out: list[dict[str, Any]] = []
    native: list[Any] = []

    def feed(events: list[SSEEvent]) -> None:
        for event in events:
            interpreter.feed(event, 0.0)
            out.extend(chunks.feed(event))
            if not event.is_comment and event.data.startswith("{"):
                native.append(httpx.Response(200, content=event.data).json())

    parser = SSEParser()
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.send(probe.build(client), stream=True)
        assert response.status_code == 200, (await response.aread())[:300]
        async with asyncio.timeout(10):
            async for piece in response.aiter_bytes():
                feed(parser.feed(piece))
        feed(parser.close())
        await response.aclose()
    result = interpreter.finish(0.0, connection_closed_cleanly=True)
    assert result.ok, result.classified
    return out + chunks.finish(), native


@pytest.mark.parametrize("include_usage", [True, False], ids=["include_usage", "no_usage"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_a_stream_round_trips(sims: SimCluster, case: Case, include_usage: bool) -> None:
    sim = sims[case.sim]
    out, native = await streamed(case, sim, include_usage)
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == PUBLIC for c in out)
    with_choices = [c for c in out if c["choices"]]
    assert with_choices[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in with_choices)
    assert text == case.text
    reasons = [c["choices"][0]["finish_reason"] for c in with_choices]
    assert [r for r in reasons if r] == [case.finish_reason]
    assert reasons[-1] == case.finish_reason, "content after the finish chunk"
    expected_usage = native_usage(sim.flavour, native)
    usage_chunks = [c for c in out if not c["choices"]]
    if include_usage and expected_usage is not None:
        assert out[-1] is usage_chunks[0] and len(usage_chunks) == 1, "usage comes last, once"
        assert_usage(out[-1]["usage"], expected_usage)
    else:
        assert usage_chunks == []
    await served_ok(sim, "stream")


async def test_the_usage_of_every_flavour_is_there_to_compare(sims: SimCluster) -> None:
    """Guards the stream test: every simulator but Mistral's sends usage when asked."""
    found = {}
    for case in (CASES[0], CASES[3], CASES[4], CASES[5], CASES[7]):
        _, native = await streamed(case, sims[case.sim], include_usage=True)
        found[case.sim] = native_usage(sims[case.sim].flavour, native)
    assert [name for name, usage in found.items() if usage is None] == ["mistral-sim"]
