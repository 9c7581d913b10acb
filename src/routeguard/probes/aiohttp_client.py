"""The daemon's `ProbeClient`: one aiohttp session, its failures told in httpx's words.

The session is made by `probes.clients.ProviderClients` (a pool per provider).
Redirects are not followed (a probe judges the answer it gets, as httpx does by
default) and no cookies are kept (a probe is not a browser session).
Transport failures become the httpx exception of the same meaning, so one
classifier (`classify_exception`, `read_stream`) serves every client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping

import aiohttp
import httpx

from routeguard.probes.http import ProbeResponse
from routeguard.providers import ProbeRequest

_SAME_MEANING: tuple[tuple[type[aiohttp.ClientError], type[httpx.TransportError]], ...] = (
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS
    (aiohttp.ClientSSLError, httpx.ConnectError),
    (aiohttp.ServerFingerprintMismatch, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),  # a body cut short
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # not HTTP
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),  # ours: a bad base_url
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx.ReadError),  # reset, broken pipe
)
"""First match wins: subclasses come before their bases."""


def transport_error(exc: aiohttp.ClientError) -> httpx.TransportError:
    """The httpx exception that means what `exc` means (its text kept)."""
    message = str(exc) or type(exc).__name__
    for theirs, ours in _SAME_MEANING:
        if isinstance(exc, theirs):
            return ours(message)
    return httpx.RemoteProtocolError(message)


class _Answer:
    """An aiohttp response as a `ProbeResponse`."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def is_success(self) -> bool:
        return 200 <= self._response.status < 300

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while True:
            try:
                chunk = await content.readany()
            except aiohttp.ClientError as exc:
                raise transport_error(exc) from exc
            if not chunk:
                return
            yield chunk

    async def aclose(self) -> None:
        # Back to the pool when the body was read to its end, else the connection closes.
        self._response.release()


class AiohttpProbeClient:
    """Sends probe requests on one aiohttp session, through `proxy` if one is given."""

    def __init__(self, session: aiohttp.ClientSession, *, proxy: str | None = None) -> None:
        self.session = session
        self.proxy = proxy

    async def send(self, request: ProbeRequest) -> ProbeResponse:
        headers = dict(request.headers)
        body = None
        if request.json is not None:
            body = json.dumps(request.json, separators=(",", ":"), ensure_ascii=False).encode()
            if not any(name.lower() == "content-type" for name in headers):
                headers["content-type"] = "application/json"
        try:
            response = await self.session.request(
                request.method,
                request.url,
                data=body,
                headers=headers,
                allow_redirects=False,
                proxy=self.proxy,
            )
        except aiohttp.ClientError as exc:
            raise transport_error(exc) from exc
        return _Answer(response)
