"""What a caller's chat.completions body must look like before any flavour gets it.

`check_chat_body` lists every problem, one line each, naming the field and what to
fix, so the proxy can answer 400 with all of them at once. Only what all three
flavours can carry passes: text chat with one choice. Tools, log probabilities and
structured output have no faithful translation to every flavour, so they are refused
instead of silently dropped. Fields the proxy reads itself (`model`, `models`,
`provider`, `route`, `user`, `metadata`, `seed`) are not judged here; the translators
drop them (the OpenAI flavour passes `seed` on). A field set to null counts as absent,
as OpenAI reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ROLES = ("system", "developer", "user", "assistant")
"""Message roles a caller may send (`tool` and `function` need tool calling)."""
MAX_STOP = 4
"""OpenAI's limit on `stop` sequences (Gemini takes 5, Anthropic more)."""
UNSUPPORTED = {
    "tools": "tool calling is not supported (text chat only); remove it",
    "tool_choice": "tool calling is not supported (text chat only); remove it",
    "functions": "function calling is not supported (text chat only); remove it",
    "function_call": "function calling is not supported (text chat only); remove it",
    "top_logprobs": "log probabilities are not supported; remove it",
}
"""Fields refused whenever they are given (not null)."""
_MESSAGE_UNSUPPORTED = ("tool_calls", "function_call", "tool_call_id")


def check_chat_body(body: Any) -> list[str]:
    """Problems with a caller's chat.completions body, one line each ([] when fine)."""
    if not isinstance(body, dict):
        return ["body: must be a JSON object holding a chat.completions request"]
    problems = _messages(body.get("messages"))
    for name, check in _FIELDS.items():
        value = body.get(name)
        if value is not None and (problem := check(value)):
            problems.append(f"{name}: {problem}")
    problems.extend(_stream_options(body))
    problems.extend(
        f"{name}: {why}" for name, why in UNSUPPORTED.items() if body.get(name) is not None
    )
    return problems


def _messages(messages: object) -> list[str]:
    if not isinstance(messages, list) or not messages:
        return ["messages: must be a non-empty list of {role, content} messages"]
    problems: list[str] = []
    for i, message in enumerate(messages):
        problems.extend(_message(f"messages[{i}]", message))
    if not problems and not any(_is_turn(m) for m in messages):
        # Anthropic and Gemini need a turn besides the system text (and drop empty texts,
        # which they refuse); refuse it everywhere, so the answer does not depend on
        # which provider the proxy picked.
        problems.append("messages: needs at least one user or assistant message with text")
    return problems


def _is_turn(message: dict[str, Any]) -> bool:
    """A user or assistant message with some text (called on valid messages only)."""
    if message["role"] not in ("user", "assistant"):
        return False
    content = message["content"]
    if isinstance(content, str):
        return bool(content)
    return any(part["text"] for part in content)


def _message(where: str, message: object) -> list[str]:
    if not isinstance(message, dict):
        return [f"{where}: must be an object {{role, content}}"]
    problems: list[str] = []
    role = message.get("role")
    if role not in ROLES:
        problems.append(f"{where}.role: must be one of {', '.join(ROLES)} (got {_shown(role)})")
    problems.extend(_content(f"{where}.content", message.get("content")))
    problems.extend(
        f"{where}.{key}: tool calling is not supported (text chat only); remove it"
        for key in _MESSAGE_UNSUPPORTED
        if message.get(key) is not None
    )
    return problems


def _content(where: str, content: object) -> list[str]:
    if isinstance(content, str):
        return []
    if not isinstance(content, list):
        return [f'{where}: must be a string or a list of {{"type": "text", "text": ...}} parts']
    problems: list[str] = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind != "text":
            problems.append(
                f'{where}[{i}]: only text parts are supported, {{"type": "text", "text": ...}}'
                f" (got type {_shown(kind)})"
            )
        elif not isinstance(part.get("text"), str):
            problems.append(f"{where}[{i}].text: must be a string")
    return problems


def _stream_options(body: dict[str, Any]) -> list[str]:
    options = body.get("stream_options")
    if options is None:
        return []
    if not isinstance(options, dict):
        return ['stream_options: must be an object like {"include_usage": true}']
    problems: list[str] = []
    include = options.get("include_usage")
    if include is not None and not isinstance(include, bool):
        problems.append("stream_options.include_usage: must be true or false")
    if body.get("stream") is not True:
        problems.append("stream_options: only allowed when stream is true")
    return problems


def _positive_int(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return ""
    return f"must be a positive integer (got {_shown(value)})"


def _between(low: float, high: float) -> Callable[[object], str]:
    def check(value: object) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
            return ""
        return f"must be a number from {low:g} to {high:g} (got {_shown(value)})"

    return check


def _stop(value: object) -> str:
    if isinstance(value, str):
        return ""
    if (
        isinstance(value, list)
        and len(value) <= MAX_STOP
        and all(isinstance(s, str) for s in value)
    ):
        return ""
    return f"must be a string or a list of at most {MAX_STOP} strings"


def _bool(value: object) -> str:
    return "" if isinstance(value, bool) else f"must be true or false (got {_shown(value)})"


def _n(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value == 1:
        return ""
    return f"only 1 is supported: one choice per answer (got {_shown(value)})"


def _logprobs(value: object) -> str:
    if value is False:
        return ""
    return "log probabilities are not supported; remove it"


def _response_format(value: object) -> str:
    if isinstance(value, dict) and value.get("type") == "text" and len(value) == 1:
        return ""
    kind = value.get("type") if isinstance(value, dict) else value
    return f'only {{"type": "text"}} is supported (got {_shown(kind)}); remove it'


def _shown(value: object) -> str:
    """A caller's value in a problem line, short (it may be anything)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_FIELDS: dict[str, Callable[[object], str]] = {
    "max_tokens": _positive_int,
    "max_completion_tokens": _positive_int,
    "temperature": _between(0, 2),
    "top_p": _between(0, 1),
    "stop": _stop,
    "stream": _bool,
    "n": _n,
    "logprobs": _logprobs,
    "response_format": _response_format,
}
"""Fields judged one by one: each check answers "" or what is wrong."""
