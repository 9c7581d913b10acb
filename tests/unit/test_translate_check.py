"""check_chat_body: what a caller's chat.completions body must be, one line per problem."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routeguard.translate import check_chat_body

HI = [{"role": "user", "content": "hi"}]


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "chat-default", "messages": HI, **fields}


FINE = [
    pytest.param(body(), id="the smallest body"),
    pytest.param(
        body(
            messages=[
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "No lists."}]},
                {"role": "user", "content": "hi", "name": "ann"},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": [{"type": "text", "text": "again"}]},
            ],
            max_tokens=16,
            max_completion_tokens=32,
            temperature=2,
            top_p=0.0,
            stop=["a", "b", "c", "d"],
            stream=True,
            stream_options={"include_usage": True},
            n=1,
            logprobs=False,
            response_format={"type": "text"},
            seed=7,
            user="u-1",
            metadata={"team": "x"},
            models=["a", "b"],
            provider="openai",
            route="r",
        ),
        id="every supported field, and the fields the proxy reads itself",
    ),
    pytest.param(body(stop="END", temperature=0.0, top_p=1), id="stop as one string"),
    pytest.param(
        body(max_tokens=None, temperature=None, tools=None, stream_options=None),
        id="null is the same as absent",
    ),
    pytest.param(
        body(messages=[{"role": "assistant", "content": "I start"}]), id="an assistant turn alone"
    ),
]


@pytest.mark.parametrize("chat", FINE)
def test_a_good_body_has_no_problem(chat: dict[str, Any]) -> None:
    assert check_chat_body(chat) == []


BAD = [
    pytest.param([1, 2], "body:", "JSON object", id="not an object"),
    pytest.param({"model": "m"}, "messages:", "non-empty list", id="no messages"),
    pytest.param(body(messages=[]), "messages:", "non-empty list", id="empty messages"),
    pytest.param(body(messages="hi"), "messages:", "non-empty list", id="messages a string"),
    pytest.param(body(messages=["hi"]), "messages[0]:", "{role, content}", id="message a string"),
    pytest.param(
        body(messages=[*HI, {"role": "tool", "content": "42"}]),
        "messages[1].role:",
        "got 'tool'",
        id="tool role",
    ),
    pytest.param(body(messages=[{"content": "hi"}]), "messages[0].role:", "got None", id="no role"),
    pytest.param(
        body(messages=[{"role": ["user"], "content": "hi"}]),
        "messages[0].role:",
        "got ['user']",
        id="role a list",
    ),
    pytest.param(
        body(messages=[{"role": "user"}]),
        "messages[0].content:",
        "string or a list",
        id="no content",
    ),
    pytest.param(
        body(messages=[{"role": "user", "content": 5}]),
        "messages[0].content:",
        "string or a list",
        id="content a number",
    ),
    pytest.param(
        body(
            messages=[
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
            ]
        ),
        "messages[0].content[0]:",
        "got type 'image_url'",
        id="an image part",
    ),
    pytest.param(
        body(messages=[{"role": "user", "content": [{"type": "text", "text": 3}]}]),
        "messages[0].content[0].text:",
        "string",
        id="a text part without text",
    ),
    pytest.param(
        body(
            messages=[
                *HI,
                {"role": "assistant", "content": "x", "tool_calls": [{"id": "c"}]},
            ]
        ),
        "messages[1].tool_calls:",
        "tool calling is not supported",
        id="an assistant tool call",
    ),
    pytest.param(
        body(messages=[{"role": "system", "content": "Be brief."}]),
        "messages:",
        "at least one user or assistant",
        id="system text alone",
    ),
    pytest.param(
        body(
            messages=[
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": ""},
                {"role": "assistant", "content": [{"type": "text", "text": ""}]},
            ]
        ),
        "messages:",
        "with text",
        id="turns without text",
    ),
    pytest.param(body(max_tokens=0), "max_tokens:", "positive integer", id="max_tokens 0"),
    pytest.param(body(max_tokens=1.5), "max_tokens:", "positive integer", id="max_tokens float"),
    pytest.param(body(max_tokens=True), "max_tokens:", "positive integer", id="max_tokens bool"),
    pytest.param(
        body(max_completion_tokens="9"),
        "max_completion_tokens:",
        "positive integer",
        id="max_completion_tokens string",
    ),
    pytest.param(body(temperature=2.5), "temperature:", "from 0 to 2", id="temperature high"),
    pytest.param(body(temperature=-0.1), "temperature:", "from 0 to 2", id="temperature low"),
    pytest.param(body(temperature="hot"), "temperature:", "from 0 to 2", id="temperature text"),
    pytest.param(body(top_p=1.01), "top_p:", "from 0 to 1", id="top_p high"),
    pytest.param(body(top_p=False), "top_p:", "from 0 to 1", id="top_p bool"),
    pytest.param(body(stop=["a"] * 5), "stop:", "at most 4", id="five stops"),
    pytest.param(body(stop=[1]), "stop:", "strings", id="stop not strings"),
    pytest.param(body(stream="yes"), "stream:", "true or false", id="stream a string"),
    pytest.param(
        body(stream=True, stream_options=True),
        "stream_options:",
        "an object",
        id="stream_options not an object",
    ),
    pytest.param(
        body(stream=True, stream_options={"include_usage": "yes"}),
        "stream_options.include_usage:",
        "true or false",
        id="include_usage a string",
    ),
    pytest.param(
        body(stream_options={"include_usage": True}),
        "stream_options:",
        "only allowed when stream is true",
        id="stream_options without stream",
    ),
    pytest.param(body(n=2), "n:", "only 1", id="n 2"),
    pytest.param(body(tools=[{"type": "function"}]), "tools:", "not supported", id="tools refused"),
    pytest.param(body(tool_choice="auto"), "tool_choice:", "not supported", id="tool_choice"),
    pytest.param(body(functions=[{}]), "functions:", "not supported", id="functions"),
    pytest.param(body(function_call="auto"), "function_call:", "not supported", id="function_call"),
    pytest.param(body(logprobs=True), "logprobs:", "not supported", id="logprobs"),
    pytest.param(body(top_logprobs=2), "top_logprobs:", "not supported", id="top_logprobs"),
    pytest.param(
        body(response_format={"type": "json_object"}),
        "response_format:",
        "got 'json_object'",
        id="json mode",
    ),
    pytest.param(
        body(response_format={"type": "json_schema", "json_schema": {}}),
        "response_format:",
        "got 'json_schema'",
        id="structured output",
    ),
]


@pytest.mark.parametrize(("chat", "field", "hint"), BAD)
def test_each_problem_is_one_line_naming_the_field(chat: Any, field: str, hint: str) -> None:
    problems = check_chat_body(chat)
    assert len(problems) == 1, problems
    [problem] = problems
    assert problem.startswith(field + " "), problem
    assert hint in problem and "\n" not in problem


def test_every_problem_is_listed_at_once() -> None:
    problems = check_chat_body(
        {
            "messages": [{"role": "tool", "content": None}],
            "n": 3,
            "tools": [],
            "temperature": 9,
            "stream": 1,
        }
    )
    fields = [p.split(":", 1)[0] for p in problems]
    assert fields == [
        "messages[0].role",
        "messages[0].content",
        "temperature",
        "stream",
        "n",
        "tools",
    ]


def test_a_caller_value_is_shown_short() -> None:
    [problem] = check_chat_body(body(max_tokens="x" * 500))
    assert len(problem) < 120 and problem.endswith("xxx...)")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    [
        "messages",
        "role",
        "content",
        "type",
        "text",
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "stream_options",
        "include_usage",
        "n",
        "logprobs",
        "response_format",
        "tools",
    ]
)
SHAPED = st.recursive(
    JSON,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(FIELDS, inner, max_size=5),
    max_leaves=30,
)


FIELD_PATH = re.compile(r"^[a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)*$")
"""`messages[2].content[0].text`: what each problem line starts with."""


@settings(max_examples=300, deadline=None)
@given(SHAPED)
def test_any_json_gets_one_line_problems_never_an_exception(doc: Any) -> None:
    problems = check_chat_body(doc)
    for problem in problems:
        assert "\n" not in problem
        assert FIELD_PATH.match(problem.split(": ", 1)[0]), problem
