"""A one-handler aiohttp server on 127.0.0.1 for daemon tests that script a provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Loopback:
    """The running server: its OpenAI-style base URL and the paths it was asked for."""

    base_url: str
    paths: list[str] = field(default_factory=list)

    def count(self, suffix: str) -> int:
        return sum(1 for p in self.paths if p.endswith(suffix))


@asynccontextmanager
async def loopback_provider(handler: Handler) -> AsyncIterator[Loopback]:
    """Serve every request with `handler` until the block ends; the runner is cleaned up."""
    server: Loopback | None = None

    async def logged(request: web.Request) -> web.StreamResponse:
        assert server is not None
        server.paths.append(request.path)
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", logged)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        server = Loopback(f"http://127.0.0.1:{port}/v1")
        yield server
    finally:
        await runner.cleanup()
