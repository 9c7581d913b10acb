"""One HTTP connection pool per provider for the daemon's probes.

A pool per provider keeps one provider's slow answers from taking the
connections another one needs. (httpx, which the probes used first, also
scanned its whole pool to place each request: with one pool for a hundred
providers that scan was 38% of the daemon's CPU at 10,000 routes.) The sessions
share one TLS context, httpx's (certifi, or `SSL_CERT_FILE`): each would
otherwise load the CA bundle again (0.9 MB a session). A provider's proxy comes
from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), as
for every routeguard client, read once when its session is made: aiohttp's
`trust_env` reads it, and `~/.netrc`, on every request (in a thread: 45% of the
daemon's CPU at 10,000 routes).
"""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit

import aiohttp
import httpx

from routeguard.probes.aiohttp_client import AiohttpProbeClient
from routeguard.providers import Endpoint

CONNECTIONS_PER_PROVIDER = 64
KEEPALIVE_S = 5.0
"""An idle connection is closed after this: servers drop theirs after a few seconds
(uvicorn 5 s), and a request sent on a dropped one would fail for nothing."""


def env_proxy(base_url: str) -> str | None:
    """The proxy the environment names for `base_url`, None to go direct."""
    parts = urlsplit(base_url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all") or None


class ProviderClients:
    """A `ProbeClient` per provider, made on its first probe (in the event loop); close
    them with `aclose`."""

    def __init__(self, *, connections: int = CONNECTIONS_PER_PROVIDER) -> None:
        self._connections = connections
        self._tls = httpx.create_ssl_context()
        self._clients: dict[str, AiohttpProbeClient] = {}

    def __call__(self, endpoint: Endpoint) -> AiohttpProbeClient:
        client = self._clients.get(endpoint.provider)
        if client is None:
            client = AiohttpProbeClient(self._session(), proxy=env_proxy(endpoint.base_url))
            self._clients[endpoint.provider] = client
        return client

    def _session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._connections, limit_per_host=0, ssl=self._tls, keepalive_timeout=KEEPALIVE_S
        )
        # No socket timeouts of aiohttp's own (a timer re-armed on every read): each
        # probe's deadline (`timeout_s`, the runner's) bounds all of it, pool wait included.
        timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=None, sock_read=None)
        return aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.session.close()
