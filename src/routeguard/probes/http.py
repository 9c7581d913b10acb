"""What a probe sends its request with, and what it reads the answer from.

A `ProbeClient` sends one `ProbeRequest` and hands back the answer as soon as
its status and headers are in; the tiers read the body from there. Two exist:

- the daemon's: aiohttp, a pool per provider (`probes.clients.ProviderClients`),
  chosen because a probe is the daemon's whole job: httpx spent 1.1 ms of CPU a
  request where aiohttp spends 0.25 ms (bench/probes.py at 10,000 routes);
- `HttpxProbeClient`: any `httpx.AsyncClient`, so tests drive every codec
  through `httpx.MockTransport` without sockets.

Both raise httpx's exceptions for transport failures (the aiohttp client
translates its own), so `classify_exception` and `read_stream` know one family.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

import httpx

from routeguard.providers import ProbeRequest


class ProbeResponse(Protocol):
    """An answer whose status and headers arrived; its body is read as it comes."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def is_success(self) -> bool: ...

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class ProbeClient(Protocol):
    """Sends one probe request; transport failures raise `httpx.TransportError`s."""

    async def send(self, request: ProbeRequest) -> ProbeResponse: ...


class HttpxProbeClient:
    """A `ProbeClient` over an `httpx.AsyncClient` (its transport, e.g. a MockTransport)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, request: ProbeRequest) -> ProbeResponse:
        return await self._client.send(request.build(self._client), stream=True)
