"""Every translator: the registry, and any body check_chat_body accepts translates cleanly."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from routeguard.providers import Endpoint, Flavour
from routeguard.translate import TRANSLATORS, check_chat_body

from .translate_helpers import CID, CREATED, PUBLIC

MODELS = {
    Flavour.OPENAI: ("gpt-4o-mini", "o3-mini", "gpt-5"),
    Flavour.ANTHROPIC: ("claude-haiku-4-5",),
    Flavour.GEMINI: ("gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro"),
}
VENDORS = ("", "openai", "mistral", "openrouter", "groq")


def test_one_translator_per_flavour() -> None:
    assert set(TRANSLATORS) == set(Flavour)
    assert all(t.flavour is f for f, t in TRANSLATORS.items())


TEXT = st.text(max_size=8)
CONTENT = TEXT | st.lists(st.builds(lambda t: {"type": "text", "text": t}, TEXT), max_size=3)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "developer", "user", "assistant"]), "content": CONTENT}
)
OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "max_tokens": st.integers(1, 10_000),
    "max_completion_tokens": st.integers(1, 10_000),
    "temperature": st.floats(0, 2),
    "top_p": st.floats(0, 1),
    "stop": TEXT | st.lists(TEXT, max_size=4),
    "stream": st.booleans(),
    "n": st.just(1),
    "seed": st.integers(),
    "user": TEXT,
    "models": st.lists(TEXT, max_size=2),
}
BODY = st.fixed_dictionaries(
    {"model": st.just(PUBLIC), "messages": st.lists(MESSAGE, min_size=1, max_size=6)},
    optional=OPTIONAL,
)


def assert_alternating_turns_with_text(flavour: Flavour, doc: dict[str, Any]) -> None:
    """Anthropic and Gemini: roles alternate and no text is empty (both refuse otherwise)."""
    if flavour is Flavour.ANTHROPIC:
        turns = [(m["role"], [b["text"] for b in m["content"]]) for m in doc["messages"]]
    else:
        turns = [(c["role"], [p["text"] for p in c["parts"]]) for c in doc["contents"]]
    roles = [role for role, _ in turns]
    assert all(a != b for a, b in pairwise(roles)), roles
    assert all(texts and all(texts) for _, texts in turns), turns


@settings(max_examples=200, deadline=None)
@given(body=BODY, vendor=st.sampled_from(VENDORS), pick=st.integers(0, 2))
def test_an_accepted_body_translates_to_json_for_every_flavour(
    body: dict[str, Any], vendor: str, pick: int
) -> None:
    assume(check_chat_body(body) == [])
    before = json.dumps(body)
    for flavour, translator in TRANSLATORS.items():
        models = MODELS[flavour]
        ep = Endpoint("p", "https://p.test/v1", {"authorization": "Bearer k"}, vendor)
        probe = translator.request(ep, models[pick % len(models)], body)
        doc = json.loads(json.dumps(probe.json))
        assert probe.stream is (body.get("stream") is True)
        assert not {"models", "user", "provider"} & set(doc), doc
        if flavour is not Flavour.OPENAI:
            assert "seed" not in doc and "seed" not in doc.get("generationConfig", {})
            assert_alternating_turns_with_text(flavour, doc)
    assert json.dumps(body) == before, "the caller's body must not change"


@pytest.mark.parametrize("flavour", list(Flavour))
def test_finish_without_any_event_still_closes_the_stream_in_order(flavour: Flavour) -> None:
    chunks = TRANSLATORS[flavour].stream(
        model=PUBLIC, completion_id=CID, created=CREATED, include_usage=True
    )
    out = chunks.finish()
    assert [c["choices"][0]["delta"] for c in out] == [{"role": "assistant", "content": ""}, {}]
    assert out[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks.finish() == []
