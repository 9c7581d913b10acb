"""A plain Server-Sent Events reader over httpx, as a gateway in any language would read."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Frame:
    event: str  # "" for a comment-only frame (a heartbeat)
    id: str | None
    data: Any
    comment: str | None
    at: float  # time.perf_counter() when it was parsed


class Feed:
    """Frames of one SSE response, in order."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, timeout_s: float = 5.0) -> Frame:
        async with asyncio.timeout(timeout_s):
            return await self._frame()

    async def _frame(self) -> Frame:
        event, event_id, data, comment = "", None, [], None
        async for line in self._lines:
            if line == "":
                if event or data or comment is not None:
                    payload = json.loads("\n".join(data)) if data else None
                    return Frame(event, event_id, payload, comment, time.perf_counter())
                continue
            if line.startswith(":"):
                comment = line[1:].strip()
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "id":
                event_id = value
            elif name == "data":
                data.append(value)
        raise EOFError("the feed ended")

    async def events(self, timeout_s: float = 5.0) -> Frame:
        """The next frame that is not a heartbeat."""
        while True:
            frame = await self.next(timeout_s)
            if frame.event:
                return frame


@asynccontextmanager
async def watching(
    client: httpx.AsyncClient, url: str, last_event_id: str | None = None
) -> AsyncIterator[Feed]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    timeout = httpx.Timeout(5.0, read=None)
    async with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Feed(response)
