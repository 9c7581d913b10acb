"""The caller's side of a streamed answer: Server-Sent Events in OpenAI's form.

Nothing is sent until the first chunk exists, so a route that fails before its
first token is failed over without the caller noticing. After that the answer
belongs to that route: a failure ends the stream with an error event the SDKs
raise, never with a clean `[DONE]`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from routeguard.providers import Classified

SSE_HEADERS = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",  # nginx in front must not buffer the stream
}


class CallerStream:
    """One caller's event stream, opened on the first chunk."""

    def __init__(self, request: web.Request, headers: Callable[[], Mapping[str, str]]) -> None:
        self._request = request
        self._headers = headers
        self._response: web.StreamResponse | None = None

    @property
    def response(self) -> web.StreamResponse | None:
        return self._response

    @property
    def started(self) -> bool:
        """True once a byte went to the caller: from then on, no failover."""
        return self._response is not None

    async def send(self, chunks: list[dict[str, Any]]) -> None:
        if not chunks:
            return
        response = await self._open()
        await response.write(b"".join(_event(chunk) for chunk in chunks))

    async def done(self, chunks: list[dict[str, Any]]) -> web.StreamResponse:
        """The last chunks, then `data: [DONE]`."""
        response = await self._open()
        await response.write(b"".join(_event(c) for c in chunks) + b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def fail(self, classified: Classified, route: str) -> web.StreamResponse:
        """End a started stream with an OpenAI-shaped error event (no `[DONE]`)."""
        response = await self._open()
        await response.write(_event({"error": stream_error(classified, route)}))
        await response.write_eof()
        return response

    async def _open(self) -> web.StreamResponse:
        if self._response is None:
            response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **self._headers()})
            await response.prepare(self._request)
            self._response = response
        return self._response


def stream_error(classified: Classified, route: str) -> dict[str, Any]:
    """The `error` object of a stream that broke after its first byte."""
    what = classified.detail or classified.error_type or classified.outcome.value
    return {
        "message": f"the stream from {route} broke after it began: {what}",
        "type": "upstream_error",
        "param": None,
        "code": classified.outcome.value,
    }


def _event(chunk: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
