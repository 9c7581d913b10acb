"""Helpers of the translator tests: SSE transcripts in, OpenAI chunks out, and their outline."""

from __future__ import annotations

import json
from typing import Any

import httpx

from routeguard.providers import ProbeRequest
from routeguard.providers.sse import SSEParser
from routeguard.translate import ChunkTranslator

PUBLIC = "chat-default"
"""The public model name the caller asked for."""
CID = "chatcmpl-proxy-1"
CREATED = 1_760_000_000


def sse(doc: Any, event: str | None = None, end: str = "\n\n") -> str:
    """One SSE event as a vendor frames it."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(doc)}{end}"


def feed_only(chunks: ChunkTranslator, transcript: str, *, piece: int = 7) -> list[dict[str, Any]]:
    """What `chunks` gives for `transcript`, fed through SSEParser in `piece`-byte pieces."""
    raw = transcript.encode()
    parser = SSEParser()
    out: list[dict[str, Any]] = []
    for start in range(0, len(raw), piece):
        for event in parser.feed(raw[start : start + piece]):
            out.extend(chunks.feed(event))
    for event in parser.close():
        out.extend(chunks.feed(event))
    return out


def run_stream(chunks: ChunkTranslator, transcript: str, *, piece: int = 7) -> list[dict[str, Any]]:
    """`feed_only`, then what a clean end still owes (`finish()`)."""
    return feed_only(chunks, transcript, piece=piece) + chunks.finish()


def outline(chunks: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each chunk as one step: ("role",), ("content", text), ("finish", reason), ("usage", {...})."""
    steps: list[tuple[Any, ...]] = []
    for chunk in chunks:
        if chunk["choices"] == []:
            steps.append(("usage", chunk["usage"]))
            continue
        [choice] = chunk["choices"]
        delta = choice["delta"]
        if "role" in delta:
            steps.append(("role",))
        if delta.get("content"):
            steps.append(("content", delta["content"]))
        if choice["finish_reason"]:
            steps.append(("finish", choice["finish_reason"]))
    return steps


def assert_openai_chunks(
    chunks: list[dict[str, Any]], *, include_usage: bool, completion_id: str = CID
) -> None:
    """Every chunk is a `chat.completion.chunk` of the public model; `usage` appears as
    OpenAI sends it: null on each chunk but the last with include_usage, absent without."""
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk", chunk
        assert (chunk["id"], chunk["model"]) == (completion_id, PUBLIC), chunk
        assert isinstance(chunk["created"], int)
        if include_usage and chunk["choices"]:
            assert chunk["usage"] is None, chunk
        if not include_usage:
            assert "usage" not in chunk, chunk
    first = chunks[0]["choices"][0]
    assert first["delta"] == {"role": "assistant", "content": ""} or "role" in first["delta"]


async def sent(probe: ProbeRequest) -> httpx.Request:
    """The request `probe` puts on the wire (captured by a mock transport)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await client.send(probe.build(client), stream=probe.stream)
    return seen[0]
