"""What every chat translator shares: the two protocols, OpenAI's object shapes, messages.

A `ChatTranslator` (one per wire flavour, registered in `TRANSLATORS`) turns a
caller's OpenAI chat.completions body into the flavour's native `ProbeRequest`, and
the native answer back into an OpenAI `chat.completion`. For a streamed answer it
hands out a `ChunkTranslator`, which turns each native SSE event into OpenAI
`chat.completion.chunk` objects. The OpenAI objects are built here, once, so every
flavour answers in exactly the same shape (docs/translate.md). Nothing here does
I/O, and nothing here judges health: the codecs in `routeguard.providers` decide
whether an answer or an event is ok; a translator only reshapes what they accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from routeguard.providers.base import Endpoint, Flavour, ProbeRequest
from routeguard.providers.sse import SSEEvent
from routeguard.translate.check import check_chat_body

SYSTEM_ROLES = frozenset({"system", "developer"})
"""Roles whose text becomes the flavour's system prompt (OpenAI's o-series calls it developer)."""
SYSTEM_JOINER = "\n\n"
"""Between the texts of several system/developer messages, when a flavour takes one system text."""


class ChunkTranslator(Protocol):
    """The OpenAI view of one streamed 2xx answer, built event by event."""

    def feed(self, event: SSEEvent) -> list[dict[str, Any]]:
        """OpenAI `chat.completion.chunk` objects for one native SSE event (maybe none:
        pings, comments, message_start…). The first output is a role chunk (delta
        `{role: assistant, content: ""}`), as OpenAI sends it."""
        ...

    def finish(self) -> list[dict[str, Any]]:
        """Chunks still owed at a clean end: the finish_reason chunk if not yet sent, then,
        with include_usage, the usage chunk (`choices: []`). The caller writes `[DONE]`."""
        ...


class ChatTranslator(Protocol):
    """One flavour: an OpenAI chat.completions request in, the native request out; the
    native answer in, OpenAI's shape out."""

    @property
    def flavour(self) -> Flavour: ...

    def request(self, ep: Endpoint, model: str, chat: Mapping[str, Any]) -> ProbeRequest:
        """The native request for `chat` (a body `check_chat_body` found no problem with)
        sent to upstream `model` at `ep`; `.stream` is True when `chat["stream"]` is."""
        ...

    def answer(
        self, native: Any, *, model: str, completion_id: str, created: int
    ) -> dict[str, Any]:
        """A native 2xx JSON answer (parsed, judged ok by the codec) as an OpenAI
        `chat.completion` named after the caller's public `model`."""
        ...

    def stream(
        self, *, model: str, completion_id: str, created: int, include_usage: bool
    ) -> ChunkTranslator:
        """A fresh translator for one streamed 2xx answer."""
        ...


# --- OpenAI object shapes ---------------------------------------------------------


def usage_doc(prompt_tokens: int | None, completion_tokens: int | None) -> dict[str, int] | None:
    """OpenAI's `usage`, or None unless the provider reported both counts."""
    if prompt_tokens is None or completion_tokens is None:
        return None
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion_doc(
    *,
    completion_id: str,
    created: int,
    model: str,
    content: str,
    finish_reason: str,
    usage: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """An OpenAI `chat.completion` with one assistant choice (`usage` left out when None)."""
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": content},
        "logprobs": None,
        "finish_reason": finish_reason,
    }
    doc: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
    }
    if usage is not None:
        doc["usage"] = dict(usage)
    return doc


def chunk_doc(
    *,
    completion_id: str,
    created: int,
    model: str,
    choices: Sequence[Mapping[str, Any]],
    include_usage: bool,
) -> dict[str, Any]:
    """An OpenAI `chat.completion.chunk`. With include_usage every chunk but the last
    carries `usage: null`, as OpenAI's do."""
    doc: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [dict(c) for c in choices],
    }
    if include_usage:
        doc["usage"] = None
    return doc


