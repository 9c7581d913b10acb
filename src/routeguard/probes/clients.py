"""One HTTP connection pool per provider for the probes.

httpcore looks at every connection of its pool to place each request, so one
pool shared by a catalog of a hundred providers made that scan the probe
engine's largest cost (38% of the daemon's CPU at 10,000 routes, bench/probes.py).
A pool per provider keeps the scan to that provider's few connections, and one
provider's slow answers can never take the connections another one needs. The
clients share one TLS context: each would otherwise load the CA bundle again
(0.9 MB a client).
"""

from __future__ import annotations

import httpx

PROBE_HTTP_TIMEOUT_S = 120.0
"""httpx's own timeouts; each probe's deadline (`timeout_s`) is enforced around it."""
CONNECTIONS_PER_PROVIDER = 64
KEEPALIVE_PER_PROVIDER = 16


class ProviderClients:
    """An `httpx.AsyncClient` per provider name, made on first use; close with `aclose`."""

    def __init__(
        self,
        *,
        connections: int = CONNECTIONS_PER_PROVIDER,
        keepalive: int = KEEPALIVE_PER_PROVIDER,
    ) -> None:
        self._limits = httpx.Limits(
            max_connections=connections, max_keepalive_connections=keepalive
        )
        self._tls = httpx.create_ssl_context()
        self._clients: dict[str, httpx.AsyncClient] = {}

    def __call__(self, provider: str) -> httpx.AsyncClient:
        client = self._clients.get(provider)
        if client is None:
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(PROBE_HTTP_TIMEOUT_S), limits=self._limits, verify=self._tls
            )
            self._clients[provider] = client
        return client

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
