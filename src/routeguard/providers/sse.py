"""Incremental Server-Sent Events parser, and the loop that feeds a stream interpreter.

The parser follows the WHATWG event-stream rules (CRLF, CR or LF line endings, one
optional space after the colon, multi-line `data` joined by newlines, `id` kept
across events) with three additions a health probe needs:

- comments (`: keep-alive`, `: OPENROUTER PROCESSING`) are surfaced as their own
  kind of event, so interpreters can see the stream is alive without counting a
  token;
- chunks may end anywhere, even inside a UTF-8 sequence or between CR and LF;
- a line or event larger than `max_chars` raises `SSEProtocolError` instead of
  growing without bound (a broken upstream must not eat the daemon's memory).
"""

from __future__ import annotations

import asyncio
import codecs
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import httpx

if TYPE_CHECKING:
    from routeguard.providers.base import StreamInterpreter, StreamResult

MAX_CHARS = 1 << 20
"""Default guard: no single line or event may exceed this many characters (1 Mi)."""

_EOL = re.compile(r"\r\n|\r|\n")


class SSEKind(StrEnum):
    """What one parsed item is."""

    EVENT = "event"  # a dispatched event: `event`, `data`, `id`
    COMMENT = "comment"  # a line starting with ':' (keep-alive); never a token


class SSEProtocolError(ValueError):
    """The byte stream cannot be an event stream (a line or event over the size guard)."""


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One event (or comment) from an event stream."""

    kind: SSEKind = SSEKind.EVENT
    event: str = "message"
    """Event type; `message` when the stream named none."""
    data: str = ""
    """Data lines joined by newlines; for a comment, the text after the colon."""
    id: str | None = None
    """The last event id seen so far in the stream, if any."""

    @property
    def is_comment(self) -> bool:
        """True for keep-alive comments, which interpreters must not count as tokens."""
        return self.kind is SSEKind.COMMENT


class SSEParser:
    """Turns byte chunks into `SSEEvent`s; feed chunks in order, then `close()`."""

    def __init__(self, *, max_chars: int = MAX_CHARS) -> None:
        self._max_chars = max_chars
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line = ""  # partial line carried to the next chunk
        self._skip_lf = False  # last chunk ended in CR: a leading LF belongs to it
        self._started = False  # a leading BOM is dropped once
        self._event = ""
        self._data: list[str] = []
        self._data_chars = 0
        self._last_id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse one chunk; returns the events completed by it (possibly none)."""
        return self._consume(self._decoder.decode(chunk), final=False)

    def close(self) -> list[SSEEvent]:
        """End of stream: flush a last line and dispatch an event left without its blank line."""
        events = self._consume(self._decoder.decode(b"", final=True), final=True)
        if self._line:
            line, self._line = self._line, ""
            events.extend(self._line_events(line))
        if self._data:
            events.append(self._dispatch())
        return events

    def _consume(self, text: str, *, final: bool) -> list[SSEEvent]:
        if not text:
            return []
        if not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._skip_lf and text.startswith("\n"):
            text = text[1:]
        self._skip_lf = False
        buf = self._line + text
        events: list[SSEEvent] = []
        start = 0
        for match in _EOL.finditer(buf):
            events.extend(self._line_events(buf[start : match.start()]))
            start = match.end()
        if buf.endswith("\r") and not final:
            self._skip_lf = True
        self._line = buf[start:]
        if len(self._line) > self._max_chars:
            raise SSEProtocolError(f"SSE line longer than {self._max_chars} characters")
        return events

    def _line_events(self, line: str) -> list[SSEEvent]:
        if not line:
            return [self._dispatch()] if self._data else self._reset_event()
        if line.startswith(":"):
            return [SSEEvent(kind=SSEKind.COMMENT, data=line[1:].removeprefix(" "))]
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
            self._data_chars += len(value) + 1
            if self._data_chars > self._max_chars:
                raise SSEProtocolError(f"SSE event larger than {self._max_chars} characters")
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._last_id = value
        # `retry` and unknown fields are ignored, as the standard says.
        return []

    def _reset_event(self) -> list[SSEEvent]:
        # A blank line with no data dispatches nothing (WHATWG), but it ends the event.
        self._event = ""
        return []

    def _dispatch(self) -> SSEEvent:
        event = SSEEvent(
            event=self._event or "message", data="\n".join(self._data), id=self._last_id
        )
        self._event, self._data, self._data_chars = "", [], 0
        return event


class ByteStream(Protocol):
    """A streamed answer's body (an `httpx.Response`, or a probe client's answer); a
    broken transport raises httpx's exceptions."""

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...


DRAIN_S = 0.05
"""How long a finished stream's remaining bytes are waited for before the connection is let go."""
DRAIN_BYTES = 64 * 1024


async def read_stream(
    response: ByteStream,
    interpreter: StreamInterpreter,
    *,
    clock: Callable[[], float],
    max_chars: int = MAX_CHARS,
    on_event: Callable[[SSEEvent], Awaitable[None]] | None = None,
) -> StreamResult:
    """Feed a streamed 2xx `response` through a parser into `interpreter` until it is done.

    `on_event` sees each event after the interpreter did (a proxy relays it from
    there, translated), so judging and relaying a stream is one loop.

    `clock` must be on the same scale as the `started_s` the interpreter was built
    with (e.g. `time.monotonic`). The loop stops early once the interpreter has
    seen its terminator or an error. A connection cut or a broken event stream
    ends the stream uncleanly (the interpreter decides whether that lost anything);
    timeouts and cancellation propagate to the caller, which owns the deadline.
    """
    parser = SSEParser(max_chars=max_chars)
    cut: str | None = None
    chunks = response.aiter_bytes()
    try:
        async for chunk in chunks:
            for event in parser.feed(chunk):
                await _judge(interpreter, event, clock, on_event)
            if interpreter.done:
                break
        else:
            for event in parser.close():
                await _judge(interpreter, event, clock, on_event)
    except httpx.TimeoutException:
        raise
    except (httpx.TransportError, httpx.DecodingError, SSEProtocolError) as exc:
        cut = type(exc).__name__
    result = interpreter.finish(clock(), connection_closed_cleanly=cut is None)
    if result.ok:
        await _drain(chunks)
    if cut is not None and not result.ok and result.classified.error_type == "stream_incomplete":
        detail = f"{result.classified.detail} ({cut})"
        result = replace(result, classified=replace(result.classified, detail=detail))
    return result


async def _drain(rest: AsyncIterator[bytes]) -> None:
    """Read what follows the terminator (the chunked body's last, empty chunk), so the
    client can pool the connection instead of closing it: one new TCP connection per
    streamed call costs more than the call's own parsing."""
    seen = 0
    try:
        async with asyncio.timeout(DRAIN_S):
            async for piece in rest:
                seen += len(piece)
                if seen > DRAIN_BYTES:
                    return
    except (TimeoutError, httpx.HTTPError, SSEProtocolError):
        return


async def _judge(
    interpreter: StreamInterpreter,
    event: SSEEvent,
    clock: Callable[[], float],
    on_event: Callable[[SSEEvent], Awaitable[None]] | None,
) -> None:
    interpreter.feed(event, clock())
    if on_event is not None:
        await on_event(event)
