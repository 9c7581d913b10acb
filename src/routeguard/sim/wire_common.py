"""Helpers the three wire flavours share: JSON and SSE framing, answers, time formats.

All pure: the answer text is fixed, sizes and times come in as arguments.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from routeguard.sim.base import Answer, Call, Finish, Reply

ANSWER = "Pong! This is a simulated provider, and it is answering your request normally."
"""The text every successful call gets (cut to the caller's output budget)."""
FILLER_PIECE = 64 * 1024
"""Size of one streamed piece of a huge_body answer."""
HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
"""What a reverse proxy in front of an API says when the upstream is gone."""


def dumps(doc: object) -> bytes:
    """Compact JSON, as the vendors send it."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def sse(doc: object, event: str | None = None, end: bytes = b"\n\n") -> bytes:
    """One SSE event: an optional `event:` line and one `data:` line."""
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + dumps(doc) + end


def sse_comment(text: str) -> bytes:
    """An SSE comment line (a keep-alive): never an event, never a token."""
    return f": {text}\n\n".encode()


def broken(frame: bytes) -> bytes:
    """`frame` with its JSON cut in half (still framed like the others, so only JSON fails)."""
    start = frame.find(b"{")
    if start < 0:
        return frame[: len(frame) // 2]
    end = frame.rfind(b"}") + 1
    middle = start + max(1, (end - start) // 2)
    return frame[:middle] + frame[end:]


def words(text: str = ANSWER) -> tuple[str, ...]:
    """`text` as streamed pieces: one word each, with its leading space."""
    parts = text.split(" ")
    return (parts[0], *(f" {p}" for p in parts[1:]))


def answer(call: Call, thinking_tokens: int = 0) -> Answer:
    """What `call` gets: thinking first (it eats the budget), then words up to the budget."""
    if call.huge_bytes > 0:
        return _filler(call.huge_bytes)
    budget = call.max_tokens
    if budget is not None and budget <= thinking_tokens:
        return Answer((), Finish.LENGTH, budget, reasoning_tokens=budget)
    pieces = words()
    room = len(pieces) if budget is None else budget - thinking_tokens
    finish = Finish.STOP if room >= len(pieces) else Finish.LENGTH
    kept = pieces[:room]
    return Answer(kept, finish, len(kept) + thinking_tokens, reasoning_tokens=thinking_tokens)


def _filler(size: int) -> Answer:
    count, rest = divmod(size, FILLER_PIECE)
    pieces = ("x" * FILLER_PIECE,) * count + (("x" * rest,) if rest else ())
    return Answer(pieces, Finish.STOP, output_tokens=max(1, size // 4))


def estimate_tokens(content: object) -> int:
    """A rough token count of a prompt: about four characters a token, at least one."""
    return max(1, math.ceil(len(json.dumps(content, ensure_ascii=False)) / 4))


def go_duration(seconds: float) -> str:
    """Seconds as Go's time.Duration prints them (`12ms`, `1.5s`, `6m0s`, `1h0m0s`)."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs = f"{millis / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def rfc3339(unix: float) -> str:
    """A Unix time as an RFC 3339 UTC timestamp with whole seconds (`2025-08-21T12:40:59Z`)."""
    moment = datetime.fromtimestamp(math.ceil(unix), tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def retry_after(seconds: float) -> str:
    """`retry-after` is whole seconds: round up, so a client never comes back early."""
    return str(math.ceil(seconds))


def html_502() -> Reply:
    """The proxy's HTML 502 page."""
    return Reply(502, HTML_502.encode(), content_type="text/html")


def json_reply(status: int, doc: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply."""
    return Reply(status, dumps(doc), headers or {})


def as_budget(value: object) -> int | str | None:
    """A token budget from a body: the int, None when absent, or "bad" when not a positive int."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "bad"
    return value