def chunk_choice(delta: Mapping[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    """The one choice of a chunk."""
    return {"index": 0, "delta": dict(delta), "logprobs": None, "finish_reason": finish_reason}


ROLE_DELTA = {"role": "assistant", "content": ""}
"""The delta of the first chunk of every OpenAI stream."""


class ChunkWriter:
    """The OpenAI side of one translated stream, in OpenAI's order: the role chunk first,
    content chunks, one finish_reason chunk, then (with include_usage) the usage chunk.

    `completion_id` and `created` may be updated as upstream chunks name their own
    (the OpenAI flavour keeps the upstream id).
    """

    def __init__(
        self, *, model: str, completion_id: str, created: int, include_usage: bool
    ) -> None:
        self.model = model
        self.completion_id = completion_id
        self.created = created
        self.include_usage = include_usage
        self.role_sent = False
        self.finish_sent = False
        self.finish_reason: str | None = None
        """A reason learnt before it can be sent (kept for `finish()`)."""
        self.usage: dict[str, Any] | None = None
        self._closed = False

    def chunk(self, choices: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """A chunk of this stream holding `choices`."""
        return chunk_doc(
            completion_id=self.completion_id,
            created=self.created,
            model=self.model,
            choices=choices,
            include_usage=self.include_usage,
        )

    def role(self) -> list[dict[str, Any]]:
        """The role chunk, if it is still owed: it must come before anything else."""
        if self.role_sent:
            return []
        self.role_sent = True
        return [self.chunk([chunk_choice(ROLE_DELTA)])]

    def content(self, text: str) -> list[dict[str, Any]]:
        """A content chunk for `text` (none for empty text), after the role chunk if owed."""
        if not text or self.finish_sent:
            return []
        return [*self.role(), self.chunk([chunk_choice({"content": text})])]

    def finish_chunk(self, reason: str) -> list[dict[str, Any]]:
        """The finish_reason chunk, once; later calls give nothing."""
        if self.finish_sent:
            return []
        self.finish_sent = True
        self.finish_reason = reason
        return [*self.role(), self.chunk([chunk_choice({}, reason)])]

    def finish(self) -> list[dict[str, Any]]:
        """What a clean end still owes (see `ChunkTranslator.finish`); nothing the second time."""
        if self._closed:
            return []
        self._closed = True
        owed = self.finish_chunk(self.finish_reason or "stop")
        if self.include_usage and self.usage is not None:
            last = chunk_doc(
                completion_id=self.completion_id,
                created=self.created,
                model=self.model,
                choices=[],
                include_usage=False,
            )
            last["usage"] = dict(self.usage)
            owed.append(last)
        return owed


# --- the caller's request -----------------------------------------------------------


def content_texts(content: object) -> list[str]:
    """The non-empty texts of a message's content (a string, or a list of text parts).

    Empty texts are dropped: Anthropic and Gemini refuse empty text blocks.
    """
    if isinstance(content, str):
        return [content] if content else []
    if not isinstance(content, list):
        return []
    texts = (p.get("text") for p in content if isinstance(p, dict))
    return [t for t in texts if isinstance(t, str) and t]


@dataclass(frozen=True)
class Conversation:
    """A caller's messages as the flavours without a system role want them."""

    system: str
    """The system/developer texts joined by a blank line; "" when there were none."""
    turns: tuple[tuple[str, tuple[str, ...]], ...]
    """(role, texts) with role `user` or `assistant`, alternating: consecutive messages
    of one role are merged, and messages left without text are dropped."""


def conversation(messages: Sequence[Mapping[str, Any]]) -> Conversation:
    """Split system text from the turns, and merge turns so user and assistant alternate."""
    system: list[str] = []
    turns: list[tuple[str, list[str]]] = []
    for message in messages:
        role, texts = message.get("role"), content_texts(message.get("content"))
        if role in SYSTEM_ROLES:
            system.extend(texts)
        elif texts and turns and turns[-1][0] == role:
            turns[-1][1].extend(texts)
        elif texts:
            turns.append((str(role), texts))
    return Conversation(
        SYSTEM_JOINER.join(system), tuple((role, tuple(texts)) for role, texts in turns)
    )


def output_budget(chat: Mapping[str, Any]) -> int | None:
    """The caller's output token budget: `max_completion_tokens` (the newer name) when
    given, else `max_tokens`; None when neither."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = chat.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def stop_sequences(chat: Mapping[str, Any]) -> list[str]:
    """`stop` as a list of non-empty strings (a flavour with `stop_sequences` refuses "")."""
    stop = chat.get("stop")
    found = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    return [s for s in found if isinstance(s, str) and s]


def wants_stream(chat: Mapping[str, Any]) -> bool:
    """True when the caller asked for a streamed answer."""
    return chat.get("stream") is True


def number(chat: Mapping[str, Any], name: str) -> float | None:
    """A numeric field of the caller's body (`temperature`, `top_p`), None when absent."""
    value = chat.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


__all__ = [
    "ROLE_DELTA",
    "SYSTEM_JOINER",
    "SYSTEM_ROLES",
    "ChatTranslator",
    "ChunkTranslator",
    "ChunkWriter",
    "Conversation",
    "check_chat_body",
    "chunk_choice",
    "chunk_doc",
    "completion_doc",
    "content_texts",
    "conversation",
    "number",
    "output_budget",
    "stop_sequences",
    "usage_doc",
    "wants_stream",
]
